import KVConformance
import KVStore
import LevelDBEngine
import StorageIO
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Test(arguments: ConformanceCase.allCases)
func levelDBConformance(_ check: ConformanceCase) throws { try ConformanceSuite<LevelDBStore>().run(check) }

@Test func levelDBFsyncPersists() throws {
    try ConformanceSuite<LevelDBStore>(durability: .fsync).run(.persistsAcrossReopen)
}

@Test func levelDBRefusesDurabilityNone() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-leveldb")
    defer { try? FileSystem.removeTree(directory) }
    #expect(throws: StoreError.unsupported(LevelDBStore.noneRefusal)) {
        try LevelDBStore.open(StoreOptions(directory: directory + "/db", durability: .none))
    }
    #expect(!FileSystem.exists(directory + "/db"), "a refused open created the directory")
}

@Test func levelDBReportsItsBudgetSplitAndSettings() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-leveldb")
    defer { try? FileSystem.removeTree(directory) }
    let store = try LevelDBStore.open(StoreOptions(directory: directory + "/db", memoryBudget: 64 << 20,
                                                   settings: ["leveldb.paranoid_checks": "false"]))
    defer { try? store.close() }
    #expect(store.settingsReport["block_cache_bytes"] == String(32 << 20))
    #expect(store.settingsReport["write_buffer_bytes"] == String(16 << 20))
    #expect(store.settingsReport["paranoid_checks"]?.hasPrefix("false") == true)
    for index in 0..<2_000 { try store.put(Array("key\(index)".utf8), Bytes(repeating: 7, count: 100)) }
    #expect(try store.compactAll())
    let statistics = store.statistics()
    #expect(statistics.engineBytesWritten == nil, "LevelDB counts no log bytes: the engine view must be nil")
    #expect(statistics.pointLookups == 0)
    #expect((statistics.counters["files"] ?? 0) >= 1, "leveldb.stats was not parsed: \(statistics.counters)")
    #expect(throws: StoreError.self) {
        try LevelDBStore.open(StoreOptions(directory: directory + "/other", settings: ["leveldb.nosuch": "1"]))
    }
}

@Test func levelDBStatsTableParsesLevels() {
    let text = """
                                   Compactions
    Level  Files Size(MB) Time(sec) Read(MB) Write(MB)
    --------------------------------------------------
      0        2        4         1        0         4
      1        3        6         2        9         6

    """
    let counters = LevelDBStore.statsCounters(text)
    #expect(counters["files"] == 5 && counters["files.l1"] == 3)
    #expect(counters["compaction.write_mib"] == 10 && counters["compaction.read_mib"] == 9 && counters["compaction.time_s"] == 3)
}

@Test func levelDBChecksParanoidlyByDefault() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-leveldb")
    defer { try? FileSystem.removeTree(directory) }
    let store = try LevelDBStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    #expect(store.settingsReport["paranoid_checks"]?.hasPrefix("true") == true)
    #expect(store.settingsReport["verify_checksums"]?.hasPrefix("true") == true)
}

/// Under `fsync` a write that lands in a log LevelDB has just created is acknowledged only
/// after the directory was synced (LevelDB syncs it only with a MANIFEST); a write while
/// the directory is unchanged costs no directory sync.
@Test func levelDBSyncsTheDirectoryWhenANewLogAppears() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-leveldb")
    defer { try? FileSystem.removeTree(directory) }
    let path = directory + "/db"
    let store = try LevelDBStore.open(StoreOptions(directory: path, durability: .fsync, memoryBudget: 4 << 20))
    defer { try? store.close() }
    func syncs() -> Double { store.statistics().counters["directory_syncs"] ?? -1 }
    func logs() throws -> Set<String> { Set(try FileSystem.list(path).filter { $0.hasSuffix(".log") }) }
    try store.put([1], [1])
    #expect(syncs() >= 1, "the first write after open did not sync the directory the open filled")
    usleep(200_000)
    try store.put([2], [2])
    let settled = syncs()
    for index in 0..<10 { try store.put([3, UInt8(index)], [3]) }
    #expect(syncs() == settled, "writes to an unchanged directory synced it")
    let before = try logs()
    let large = Bytes(repeating: 0x6C, count: 100_000)
    var switched = false
    for index in 0..<40 where !switched {
        try store.put([4, UInt8(index)], large)
        switched = try logs() != before
    }
    #expect(switched, "no new log after 4 MB of writes into a 1 MiB write buffer")
    #expect(syncs() > settled, "the write into a new log was acknowledged without a directory sync")
}
