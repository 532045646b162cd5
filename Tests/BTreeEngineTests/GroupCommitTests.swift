import Testing
@testable import BTreeEngine
import KVStore
import StorageIO
import Synchronization
import Foundation

@Suite struct GroupCommitTests {
    /// Eight committers write their records while a sync is held off; the first to sync
    /// then covers all eight with one log sync, and every put survives a crash.
    @Test func waitingCommitsShareOneLogSync() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, durability: .fsync))
        let before = store.statistics().counters["log_syncs"] ?? -1
        let start = try store.withWriter { $0.lastTxn }
        let threads = 8
        let finished = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        store.logSyncGate.monitor.lock()
        for n in 0..<threads {
            Thread {
                do { try store.put(key(n), [UInt8(n)]) } catch { failures.withLock { $0.append("\(error)") } }
                finished.add(1, ordering: .relaxed)
            }.start()
        }
        while try store.withWriter({ $0.lastTxn }) < start + UInt64(threads) { Thread.sleep(forTimeInterval: 0.001) }
        // Not yet durable, so not yet visible.
        #expect(try store.get(key(0)) == nil)
        #expect(finished.load(ordering: .relaxed) == 0)
        store.logSyncGate.monitor.unlock()
        while finished.load(ordering: .relaxed) < threads { Thread.sleep(forTimeInterval: 0.001) }
        #expect(failures.withLock { $0 }.isEmpty)
        let stats = store.statistics().counters
        #expect(stats["log_syncs"] == before + 1)
        #expect(stats["commits"] == Double(threads))
        store.abandonWithoutClosing()
        let reopened = try BTreeStore.open(options(directory, durability: .fsync))
        for n in 0..<threads { #expect(try reopened.get(key(n)) == [UInt8(n)]) }
        try expectValid(reopened)
        try reopened.close()
    }

    /// Threads committing puts and batches under `fsync` at once: every acknowledged write is
    /// there after a crash, and the tree is valid.
    @Test func concurrentCommittersKeepEveryWrite() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, durability: .fsync, extra: ["btree.checkpoint_pages": "16"]))
        let threads = 4, perThread = 150
        let finished = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        for t in 0..<threads {
            Thread {
                do {
                    for n in 0..<perThread {
                        let id = t * perThread + n
                        if n % 10 == 9 {
                            var batch = WriteBatch()
                            batch.put(key(id), [UInt8(t), 1])
                            batch.delete(key(id - 1))
                            try store.write(batch)
                        } else {
                            try store.put(key(id), [UInt8(t), 0])
                        }
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
                finished.add(1, ordering: .relaxed)
            }.start()
        }
        while finished.load(ordering: .relaxed) < threads { Thread.sleep(forTimeInterval: 0.005) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        store.abandonWithoutClosing()
        let reopened = try BTreeStore.open(options(directory, durability: .fsync))
        for t in 0..<threads {
            for n in 0..<perThread {
                let id = t * perThread + n
                let expected: Bytes? = n % 10 == 8 ? nil : [UInt8(t), n % 10 == 9 ? 1 : 0]
                #expect(try reopened.get(key(id)) == expected)
            }
        }
        try expectValid(reopened)
        try reopened.close()
    }
}
