import Foundation
import KVResults
import KVStore
import KVWorkbench
import KVWorkloads
import LMDBEngine
import StorageIO
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

func configuration(_ workload: String, records: Int = 2_000, operations: Int = 4_000, directory: String = "/nonexistent",
                   adjust: (inout BenchmarkConfiguration) -> Void = { _ in }) -> BenchmarkConfiguration {
    var configuration = BenchmarkConfiguration(
        workload: WorkloadDefinition.builtIn(workload, scanLength: 10, distribution: nil)!,
        records: records, operations: operations, directory: directory)
    adjust(&configuration)
    return configuration
}

func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-workbench-test")
    defer { try? FileSystem.removeTree(directory) }
    return try body(directory + "/db")
}

@Test func loadAndRunPhasesCountEveryOperation() throws {
    let result = try Workbench.run(NullStore.self, configuration("ycsb-a"))
    #expect(result.phases.map(\.name) == ["load", "run"])
    #expect(result.phases[0].operations == 2_000)
    #expect(result.phases[0].ops["insert"]?.count == 2_000)
    let run = result.phases[1]
    #expect(run.operations == 4_000)
    let reads = run.ops["read"]?.count ?? 0, updates = run.ops["update"]?.count ?? 0
    #expect(reads + updates == 4_000)
    #expect(reads > 1_600 && updates > 1_600, "YCSB A is half reads, half updates: \(reads) / \(updates)")
    #expect(run.userBytesWritten == updates * 116)
    #expect(result.parameters.mix == ["read": 0.5, "update": 0.5])
}

@Test func sameSeedGivesTheSameOperationMix() throws {
    let first = try Workbench.run(NullStore.self, configuration("ycsb-b") { $0.seed = 42 })
    let second = try Workbench.run(NullStore.self, configuration("ycsb-b") { $0.seed = 42 })
    let other = try Workbench.run(NullStore.self, configuration("ycsb-b") { $0.seed = 43 })
    #expect(first.phases[1].ops["update"]?.count == second.phases[1].ops["update"]?.count)
    #expect(first.phases[1].ops["update"]?.count != other.phases[1].ops["update"]?.count)
}

@Test func fillHasNoRunPhaseAndWarmupIsExcluded() throws {
    let fill = try Workbench.run(NullStore.self, configuration("fillseq"))
    #expect(fill.phases.map(\.name) == ["load"])
    let warmed = try Workbench.run(NullStore.self, configuration("readrandom") { $0.warmupOperations = 1_000 })
    #expect(warmed.phases.map(\.name) == ["load", "run"])
    #expect(warmed.phases[1].operations == 4_000)
}

@Test func threadsSplitTheOperations() throws {
    let result = try Workbench.run(NullStore.self, configuration("ycsb-c", operations: 4_001) { $0.threads = 3 })
    #expect(result.phases[0].operations == 2_000)
    #expect(result.phases[1].operations == 4_001)
}

@Test func lmdbRunMeasuresSpaceAndReadsWhatWasLoaded() throws {
    try withTemporaryDirectory { directory in
        let result = try Workbench.run(LMDBStore.self, configuration("readrandom", directory: directory))
        let run = result.phases[1]
        #expect(run.ops["read"]?.count == 4_000)
        #expect(run.ops["read"]?.notFound == 0, "every read targets a loaded record")
        #expect(run.liveBytes == 2_000 * 116)
        #expect(run.diskBytes > 0)
        #expect((run.spaceAmp ?? 0) > 1)
        let load = result.phases[0]
        #expect(load.engineWriteSource == "wchar", "LMDB has no write counter: its engine view is the issued view")
        #expect(load.writeAmpEngine != nil && load.writeAmpEngine == load.writeAmpIssued)
        #expect((load.writeAmpIssued ?? 0) > 1, "LMDB writes whole pages through pwrite")
        #expect(load.engineBytesWritten == load.wchar)
    }
}

@Test func deletesShrinkTheLiveData() throws {
    try withTemporaryDirectory { directory in
        let result = try Workbench.run(LMDBStore.self, configuration("deleterandom", records: 1_000, operations: 1_000, directory: directory))
        let run = result.phases[1]
        #expect(run.ops["delete"]?.count == 1_000)
        #expect(run.liveBytes < 1_000 * 116 && run.liveBytes > 0)
    }
}

@Test func readWhileWritingHasOneWriter() throws {
    let result = try Workbench.run(NullStore.self, configuration("readwhilewriting", operations: 20_000) {
        $0.threads = 3
        $0.writerRate = 2_000
    })
    let run = result.phases[1]
    #expect(run.ops["read"]?.count == 20_000)
    #expect((run.ops["update"]?.count ?? 0) >= 1)
}

/// A store whose writes take about a millisecond: far slower than an open-loop target rate.
final class SlowStore: KeyValueStore {
    static let engineName = "slow"
    static let engineVersion = "test"
    let options: StoreOptions
    let limits = StoreLimits(maxKeySize: 1024, maxValueSize: 1 << 20)
    let settingsReport: [String: String] = [:]
    private let userBytes = Atomic<UInt64>(0)
    private init(options: StoreOptions) { self.options = options }
    static func open(_ options: StoreOptions) throws(StoreError) -> SlowStore { SlowStore(options: options) }
    static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try EngineSettings(options.settings, engine: "slow", known: []) }
    func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        nanosleep(&pause, nil)
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }
    func get(_ key: Bytes) throws(StoreError) -> Bytes? { nil }
    func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? { nil }
    func delete(_ key: Bytes) throws(StoreError) {}
    func write(_ batch: WriteBatch) throws(StoreError) {}
    func withCursor<Result>(_ body: (inout NullStore.EmptyCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        var cursor = NullStore.EmptyCursor()
        return try body(&cursor)
    }
    func sync() throws(StoreError) {}
    func compactAll() throws(StoreError) -> Bool { false }
    func statistics() -> StoreStatistics { StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed)) }
    func close() throws(StoreError) {}
}

@Test func openLoopShowsQueueingThatServiceTimeHides() throws {
    let result = try Workbench.run(SlowStore.self, configuration("fillrandom", records: 300) { $0.targetRate = 20_000 })
    let insert = try #require(result.phases[0].ops["insert"])
    let service = try #require(insert.serviceUs)
    #expect(insert.count == 300)
    #expect(service.p99 >= 900 && service.p99 < 50_000)
    #expect(insert.latencyUs.p99 > 20 * service.p99, "response time \(insert.latencyUs.p99) µs should include the queue, service \(service.p99) µs")
    #expect(result.parameters.loop == "open")
}

@Test func invalidCombinationsAreRejectedBeforeOpening() {
    #expect(throws: WorkloadError.self) { try Workbench.run(NullStore.self, configuration("readwhilewriting") { $0.threads = 1 }) }
    #expect(throws: WorkloadError.self) { try Workbench.run(NullStore.self, configuration("readrandom") { $0.targetRate = 0 }) }
}

@Test func everyParameterOutOfRangeIsRefusedBeforeARun() {
    let refused: [(String, (inout BenchmarkConfiguration) -> Void)] = [
        ("--zipf-theta -1.0", { $0.zipfTheta = -1 }),
        ("--zipf-theta nan", { $0.zipfTheta = .nan }),
        ("--zipf-theta inf", { $0.zipfTheta = .infinity }),
        ("--target-rate inf", { $0.targetRate = .infinity }),
        ("--records 9223372036854775807", { $0.records = .max }),
        ("--operations 0", { $0.operations = 0 }),
        ("--value-size -1", { $0.valueSize = -1 }),
        ("--hot-fraction nan", { $0.hotFraction = .nan }),
        ("more than this machine's memory", { $0.memoryBudget = 1 << 61 }),
        ("above 1 PiB", { $0.records = 1_000_000_000_000; $0.valueSize = 1 << 20 }),
    ]
    for (message, adjust) in refused {
        let candidate = configuration("ycsb-a", adjust: adjust)
        #expect(throws: WorkloadError.self, "\(message)") { try candidate.validate() }
        do {
            try candidate.validate()
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
    #expect(throws: Never.self) { try configuration("ycsb-a").validate() }
}

@Test func throughputCountsSuccessfulOperationsOnlyAndErrorsAreInTheJSON() throws {
    try withTemporaryDirectory { directory in
        let result = try Workbench.run(LMDBStore.self, configuration("fillrandom", records: 20_000, directory: directory) {
            $0.engineSettings = ["lmdb.map_size": "1048576"]
        })
        let load = result.phases[0]
        #expect(load.errors > 0 && load.errors < load.operations, "a 1 MiB map cannot hold 20,000 records: \(load.errors)")
        #expect(abs(load.throughputOpsS - Double(load.operations - load.errors) / load.elapsedS) < 1e-6 * load.throughputOpsS)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(load)) as! [String: Any]
        #expect(encoded["errors"] as? Int == Int(load.errors))
        let file = try JSONDecoder().decode(ResultsFile.self, from: JSONEncoder().encode(ResultsFile(
            manifest: SystemManifest.make(engineVersions: [:], dataDirectory: "/", command: "test"), runs: [result])))
        #expect(file.runs[0].phases[0].errors == load.errors)
        #expect(!file.partial && !file.runs[0].partial)
    }
}
