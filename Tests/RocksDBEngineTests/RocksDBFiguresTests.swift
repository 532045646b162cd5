import CRocksDB
import KVStore
@testable import RocksDBEngine
import StorageIO
import Testing

private let databaseStats = """

** DB Stats **
Uptime(secs): 9.1 total, 9.1 interval
Cumulative writes: 500K writes, 500K keys, 500K commit groups, 1.0 writes per commit group, ingest: 0.05 GB, 6.03 MB/s
Cumulative WAL: 500K writes, 0 syncs, 500000.00 writes per sync, written: 0.05 GB, 6.03 MB/s
Cumulative stall: 00:00:1.250 H:M:S, 13.7 percent
Interval writes: 500K writes, 500K keys, 500K commit groups, 1.0 writes per commit group, ingest: 55.31 MB, 6.03 MB/s
Interval WAL: 500K writes, 0 syncs, 500000.00 writes per sync, written: 0.05 GB, 6.03 MB/s
Interval stall: 00:00:1.250 H:M:S, 13.7 percent
"""

private let columnFamilyStats = """

** Compaction Stats [default] **
Level    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB) W-Amp Rd(MB/s) Wr(MB/s) Comp(sec) CompMergeCPU(sec) Comp(cnt) Avg(sec) KeyIn KeyDrop Rblob(GB) Wblob(GB)
------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
  L0      2/0   27.66 MB   0.5      0.0     0.0      0.0       0.0      0.0       0.0   1.0      0.0     25.3      1.07              0.98         2    0.535       0      0       0.0       0.0
 Sum      9/0   83.02 MB   0.0      0.1     0.0      0.1       0.1      0.0       0.0   1.8     16.2     29.0      3.53              3.29         9    0.392    857K      0       0.0       0.0

** Compaction Stats [default] **
Priority    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB) W-Amp Rd(MB/s) Wr(MB/s) Comp(sec) CompMergeCPU(sec) Comp(cnt) Avg(sec) KeyIn KeyDrop Rblob(GB) Wblob(GB)
---------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
 Low      0/0    0.00 KB   0.0      0.1     0.0      0.1       0.1      0.0       0.0   0.0     30.1     29.5      2.46              2.31         7    0.351    857K      0       0.0       0.0
High      0/0    0.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0      0.0     25.3      1.07              0.98         2    0.535       0      0       0.0       0.0

Blob file count: 0, total size: 0.0 GB, garbage size: 0.0 GB, space amp: 0.0

Uptime(secs): 9.1 total, 9.1 interval
Flush(GB): cumulative 0.027, interval 0.027
Cumulative compaction: 0.09 GB write, 10.12 MB/s write, 0.06 GB read, 6.75 MB/s read, 3.5 seconds
Interval compaction: 0.09 GB write, 10.12 MB/s write, 0.06 GB read, 6.75 MB/s read, 3.5 seconds
"""

private func gibibytes(_ value: Double) -> UInt64 { UInt64((value * 1_073_741_824).rounded()) }

@Test func propertyTextGivesWriteBytesAndCompactions() throws {
    var snapshot = StoreStatistics(userBytesWritten: 58_000_000)
    RocksDBPropertyStats(database: databaseStats, columnFamily: columnFamilyStats).fill(&snapshot)
    #expect(snapshot.engineBytesWritten == gibibytes(0.05) + gibibytes(0.09))
    let compaction = try #require(snapshot.compaction)
    #expect(compaction.count == 7)
    #expect(compaction.bytesWritten == gibibytes(0.09) - gibibytes(0.027))
    #expect(compaction.bytesRead == gibibytes(0.06))
    #expect(compaction.wallSeconds == 2.46)
    #expect(compaction.cpuSeconds == 2.31)
    #expect(compaction.stallSeconds == 1.25)
    #expect(snapshot.counters == ["wal_bytes": Double(gibibytes(0.05)), "flush_bytes": Double(gibibytes(0.027))])
    #expect(snapshot.pointLookups == nil && snapshot.lookupProbes == nil)
}

@Test func withoutCompactionsTheRoundingDifferenceIsNotCountedAsCompactionWrites() throws {
    let flushOnly = columnFamilyStats.replacingFirst(" Low ", with: " Nil ")
        .replacingFirst("Cumulative compaction: 0.09 GB", with: "Cumulative compaction: 0.03 GB")
    var snapshot = StoreStatistics()
    RocksDBPropertyStats(database: databaseStats, columnFamily: flushOnly).fill(&snapshot)
    #expect(snapshot.compaction?.count == 0)
    #expect(snapshot.compaction?.bytesWritten == 0)
    #expect(snapshot.engineBytesWritten == gibibytes(0.05) + gibibytes(0.027))
}

@Test func settingsRefuseUnknownNamesAndBadValues() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-settings")
    defer { try? FileSystem.removeTree(directory) }
    for settings in [["rocksdb.statistics": "yes"], ["rocksdb.cache": "1"]] {
        #expect(throws: StoreError.self) { try RocksDBStore.open(StoreOptions(directory: directory, settings: settings)) }
    }
    #expect(throws: StoreError.invalidOption(name: "rocksdb.compaction_style", reason: "expected one of level, universal, got tiered")) {
        try RocksDBStore.open(StoreOptions(directory: directory, settings: ["rocksdb.compaction_style": "tiered"]))
    }
}

@Test(arguments: ["level", "universal"])
func compactionStyleReachesRocksDBsOptions(_ style: String) throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-compaction-style")
    defer { try? FileSystem.removeTree(directory) }
    let store = try RocksDBStore.open(StoreOptions(directory: directory, settings: ["rocksdb.compaction_style": style]))
    let value = Bytes(repeating: 3, count: 100)
    for index in 0..<2_000 { try store.put(Bytes(Array("key\(index)".utf8)), value) }
    #expect(try store.compactAll())
    #expect(try store.get(Bytes(Array("key1999".utf8))) == value)
    // The shape: after a full compaction every table is below L0 and the memtable is empty.
    let counters = store.statistics().counters
    #expect(counters["files.l0"] == 0 && counters["memtable.active_entries"] == 0)
    #expect((1...6).reduce(0) { $0 + (counters["files.l\($1)"] ?? 0) } >= 1, "\(counters)")
    try store.close()
    #expect(store.settingsReport["compaction_style"]?.hasPrefix(style) == true)
    // RocksDB writes the options it runs with into OPTIONS-NNNNNN.
    let name = try #require(try FileSystem.list(directory).filter { $0.hasPrefix("OPTIONS-") }.sorted().last)
    let file = try StorageFile(path: directory + "/" + name, mode: .readOnly)
    let text = try file.read(at: 0, count: try file.size()).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    let expected = style == "level" ? "kCompactionStyleLevel" : "kCompactionStyleUniversal"
    #expect(text.contains("compaction_style=\(expected)"))
}

@Test func getsReadValuesFromTheMemtableAndFromTables() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-gets")
    defer { try? FileSystem.removeTree(directory) }
    let store = try RocksDBStore.open(StoreOptions(directory: directory))
    defer { try? store.close() }
    let large = Bytes((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    try store.put(Array("large".utf8), large)
    try store.put(Array("small".utf8), [1, 2, 3])
    #expect(try store.compactAll())
    // From a table (pinned in the block cache), twice through the thread's reused value.
    #expect(try store.get(Array("large".utf8)) == large)
    #expect(try store.get(Array("small".utf8)) == [1, 2, 3])
    try store.put(Array("small".utf8), [4])
    // From the memtable (copied into the reused value), then a key that is in neither.
    #expect(try store.get(Array("small".utf8)) == [4])
    #expect(try store.get(Array("large".utf8)) == large)
    #expect(try store.get(Array("absent".utf8)) == nil)
    #expect(try store.withValue(forKey: Array("small".utf8)) { $0.count } == 1)
}

@Test(arguments: [false, true])
func storeReportsEngineFiguresWithAndWithoutStatistics(_ statistics: Bool) throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-figures")
    defer { try? FileSystem.removeTree(directory) }
    let store = try RocksDBStore.open(StoreOptions(directory: directory, durability: .os, memoryBudget: 4 << 20,
                                                   settings: statistics ? ["rocksdb.statistics": "true"] : [:]))
    let value = Bytes(repeating: 7, count: 1000)
    for index in 0..<20_000 { try store.put(Bytes(Array("key\(index)".utf8)), value) }
    _ = try store.get(Bytes(Array("key5".utf8)))
    let figures = store.statistics()
    try store.close()
    #expect(store.settingsReport["statistics"]?.hasPrefix(statistics ? "on" : "off") == true)
    // 20 MB of user bytes: at least that much WAL, to within the properties' 0.01 GiB.
    #expect(try #require(figures.engineBytesWritten) >= 20_000_000 - (statistics ? 0 : 5_368_709))
    #expect(figures.compaction != nil)
    #expect((figures.pointLookups != nil) == statistics)
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}

@Test func adapterCallsLeaveRocksDBsPerfContextOff() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-perf")
    defer { try? FileSystem.removeTree(directory) }
    let store = try RocksDBStore.open(StoreOptions(directory: directory))
    defer { try? store.close() }
    let context = rocksdb_perfcontext_create()
    defer { rocksdb_perfcontext_destroy(context) }
    rocksdb_perfcontext_reset(context)
    // Each insert into the memtable compares keys; with RocksDB's default level (count) on this thread,
    // every comparison would be counted here.
    for index in 0..<200 { try store.put(Bytes(Array("key\(index)".utf8)), [1]) }
    _ = try store.get(Bytes(Array("key7".utf8)))
    #expect(rocksdb_perfcontext_metric(context, Int32(rocksdb_user_key_comparison_count)) == 0)
}
