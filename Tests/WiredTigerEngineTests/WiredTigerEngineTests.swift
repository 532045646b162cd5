import KVConformance
import KVStore
import StorageIO
import Synchronization
import Testing
import WiredTigerEngine

@Test(arguments: ConformanceCase.allCases)
func wiredTigerConformance(_ check: ConformanceCase) throws { try ConformanceSuite<WiredTigerStore>().run(check) }

@Test(arguments: ConformanceCase.allCases)
func wiredTigerLSMConformance(_ check: ConformanceCase) throws { try ConformanceSuite<WiredTigerLSMStore>().run(check) }

@Test(arguments: [Durability.none, .fsync])
func wiredTigerPersistsUnderEveryDurability(_ durability: Durability) throws {
    try ConformanceSuite<WiredTigerStore>(durability: durability).run(.persistsAcrossReopen)
    try ConformanceSuite<WiredTigerLSMStore>(durability: durability).run(.persistsAcrossReopen)
}

/// Copies the files of a store that is still open, as a process crash leaves them (what the
/// OS has), and opens the copy: it must hold what `os` promises, and `none` must not (no log).
private func keyInCopyOfOpenStore(_ durability: Durability) throws -> Bool {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerStore.open(StoreOptions(directory: directory + "/db", durability: durability))
    try store.put(Array("acknowledged".utf8), Array("value".utf8))
    try FileSystem.createDirectory(directory + "/copy")
    for name in try FileSystem.list(directory + "/db") where name != DirectoryLock.fileName {
        // WiredTiger's log thread may rename a preallocated log file meanwhile; a crash would not keep it either.
        guard let source = try? StorageFile(path: directory + "/db/" + name, mode: .readOnly) else { continue }
        let target = try StorageFile(path: directory + "/copy/" + name, mode: .createNew)
        try target.write(at: 0, try source.read(at: 0, count: try source.size()))
    }
    let copy = try WiredTigerStore.open(StoreOptions(directory: directory + "/copy", durability: durability, createIfMissing: false))
    defer { try? copy.close() }
    try store.close()
    return try copy.get(Array("acknowledged".utf8)) == Array("value".utf8)
}

@Test func wiredTigerOsDurabilityWritesTheLogBeforeAcknowledging() throws {
    #expect(try keyInCopyOfOpenStore(.os))
    #expect(try keyInCopyOfOpenStore(.fsync))
    #expect(try !keyInCopyOfOpenStore(.none))
}

@Test func wiredTigerRefusesTheOtherTableType() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let options = StoreOptions(directory: directory + "/db")
    try WiredTigerStore.open(options).close()
    #expect { try WiredTigerLSMStore.open(options) } throws: { error in
        guard case StoreError.notADatabase(_, let reason) = error else { return false }
        return reason.contains("open it with the engine wiredtiger")
    }
    try WiredTigerStore.open(options).close()
}

@Test func wiredTigerRejectsUnknownAndBadSettings() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    for settings in [["wiredtiger.cache": "1"], ["wiredtiger.statistics": "all"], ["wiredtiger.checkpoint_seconds": "-1"]] {
        #expect(throws: StoreError.self) { try WiredTigerStore.open(StoreOptions(directory: directory + "/db", settings: settings)) }
    }
    #expect(try FileSystem.list(directory).isEmpty, "a refused setting created files")
}

@Test func wiredTigerReportsItsCacheAndCountsEngineWrites() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerStore.open(StoreOptions(directory: directory + "/db", durability: .os, memoryBudget: 16 << 20))
    #expect(store.settingsReport["cache_size_bytes"] == String(8 << 20), "half the budget")
    let before = store.statistics()
    for index in 0..<2_000 { try store.put(Array("key\(index)".utf8), Bytes(repeating: 7, count: 100)) }
    try store.sync()
    let after = store.statistics()
    let user = after.userBytesWritten - before.userBytesWritten
    let engine = try #require(after.engineBytesWritten) - (before.engineBytesWritten ?? 0)
    #expect(engine >= user, "the log alone holds every key and value: \(engine) < \(user)")
    try store.close()

    let quiet = try WiredTigerStore.open(StoreOptions(directory: directory + "/quiet", settings: ["wiredtiger.statistics": "none"]))
    defer { try? quiet.close() }
    try quiet.put([1], [1])
    #expect(quiet.statistics().engineBytesWritten == nil)
}

@Test func wiredTigerHandsTheSessionsOfExitedThreadsToNewOnes() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    try store.put([1], [2])
    let failures = Atomic<Int>(0)
    // More threads one after another than WiredTiger has sessions (session_max 2112):
    // without reuse the later ones could not open a session.
    for _ in 0..<2_500 {
        OSThread.start {
            if (try? store.get([1])) != [2] { failures.add(1, ordering: .relaxed) }
        }.join()
    }
    #expect(failures.load(ordering: .relaxed) == 0)
}

@Test func wiredTigerConcurrentConflictingBatchesAllApply() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    let failures = Atomic<Int>(0)
    let threads = (0..<4).map { thread in
        OSThread.start {
            for round in 0..<500 {
                var batch = WriteBatch()
                for key in 0..<8 { batch.put([UInt8(key)], [UInt8(thread), UInt8(round & 0xFF)]) }
                do { try store.write(batch) } catch { failures.add(1, ordering: .relaxed) }
            }
        }
    }
    threads.forEach { $0.join() }
    #expect(failures.load(ordering: .relaxed) == 0)
    // Every batch wrote all eight keys with one value, so the survivor is one batch's value.
    let values = Set(try store.scan(from: []).map(\.value))
    #expect(values.count == 1)
}

@Test func wiredTigerNestedCursorsSeeTheirOwnSnapshots() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    try store.put([1], [1])
    let (outer, inner) = try store.withCursor { (outer: inout WiredTigerCursor) throws(StoreError) -> (Int, Int) in
        try store.put([2], [2])
        let inner = try store.scan(from: []).count
        try outer.seekToFirst()
        var count = 0
        while outer.isValid { count += 1; try outer.next() }
        return (count, inner)
    }
    #expect(outer == 1 && inner == 2)
}

/// WiredTiger opens an LSM tree only when the cache holds three chunks and the merges' pages:
/// the chunk size follows the budget, down to the crash test's 4 MiB.
@Test(arguments: [4 << 20, 6 << 20, 64 << 20])
func wiredTigerLSMOpensWithSmallBudgets(_ budget: Int) throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-wiredtiger")
    defer { try? FileSystem.removeTree(directory) }
    let store = try WiredTigerLSMStore.open(StoreOptions(directory: directory + "/db", memoryBudget: budget))
    defer { try? store.close() }
    for index in 0..<3_000 { try store.put(Array("key\(index)".utf8), Bytes(repeating: 1, count: 200)) }
    #expect(try store.get(Array("key2999".utf8))?.count == 200)
}
