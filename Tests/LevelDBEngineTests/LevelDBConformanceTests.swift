import KVConformance
import KVStore
import LevelDBEngine
import StorageIO
import Testing

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
