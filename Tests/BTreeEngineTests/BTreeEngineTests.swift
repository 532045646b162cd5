import Testing
@testable import BTreeEngine
import KVStore
import StorageIO
import Synchronization
import Foundation

func temporaryDirectory() throws -> String {
    try FileSystem.makeTemporaryDirectory(prefix: "btree-test")
}

func options(_ directory: String, pageSize: Int = 512, durability: Durability = .os, budget: Int = 1 << 20,
             extra: [String: String] = [:]) -> StoreOptions {
    var settings = ["btree.page_size": String(pageSize)]
    settings.merge(extra) { $1 }
    return StoreOptions(directory: directory, durability: durability, memoryBudget: budget, settings: settings)
}

func key(_ n: Int) -> Bytes { Array("key-\(String(n, radix: 16))".utf8) }

func randomValue(_ rng: inout SplitMix64, maxSize: Int) -> Bytes {
    let size = Int.random(in: 0...maxSize, using: &rng)
    return (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Checks that the store holds exactly `model`, through gets and a full scan.
func expectContents(_ store: BTreeStore, _ model: [Bytes: Bytes]) throws {
    for (k, v) in model { #expect(try store.get(k) == v) }
    let all = try store.scan(from: [])
    #expect(all.count == model.count)
    let sortedKeys = model.keys.sorted { ByteOrder.less($0, $1) }
    #expect(all.map(\.key) == sortedKeys)
    for pair in all { #expect(model[pair.key] == pair.value) }
}

func expectValid(_ store: BTreeStore) throws {
    let report = try store.verify()
    #expect(report.problems.isEmpty, "\(report.problems.prefix(5))")
}

@Suite struct PageEncodingTests {
    @Test func slottedPageRoundTrip() {
        let size = 512
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 2 * size, alignment: 16)
        defer { memory.deallocate() }
        let page = PageView(memory, size: size)
        page.initialize(type: .leaf, pgno: 7, txn: 42)
        var cell = [UInt8](repeating: 0, count: 64)
        var inserted: [Bytes] = []
        for n in [5, 1, 9, 3, 7] {
            let k: Bytes = [UInt8(n), 0xFF, 0]
            let v: Bytes = Array(repeating: UInt8(n), count: n * 3)
            let index = k.withUnsafeBytes { page.lowerBound($0).index }
            let size = PageView.leafCellSize(keyLength: k.count, storedValueLength: v.count)
            cell.withUnsafeMutableBytes { raw in
                k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in PageView.writeLeafCell(raw.baseAddress!, key: kb, value: vb) } }
                #expect(page.insertCell(at: index, copying: UnsafeRawBufferPointer(rebasing: raw[0..<size]), scratch: memory + size))
            }
            inserted.append(k)
        }
        #expect(page.count == 5)
        #expect((0..<page.count).map { Bytes(page.key($0)) } == inserted.sorted { ByteOrder.less($0, $1) })
        page.removeCell(at: 1)
        page.compact(scratch: memory + size)
        #expect((0..<page.count).map { Int(page.key($0)[0]) } == [1, 5, 7, 9])
        if case .inline(let value) = page.leafValue(2) { #expect(Bytes(value) == Array(repeating: 7, count: 21)) } else { Issue.record("value not inline") }
        #expect(page.pgno == 7 && page.txn == 42 && page.type == .leaf)
        page.seal()
        #expect(page.checksumIsValid)
        #expect(memory.load(as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(start: memory + 4, count: size - 4)))
        memory.storeBytes(of: memory.load(fromByteOffset: 300, as: UInt8.self) ^ 1, toByteOffset: 300, as: UInt8.self)
        #expect(!page.checksumIsValid)
    }

    @Test func metaRoundTrip() {
        let meta = Meta(pageSize: 4096, seq: 9, txn: 1234, root: 17, height: 3, pageCount: 99, freelistHead: 5, freeCount: 12, entries: 777)
        var bytes = Bytes(repeating: 0, count: 4096)
        bytes.withUnsafeMutableBytes { meta.encode(into: $0) }
        guard case .valid(let decoded) = bytes.withUnsafeBytes({ Meta.decode($0) }) else {
            Issue.record("meta did not decode")
            return
        }
        #expect(decoded == meta)
        bytes[60] ^= 0x10
        guard case .damaged = bytes.withUnsafeBytes({ Meta.decode($0) }) else {
            Issue.record("damaged meta was accepted")
            return
        }
        bytes[5] = 0
        guard case .foreign = bytes.withUnsafeBytes({ Meta.decode($0) }) else {
            Issue.record("foreign bytes were taken for a meta page")
            return
        }
    }

    @Test func logRecordRoundTrip() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let files = try WriteAheadLog.fileNames.map { try StorageFile(path: directory + "/" + $0, mode: .createOrOpen) }
        let wal = WriteAheadLog(files: files, active: 0, synced: true)
        for lsn in UInt64(5)...7 {
            let value: Bytes = [1, 2, 3]
            try wal.append(lsn: lsn) { out in
                [UInt8(lsn)].withUnsafeBytes { k in value.withUnsafeBytes { v in WriteAheadLog.appendPut(key: k, value: v, into: &out) } }
                [UInt8(9)].withUnsafeBytes { WriteAheadLog.appendDelete(key: $0, into: &out) }
            }
        }
        try files[0].write(at: wal.activeBytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])
        let records = try WriteAheadLog.readRecords(files[0])
        #expect(records.map(\.lsn) == [5, 6, 7])
        let operations = try #require(WriteAheadLog.decode(records[1].operations))
        #expect(operations.count == 2)
        if case .put(let k, let v) = operations[0] { #expect(Array(k) == [6] && Array(v) == [1, 2, 3]) } else { Issue.record("expected a put") }
        if case .delete(let k) = operations[1] { #expect(Array(k) == [9]) } else { Issue.record("expected a delete") }
    }

    /// Under `os` a power loss can keep the newer log file (the OS wrote it back first) and drop
    /// the older one and the meta page: the later commits cannot be reached, and the store opens at
    /// the last commit before the gap with both logs emptied. The same gap before commits that were
    /// synced (`fsync`: the missing ones were synced too) is corruption.
    @Test(arguments: [false, true])
    func aGapBeforeUnsyncedCommitsIsALossAndBeforeSyncedOnesCorruption(_ synced: Bool) throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        for index in 0..<50 { try store.put(Bytes("key-\(index)".utf8), Bytes(repeating: UInt8(index), count: 20)) }
        try store.close()
        let files = try WriteAheadLog.fileNames.map { try StorageFile(path: directory + "/" + $0, mode: .readWrite) }
        let wal = WriteAheadLog(files: files, active: 1, synced: synced)
        try wal.append(lsn: 1_000_000) { out in
            Bytes("unreachable".utf8).withUnsafeBytes { k in Bytes([7]).withUnsafeBytes { v in WriteAheadLog.appendPut(key: k, value: v, into: &out) } }
        }
        guard !synced else {
            #expect(throws: StoreError.self) { try BTreeStore.open(options(directory)) }
            return
        }
        let reopened = try BTreeStore.open(options(directory))
        for index in 0..<50 { #expect(try reopened.get(Bytes("key-\(index)".utf8)) == Bytes(repeating: UInt8(index), count: 20)) }
        #expect(try reopened.get(Bytes("unreachable".utf8)) == nil)
        #expect(try files.allSatisfy { try $0.size() == 0 })
        try reopened.put(Bytes("after".utf8), [1])
        try reopened.close()
        let again = try BTreeStore.open(options(directory))
        #expect(try again.get(Bytes("after".utf8)) == [1])
        try again.close()
    }

    /// The shared torn-tail rule on the redo log: a damaged record followed by intact records of
    /// the same use of the file is corruption; records left by an earlier use (another salt) end the log.
    @Test func logDamageBeforeIntactRecordsIsCorruptionButAnEarlierUseIsATail() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let files = try WriteAheadLog.fileNames.map { try StorageFile(path: directory + "/" + $0, mode: .createOrOpen) }
        let wal = WriteAheadLog(files: files, active: 0, synced: true)
        func commit(_ lsn: UInt64) throws {
            try wal.append(lsn: lsn) { out in [UInt8(lsn)].withUnsafeBytes { WriteAheadLog.appendDelete(key: $0, into: &out) } }
        }
        for lsn in UInt64(1)...40 { try commit(lsn) }
        let earlier = try files[0].read(at: 0, count: try files[0].size())
        // A new use of file 0 (new salt) whose bytes end up after the earlier use's content,
        // as a power loss that undid the truncation but kept later bytes would leave it.
        try wal.restart(afterCheckpoint: 2)
        for lsn in UInt64(100)...130 { try commit(lsn) }
        let later = try files[0].read(at: 0, count: try files[0].size())
        try files[0].write(at: 0, earlier + Bytes(later[5...]))
        #expect(try WriteAheadLog.readRecords(files[0]).map(\.lsn) == Array(1...40))
        // A flipped bit in a middle record of one use is corruption, not a shorter log.
        var damaged = earlier
        damaged[damaged.count / 2] ^= 0x10
        try files[0].truncate(to: 0)
        try files[0].write(at: 0, damaged)
        #expect(throws: StoreError.self) { try WriteAheadLog.readRecords(files[0]) }
    }
}

@Suite struct TreeTests {
    @Test func randomWorkloadKeepsInvariants() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        var rng = SplitMix64(seed: 1)
        var model: [Bytes: Bytes] = [:]
        let store = try BTreeStore.open(options(directory, budget: 64 << 10))
        for round in 0..<6 {
            for _ in 0..<1500 {
                let k = key(Int.random(in: 0..<3000, using: &rng))
                let choice = Int.random(in: 0..<10, using: &rng)
                if choice < 6 {
                    let v = randomValue(&rng, maxSize: choice == 0 ? 1500 : 60)
                    try store.put(k, v)
                    model[k] = v
                } else if choice < 9 {
                    try store.delete(k)
                    model[k] = nil
                } else {
                    var batch = WriteBatch()
                    for _ in 0..<5 {
                        let bk = key(Int.random(in: 0..<3000, using: &rng))
                        if Bool.random(using: &rng) {
                            let v = randomValue(&rng, maxSize: 40)
                            batch.put(bk, v)
                            model[bk] = v
                        } else {
                            batch.delete(bk)
                            model[bk] = nil
                        }
                    }
                    try store.write(batch)
                }
            }
            try expectValid(store)
            try expectContents(store, model)
            if round == 3 {
                // Delete almost everything: merges must shrink the tree.
                for k in model.keys.sorted(by: { ByteOrder.less($0, $1) }).dropLast(20) {
                    try store.delete(k)
                    model[k] = nil
                }
                try expectValid(store)
                try expectContents(store, model)
                #expect(try store.verify().height <= 2)
            }
        }
        let counters = store.statistics().counters
        #expect(counters["leaf_splits"]! > 0 && counters["leaf_shares"]! > 0)
        try store.close()
        let reopened = try BTreeStore.open(options(directory, budget: 64 << 10))
        try expectValid(reopened)
        try expectContents(reopened, model)
        try reopened.close()
    }

    @Test func sequentialLoadFillsPages() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, pageSize: 4096))
        for n in 0..<20000 {
            var k = Bytes(repeating: 0, count: 16)
            withUnsafeBytes(of: UInt64(n).bigEndian) { for i in 0..<8 { k[8 + i] = $0[i] } }
            try store.put(k, Bytes(repeating: UInt8(n & 0xFF), count: 100))
        }
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems.prefix(5))")
        #expect(report.leafFill > 0.9)
        try store.close()
    }

    @Test func emptyValuesAndLargeValues() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try store.put([1], [])
        try store.put([2], big)
        #expect(try store.get([1]) == [])
        #expect(try store.get([2]) == big)
        #expect(try store.get([3]) == nil)
        try store.put([2], [5])
        #expect(try store.get([2]) == [5])
        try store.put([2], big)
        #expect(try store.scan(from: []).map(\.value) == [[], big])
        try expectValid(store)
        #expect(throws: StoreError.self) { try store.put([], [1]) }
        #expect(throws: StoreError.self) { try store.put(Bytes(repeating: 1, count: store.limits.maxKeySize + 1), [1]) }
        try store.close()
    }

    @Test func freedPagesAreReused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, pageSize: 4096, extra: ["btree.checkpoint_pages": "64"]))
        for n in 0..<2000 { try store.put(key(n), Bytes(repeating: 1, count: 100)) }
        try store.sync()
        let pagesAfterLoad = try store.verify().filePages
        var pagesAfterRound: [Int] = []
        for round in 0..<20 {
            for n in 0..<2000 { try store.put(key(n), Bytes(repeating: UInt8(round), count: 100)) }
            pagesAfterRound.append(try store.verify().filePages)
        }
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems.prefix(5))")
        // Without reuse each round would add ~3 pages per put (6000); with it the file
        // settles at the tree plus the generations a checkpoint keeps, and stops growing.
        #expect(report.filePages < 5 * pagesAfterLoad)
        #expect(pagesAfterRound[19] - pagesAfterRound[9] < pagesAfterLoad)
        #expect(store.statistics().counters["free_pages"]! > 0)
        try store.close()
    }

    @Test func cursorSeesItsSnapshot() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, budget: 64 << 10))
        for n in 0..<500 { try store.put(key(n), [UInt8(n & 0xFF)]) }
        try store.withCursor { (cursor) throws(StoreError) in
            try cursor.seekToFirst()
            for n in 0..<500 { try store.put(key(n), [0xEE, 0xEE]) }
            for n in 500..<1000 { try store.put(key(n), [0xEE, 0xEE]) }
            var seen = 0
            while cursor.isValid {
                #expect(cursor.value.count == 1)
                seen += 1
                try cursor.next()
            }
            #expect(seen == 500)
        }
        #expect(try store.get(key(3)) == [0xEE, 0xEE])
        try expectValid(store)
        try store.close()
    }
}

@Suite struct RecoveryTests {
    @Test func reopenAfterCrashKeepsAcknowledgedWrites() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        var model: [Bytes: Bytes] = [:]
        var rng = SplitMix64(seed: 7)
        for session in 0..<4 {
            let store = try BTreeStore.open(options(directory, extra: ["btree.checkpoint_pages": "32"]))
            try expectContents(store, model)
            for _ in 0..<800 {
                let k = key(Int.random(in: 0..<1000, using: &rng))
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    try store.delete(k)
                    model[k] = nil
                } else {
                    let v = randomValue(&rng, maxSize: session == 2 ? 900 : 50)
                    try store.put(k, v)
                    model[k] = v
                }
            }
            try expectValid(store)
            store.abandonWithoutClosing()
        }
        let store = try BTreeStore.open(options(directory))
        try expectContents(store, model)
        try expectValid(store)
        try store.close()
    }

    @Test func durabilityNoneKeepsTheLastCheckpoint() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, durability: .none))
        for n in 0..<300 { try store.put(key(n), [1]) }
        try store.sync()
        for n in 300..<600 { try store.put(key(n), [2]) }
        store.abandonWithoutClosing()
        let reopened = try BTreeStore.open(options(directory, durability: .none))
        for n in 0..<300 { #expect(try reopened.get(key(n)) == [1]) }
        #expect(try reopened.get(key(450)) == nil)
        try expectValid(reopened)
        try reopened.close()
    }

    @Test func statisticsCountPagesAndLookups() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, budget: 32 << 10))
        for n in 0..<2000 { try store.put(key(n), Bytes(repeating: 7, count: 30)) }
        for n in 0..<100 { _ = try store.get(key(n * 7)) }
        let stats = store.statistics()
        let height = stats.counters["tree_height"]!
        #expect(height >= 3)
        #expect(stats.pointLookups == 100)
        #expect(stats.lookupProbes == 100 * UInt64(height))
        #expect(stats.userBytesWritten == (0..<2000).reduce(UInt64(0)) { $0 + UInt64(key($1).count + 30) })
        #expect(stats.counters["pages_written"]! > 0 && stats.counters["buffer_pool.misses"]! + stats.counters["buffer_pool.mapped_reads"]! > 0)
        #expect(stats.counters["buffer_pool.hits"]! > 0 && stats.counters["checkpoints"]! > 0)
        #expect(stats.engineBytesWritten! > stats.userBytesWritten)
        try store.close()
    }

    @Test func storeDroppedWithoutCloseKeepsItsWrites() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        do {
            let store = try BTreeStore.open(options(directory, extra: ["btree.checkpoint_pages": "16"]))
            for n in 0..<500 { try store.put(key(n), [UInt8(n & 0xFF), 1]) }
        }
        // The last reference may be a checkpoint still being written: wait for it to let go.
        var reopened: BTreeStore?
        for _ in 0..<500 where reopened == nil {
            do { reopened = try BTreeStore.open(options(directory)) } catch StoreError.alreadyOpen { Thread.sleep(forTimeInterval: 0.01) }
        }
        let store = try #require(reopened)
        for n in 0..<500 { #expect(try store.get(key(n)) == [UInt8(n & 0xFF), 1]) }
        try expectValid(store)
        try store.close()
    }

    @Test func tornLogTailIsDropped() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        for n in 0..<50 { try store.put(key(n), [UInt8(n)]) }
        store.abandonWithoutClosing()
        // The log file after the newest checkpoint holds the 50 records; tear the last one
        // and append garbage, as a crash in the middle of a write would leave it.
        var logSizes: [Int] = []
        for name in WriteAheadLog.fileNames { logSizes.append(try FileSystem.fileSize(directory + "/" + name)) }
        let active = logSizes[0] > logSizes[1] ? 0 : 1
        let log = try StorageFile(path: directory + "/" + WriteAheadLog.fileNames[active], mode: .readWrite)
        let size = try log.size()
        try log.truncate(to: size - 3)
        try log.write(at: size - 3, Bytes(repeating: 0xAB, count: 40))
        let reopened = try BTreeStore.open(options(directory))
        for n in 0..<49 { #expect(try reopened.get(key(n)) == [UInt8(n)]) }
        #expect(try reopened.get(key(49)) == nil)
        try expectValid(reopened)
        try reopened.close()
    }

    /// A database of another format version (version 1 framed its redo log differently) is refused, never misread.
    @Test func otherFormatVersionIsNotADatabase() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        try store.put(key(1), [1])
        try store.close()
        let file = try StorageFile(path: directory + "/btree.db", mode: .readWrite)
        for offset in [0, 512] {
            var page = try file.read(at: offset, count: Meta.encodedSize)
            page.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 12, as: UInt32.self)
                raw.storeBytes(of: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[4...])).littleEndian, toByteOffset: 0, as: UInt32.self)
            }
            try file.write(at: offset, page)
        }
        do {
            _ = try BTreeStore.open(options(directory))
            Issue.record("a version 1 database opened")
        } catch {
            guard case .notADatabase(_, let reason) = error else { Issue.record("expected notADatabase, got \(error)"); return }
            #expect(reason.contains("format version 1"))
        }
    }

    @Test func damagedNewestMetaFallsBackToPrevious() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        var model: [Bytes: Bytes] = [:]
        for session in 0..<3 {
            let store = try BTreeStore.open(options(directory))
            for n in 0..<300 {
                let k = key(session * 1000 + n)
                try store.put(k, [UInt8(session)])
                model[k] = [UInt8(session)]
            }
            try store.close()
        }
        // Find the newest meta page and tear it.
        let file = try StorageFile(path: directory + "/btree.db", mode: .readWrite)
        let metas = try [0, 512].map { offset in try file.read(at: offset, count: Meta.encodedSize) }
        let seqs = metas.map { bytes -> UInt64 in
            if case .valid(let meta) = bytes.withUnsafeBytes({ Meta.decode($0) }) { return meta.seq }
            return 0
        }
        let newest = seqs[0] > seqs[1] ? 0 : 1
        try file.write(at: newest * 512 + 40, [0xDE, 0xAD, 0xBE, 0xEF])
        let store = try BTreeStore.open(options(directory))
        try expectContents(store, model)
        try expectValid(store)
        try store.close()
    }

    @Test func foreignAndLockedDirectoriesAreRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        #expect(throws: StoreError.alreadyOpen(path: FileSystem.canonicalPath(directory))) { try BTreeStore.open(options(directory)) }
        try store.close()
        #expect(throws: StoreError.self) { try BTreeStore.open(options(directory, pageSize: 1024)) }

        let foreign = try temporaryDirectory()
        defer { try? FileSystem.removeTree(foreign) }
        try StorageFile(path: foreign + "/data.mdb", mode: .createNew).write(at: 0, [1, 2, 3])
        do {
            _ = try BTreeStore.open(options(foreign))
            Issue.record("a foreign directory was opened")
        } catch {
            guard case .notADatabase = error else { Issue.record("unexpected error \(error)"); return }
        }
        let garbage = try temporaryDirectory()
        defer { try? FileSystem.removeTree(garbage) }
        try StorageFile(path: garbage + "/btree.db", mode: .createNew).write(at: 0, Bytes(repeating: 0x41, count: 8192))
        do {
            _ = try BTreeStore.open(options(garbage))
            Issue.record("a file of garbage was opened")
        } catch {
            guard case .notADatabase = error else { Issue.record("unexpected error \(error)"); return }
        }
    }

    @Test func corruptPageIsReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory))
        for n in 0..<200 { try store.put(key(n), Bytes(repeating: 3, count: 20)) }
        try store.close()
        let file = try StorageFile(path: directory + "/btree.db", mode: .readWrite)
        let size = try file.size()
        for page in 2..<(size / 512) { try file.write(at: page * 512 + 100, [0x55]) }
        // Either the free list (read at open) or the first page a lookup touches reports it.
        do {
            let reopened = try BTreeStore.open(options(directory))
            #expect(throws: StoreError.self) { _ = try reopened.get(key(5)) }
            try reopened.close()
        } catch {
            guard case .corruption = error else { Issue.record("unexpected error \(error)"); return }
        }
    }
}

@Suite struct ConcurrencyTests {
    /// Readers on other threads run point lookups and scans while one writer rewrites every key;
    /// each value names its round, and a scan must see one round per snapshot prefix order
    /// (rounds never increase along a scan, since the writer goes through keys in order).
    @Test func readersSeeConsistentSnapshotsWhileWriting() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let store = try BTreeStore.open(options(directory, budget: 96 << 10, extra: ["btree.checkpoint_pages": "16"]))
        let count = 400
        for n in 0..<count { try store.put(key(n), [0, 0]) }
        let sortedKeys = (0..<count).map(key).sorted { ByteOrder.less($0, $1) }
        let failures = Mutex<[String]>([])
        let done = Atomic<Bool>(false)
        let scans = Atomic<Int>(0)
        let readers = (0..<2).map { index in
            Thread {
                var rng = SplitMix64(seed: UInt64(index + 10))
                while !done.load(ordering: .relaxed) {
                    do {
                        let k = sortedKeys[Int.random(in: 0..<count, using: &rng)]
                        let value = try store.get(k)
                        if value?.count != 2 { failures.withLock { $0.append("bad value \(String(describing: value))") } }
                        let scan = try store.scan(from: [])
                        scans.add(1, ordering: .relaxed)
                        if scan.count != count { failures.withLock { $0.append("scan saw \(scan.count) entries") } }
                        let rounds = scan.map(\.value[0])
                        if zip(rounds, rounds.dropFirst()).contains(where: { $0 < $1 }) {
                            failures.withLock { $0.append("scan mixed rounds: a later key is newer than an earlier one") }
                        }
                    } catch {
                        failures.withLock { $0.append("reader error \(error)") }
                    }
                }
            }
        }
        readers.forEach { $0.start() }
        var round = 0
        while round < 250 && (round < 6 || scans.load(ordering: .relaxed) < 40) {
            round += 1
            for k in sortedKeys { try store.put(k, [UInt8(round), 0]) }
        }
        done.store(true, ordering: .relaxed)
        while readers.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.01) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        #expect(scans.load(ordering: .relaxed) >= 40)
        try expectValid(store)
        try store.close()
    }
}
