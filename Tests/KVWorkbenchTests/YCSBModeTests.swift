import KVResults
import KVStore
import KVWorkbench
import KVWorkloads
import LMDBEngine
import Testing

/// YCSB mode through the workbench, on a real engine: records, key names, and YCSB's accounting.
@Suite struct YCSBModeTests {
    static func ycsbConfiguration(_ name: String, records: Int, operations: Int, directory: String) throws -> BenchmarkConfiguration {
        let definition = try #require(try WorkloadDefinition.ycsbBuiltIn(name)).definition
        return BenchmarkConfiguration(workload: definition, records: records, operations: operations, directory: directory)
    }

    @Test func workloadFCountsReadModifyWriteUnderReadAndUpdateToo() throws {
        try withTemporaryDirectory { directory in
            let result = try Workbench.run(LMDBStore.self, Self.ycsbConfiguration("ycsb-f", records: 1_000, operations: 4_000, directory: directory))
            let run = try #require(result.phases.last)
            let reads = run.ops["read"]?.count ?? 0, rmw = run.ops["read_modify_write"]?.count ?? 0
            #expect(reads + rmw == 4_000 && rmw > 1_800 && rmw < 2_200, "F is half reads, half read-modify-writes: \(reads) / \(rmw)")
            #expect(run.ops["update"] == nil, "KVBench's own figures keep read-modify-write apart")
            let ycsb = try #require(run.ycsbOperations)
            #expect(ycsb["READ"]?.operations == 4_000, "YCSB's READ counts every read, read-modify-write's too")
            #expect(ycsb["UPDATE"]?.operations == rmw && ycsb["READ-MODIFY-WRITE"]?.operations == rmw)
            #expect(ycsb["READ"]?.returns == ["OK": 4_000] && ycsb["UPDATE"]?.returns == ["OK": rmw])
            #expect(result.parameters.accounting == "ycsb" && result.parameters.keyScheme == "ycsb-hashed")
            // A one-field update reads 1,140 bytes per record and writes a whole record back.
            #expect(run.userBytesWritten > rmw * 1_140 && run.userBytesWritten < rmw * (1_140 + 24))

            let store = try LMDBStore.open(StoreOptions(directory: directory, durability: .os, createIfMissing: false))
            defer { try? store.close() }
            let record = try #require(try store.get(Array("user6284781860667377211".utf8)), "record 0 under YCSB's name")
            #expect(record.count == 1_140)
            #expect(Array(record[0..<10]) == [0, 0, 0, 6] + Array("field0".utf8))
            #expect(try store.get(Array("user1000".utf8)) == nil)
        }
    }

    @Test func workloadDInsertsUnderHashedNamesAndReadsTheLatest() throws {
        try withTemporaryDirectory { directory in
            let result = try Workbench.run(LMDBStore.self, Self.ycsbConfiguration("ycsb-d", records: 1_000, operations: 2_000, directory: directory))
            let run = try #require(result.phases.last)
            let inserts = run.ops["insert"]?.count ?? 0
            #expect(inserts > 50 && run.ops["read"]?.notFound == 0)
            #expect(result.parameters.keyGenerator == "SkewedLatestGenerator (YCSB)")
            let store = try LMDBStore.open(StoreOptions(directory: directory, durability: .os, createIfMissing: false))
            defer { try? store.close() }
            let newest = YCSBKeyBuilder(hashed: true, zeroPadding: 1).key(1_000 + inserts - 1)
            #expect(try store.get(newest)?.count == 1_140)
        }
    }
}
