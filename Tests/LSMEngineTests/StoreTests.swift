import KVStore
import StorageIO
import Synchronization
import Testing
@_spi(Testing) @testable import LSMEngine

/// Tiny memtables, blocks and levels so a few thousand writes flush and compact.
let smallSettings = ["lsm.memtable_bytes": "65536", "lsm.base_level_bytes": "262144", "lsm.target_file_bytes": "65536",
                     "lsm.block_bytes": "1024", "lsm.level_size_ratio": "4"]

/// The values of `lsm.compaction`; tests that flush and compact run once for each.
let compactionStyles = ["leveled", "tiered", "lazy-leveling"]

/// `smallSettings` with the compaction strategy `style`.
func smallSettings(_ style: String) -> [String: String] { smallSettings.merging(["lsm.compaction": style]) { $1 } }

func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-lsm-test")
    defer { try? FileSystem.removeTree(directory) }
    return try body(directory + "/db")
}

func testKey(_ index: Int) -> Bytes { Bytes("key-\(String(index * 7919 % 100_003))-\(index)".utf8) }

/// Applies a random mix of puts, deletes and batches to the store and to a model.
func randomWorkload(_ store: LSMStore, model: inout [Bytes: Bytes], operations: Int, keySpace: Int, seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    for _ in 0..<operations {
        let key = testKey(Int(random.next() % UInt64(keySpace)))
        switch random.next() % 10 {
        case 0..<6:
            let value = random.bytes(Int(random.next() % 120))
            try store.put(key, value)
            model[key] = value
        case 6..<9:
            try store.delete(key)
            model[key] = nil
        default:
            var batch = WriteBatch()
            let other = testKey(Int(random.next() % UInt64(keySpace)))
            batch.put(key, [1, 2, 3])
            batch.delete(other)
            try store.write(batch)
            model[key] = [1, 2, 3]
            model[other] = nil
        }
    }
}

/// Every model key reads back, and a full scan returns exactly the model.
func expectMatches(_ store: LSMStore, _ model: [Bytes: Bytes], keySpace: Int) throws {
    for index in 0..<keySpace {
        let key = testKey(index)
        let got = try store.get(key)
        #expect(got == model[key], "key \(index): got \(String(describing: got?.count)) bytes, model \(String(describing: model[key]?.count))")
    }
    let scanned = try store.scan(from: [])
    let expected = model.sorted { ByteOrder.less($0.key, $1.key) }.map { KeyValuePair(key: $0.key, value: $0.value) }
    #expect(scanned == expected, "scan returned \(scanned.count) entries, model has \(expected.count)")
}

/// Every run is sorted and non-overlapping, an L0 run is one flushed table of its number or
/// the tables of an intra-L0 merge (numbered after the run), and every table's range is ordered.
func expectLevelInvariants(_ levels: [[LSMTableInfo]]) {
    for (level, tables) in levels.enumerated() {
        for table in tables { #expect(ByteOrder.compare(table.smallest, table.largest) <= 0, "L\(level) table \(table.number) range reversed") }
        for (run, members) in Dictionary(grouping: tables, by: \.run) {
            if level == 0 {
                let flushed = members.count == 1 && members[0].number == run
                #expect(flushed || members.allSatisfy { $0.number > run }, "L0 run \(run) is neither a flushed table of that number nor an intra-L0 merge's tables")
            }
            for (left, right) in zip(members, members.dropFirst()) {
                #expect(ByteOrder.less(left.largest, right.smallest), "L\(level) run \(run): tables \(left.number) and \(right.number) overlap or are unsorted")
            }
        }
    }
}

func files(_ directory: String, suffix: String) throws -> [String] {
    try FileSystem.list(directory).filter { $0.hasSuffix(suffix) }
}

@Test(arguments: [Durability.os, .fsync], compactionStyles)
func reopenAfterCrashRecoversAcknowledgedWrites(_ durability: Durability, _ style: String) throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: durability, settings: smallSettings(style))
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        try randomWorkload(store, model: &model, operations: durability == .fsync ? 1500 : 6000, keySpace: 1500, seed: 11)
        #expect(store.statistics().counters["flushes", default: 0] > 0)
        store.simulateCrash()
        let reopened = try LSMStore.open(options)
        try expectMatches(reopened, model, keySpace: 1500)
        try reopened.close()
    }
}

@Test func tornLogTailIsDroppedOnRecovery() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .os)
        let store = try LSMStore.open(options)
        for index in 0..<100 { try store.put(testKey(index), Bytes(repeating: UInt8(index), count: 50)) }
        store.simulateCrash()
        let logs = try files(directory, suffix: ".log")
        #expect(logs.count == 1)
        let path = directory + "/" + logs[0]
        let file = try StorageFile(path: path, mode: .readWrite)
        try file.truncate(to: try file.size() - 5)
        let reopened = try LSMStore.open(options)
        for index in 0..<99 { #expect(try reopened.get(testKey(index)) == Bytes(repeating: UInt8(index), count: 50)) }
        #expect(try reopened.get(testKey(99)) == nil)
        try reopened.close()
    }
}

@Test func damagedLogRecordBeforeTheTailIsCorruption() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .os)
        let store = try LSMStore.open(options)
        for index in 0..<100 { try store.put(testKey(index), Bytes(repeating: 7, count: 50)) }
        store.simulateCrash()
        let path = directory + "/" + (try files(directory, suffix: ".log"))[0]
        let file = try StorageFile(path: path, mode: .readWrite)
        let middle = try file.size() / 2
        var byte = try file.read(at: middle, count: 1)
        byte[0] ^= 0x5A
        try file.write(at: middle, byte)
        #expect { try LSMStore.open(options) } throws: { error in
            if case StoreError.corruption = error { return true } else { return false }
        }
    }
}

@Test(arguments: compactionStyles)
func manifestRecoveryKeepsLevelsAndIgnoresATornEdit(_ style: String) throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .os, settings: smallSettings(style))
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        try randomWorkload(store, model: &model, operations: 5000, keySpace: 2000, seed: 21)
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        let before = store.levels()
        #expect(before.dropFirst().contains { !$0.isEmpty }, "expected compacted levels")
        store.simulateCrash()
        // A half-written edit at the end of the manifest (as after a crash mid-append).
        let manifest = try StorageFile(path: directory + "/" + ManifestLog.fileName, mode: .readWrite)
        try manifest.write(at: try manifest.size(), [0x11, 0x22, 0x33, 0x44, 0x40, 0, 0, 0, 1, 3, 0])
        let reopened = try LSMStore.open(options)
        #expect(reopened.levels() == before)
        try expectMatches(reopened, model, keySpace: 2000)
        try reopened.close()
        // Damage inside the manifest's first record: corruption, not an empty database.
        let rewritten = try StorageFile(path: directory + "/" + ManifestLog.fileName, mode: .readWrite)
        var byte = try rewritten.read(at: ManifestLog.headerSize + 12, count: 1)
        byte[0] ^= 0x01
        try rewritten.write(at: ManifestLog.headerSize + 12, byte)
        #expect { try LSMStore.open(options) } throws: { error in
            if case StoreError.corruption = error { return true } else { return false }
        }
    }
}

@Test(arguments: compactionStyles)
func compactionInvariantsHoldAfterRandomWorkloads(_ style: String) throws {
    try withDirectory { directory in
        var settings = smallSettings(style)
        settings["lsm.base_level_bytes"] = "65536"
        settings["lsm.target_file_bytes"] = "32768"
        let options = StoreOptions(directory: directory, durability: .none, settings: settings)
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        for round in 0..<4 {
            try randomWorkload(store, model: &model, operations: 15000, keySpace: 3000, seed: 100 + UInt64(round))
            try store.waitForBackgroundWork()
            expectLevelInvariants(store.levels())
            try expectMatches(store, model, keySpace: 3000)
        }
        let statistics = store.statistics()
        #expect((statistics.compaction?.count ?? 0) > 0)
        #expect((statistics.compaction?.bytesWritten ?? 0) > 0)
        #expect(store.levels().dropFirst(2).contains { !$0.isEmpty }, "expected data below L1")

        #expect(try store.compactAll())
        let compacted = store.levels()
        #expect(compacted[0].isEmpty)
        #expect(compacted.filter { !$0.isEmpty }.count == 1)
        expectLevelInvariants(compacted)
        // The bottom level holds no tombstones after a full compaction: entries equal live keys.
        #expect(compacted.joined().reduce(0) { $0 + $1.entries } == model.count)
        try expectMatches(store, model, keySpace: 3000)
        try store.close()

        let reopened = try LSMStore.open(options)
        #expect(reopened.levels() == compacted)
        try expectMatches(reopened, model, keySpace: 3000)
        let live = Set(compacted.joined().map { LSMFileName.table($0.number).name })
        #expect(Set(try files(directory, suffix: ".sst")) == live, "obsolete table files were left behind")
        try reopened.close()
    }
}

@Test(arguments: compactionStyles)
func cursorPinsItsVersionWhileCompactionReplacesTables(_ style: String) throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .none, settings: smallSettings(style))
        let store = try LSMStore.open(options)
        for index in 0..<3000 { try store.put(testKey(index), Bytes(repeating: 1, count: 40)) }
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        let tablesBefore = Set(try files(directory, suffix: ".sst"))
        let count = try store.withCursor { (cursor: inout LSMCursor) throws(StoreError) -> Int in
            try cursor.seekToFirst()
            var seen = 0
            while cursor.isValid {
                if seen == 10 {
                    for index in 0..<3000 where index % 2 == 0 { try store.delete(testKey(index)) }
                    _ = try store.compactAll()
                }
                seen += 1
                try cursor.next()
            }
            return seen
        }
        #expect(count == 3000)
        let tablesAfter = Set(try files(directory, suffix: ".sst"))
        #expect(tablesAfter.isDisjoint(with: tablesBefore), "tables replaced by compaction were not deleted once the cursor ended")
        #expect(try store.scan(from: []).count == 1500)
        try store.close()
    }
}

@Test func concurrentFsyncWritersShareSyncs() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .fsync)
        let store = try LSMStore.open(options)
        let failures = Mutex(0)
        let threads = (0..<4).map { thread in
            OSThread.start {
                for index in 0..<150 {
                    do { try store.put(testKey(thread * 1000 + index), [UInt8(thread)]) } catch { failures.withLock { $0 += 1 } }
                }
            }
        }
        for thread in threads { thread.join() }
        #expect(failures.withLock { $0 } == 0)
        let syncs = store.statistics().counters["wal_syncs", default: 0]
        #expect(syncs >= 1 && syncs <= 600)
        store.simulateCrash()
        let reopened = try LSMStore.open(options)
        for thread in 0..<4 {
            for index in 0..<150 { #expect(try reopened.get(testKey(thread * 1000 + index)) == [UInt8(thread)]) }
        }
        try reopened.close()
    }
}

@Test func foreignManifestIsNotADatabase() throws {
    try withDirectory { directory in
        try FileSystem.createDirectory(directory)
        let file = try StorageFile(path: directory + "/" + ManifestLog.fileName, mode: .createNew)
        try file.write(at: 0, Bytes("this is not an LSM manifest at all".utf8))
        #expect { try LSMStore.open(StoreOptions(directory: directory)) } throws: { error in
            if case StoreError.notADatabase = error { return true } else { return false }
        }
    }
}

@Test func unknownSettingIsRejected() throws {
    try withDirectory { directory in
        #expect(throws: StoreError.self) { try LSMStore.open(StoreOptions(directory: directory, settings: ["lsm.bogus": "1"])) }
        #expect(throws: StoreError.self) { try LSMStore.open(StoreOptions(directory: directory, settings: ["lsm.bloom_bits_per_key": "x"])) }
    }
}

@Test func durabilityNoneKeepsOnlyWhatSyncFlushed() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .none)
        let store = try LSMStore.open(options)
        for index in 0..<100 { try store.put(testKey(index), [1]) }
        try store.sync()
        for index in 100..<200 { try store.put(testKey(index), [2]) }
        #expect(try files(directory, suffix: ".log").isEmpty)
        store.simulateCrash()
        // Negative control: without a log, writes after the last sync are lost in a crash.
        let reopened = try LSMStore.open(options)
        for index in 0..<100 { #expect(try reopened.get(testKey(index)) == [1]) }
        for index in 100..<200 { #expect(try reopened.get(testKey(index)) == nil) }
        try reopened.close()
    }
}

@Test func blockCacheStaysWithinItsBudget() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .none, memoryBudget: 1 << 20, settings: ["lsm.memtable_bytes": "65536"])
        let store = try LSMStore.open(options)
        let value = Bytes(repeating: 9, count: 200)
        for index in 0..<6000 { try store.put(testKey(index), value) }
        try store.flushMemtable()
        for index in 0..<6000 { #expect(try store.get(testKey(index)) == value) }
        let statistics = store.statistics()
        #expect(statistics.counters["block_cache.misses", default: 0] > 0)
        #expect(statistics.counters["block_cache.usage_bytes", default: .infinity] <= Double(512 << 10))
        try store.close()
    }
}

@Test(arguments: compactionStyles)
func concurrentReadersSeeWholeValuesWhileWritesFlushAndCompact(_ style: String) throws {
    try withDirectory { directory in
        let store = try LSMStore.open(StoreOptions(directory: directory, durability: .none, settings: smallSettings(style)))
        let done = Atomic<Bool>(false)
        let problems = Mutex<[String]>([])
        // Every value is its key followed by a generation byte repeated, so a torn or misplaced value shows.
        func value(for key: Bytes, generation: UInt8) -> Bytes { key + Bytes(repeating: generation, count: 40) }
        @Sendable func check(_ key: Bytes, _ got: Bytes) -> Bool {
            got.count == key.count + 40 && Bytes(got.prefix(key.count)) == key && Set(got.dropFirst(key.count)).count == 1
        }
        let readers = (0..<2).map { reader in
            OSThread.start {
                var random = SplitMix64(seed: UInt64(reader) + 50)
                while !done.load(ordering: .relaxed) {
                    do {
                        let key = testKey(Int(random.next() % 2000))
                        if let got = try store.get(key), !check(key, got) { problems.withLock { $0.append("get \(key)") } }
                        let entries = try store.scan(from: testKey(Int(random.next() % 2000)), limit: 20)
                        for (left, right) in zip(entries, entries.dropFirst()) where !ByteOrder.less(left.key, right.key) {
                            problems.withLock { $0.append("scan order") }
                        }
                        for entry in entries where !check(entry.key, entry.value) { problems.withLock { $0.append("scan value") } }
                    } catch {
                        problems.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        var random = SplitMix64(seed: 77)
        for step in 0..<20_000 {
            let key = testKey(Int(random.next() % 2000))
            if step % 5 == 0 { try store.delete(key) } else { try store.put(key, value(for: key, generation: UInt8(truncatingIfNeeded: step))) }
        }
        done.store(true, ordering: .relaxed)
        for reader in readers { reader.join() }
        #expect(problems.withLock { $0 }.isEmpty, "\(problems.withLock { $0.prefix(5) })")
        #expect((store.statistics().compaction?.count ?? 0) > 0)
        try store.close()
    }
}

@Test(arguments: compactionStyles)
func concurrentFullCompactionsKeepLevelsDisjoint(_ style: String) throws {
    try withDirectory { directory in
        let store = try LSMStore.open(StoreOptions(directory: directory, durability: .none, settings: smallSettings(style)))
        var model: [Bytes: Bytes] = [:]
        try randomWorkload(store, model: &model, operations: 6000, keySpace: 1500, seed: 5)
        let failures = Mutex<[String]>([])
        let compactors = (0..<2).map { _ in
            OSThread.start {
                do { _ = try store.compactAll() } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        for compactor in compactors { compactor.join() }
        #expect(failures.withLock { $0 }.isEmpty)
        try store.waitForBackgroundWork()
        expectLevelInvariants(store.levels())
        try expectMatches(store, model, keySpace: 1500)
        try store.close()
    }
}

@Test func bitRotInATableIsReportedAsCorruption() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .none)
        let store = try LSMStore.open(options)
        for index in 0..<2000 { try store.put(testKey(index), Bytes(repeating: 3, count: 30)) }
        try store.close()
        let table = directory + "/" + (try files(directory, suffix: ".sst"))[0]
        let file = try StorageFile(path: table, mode: .readWrite)
        var byte = try file.read(at: 100, count: 1)
        byte[0] ^= 0x10
        try file.write(at: 100, byte)
        let reopened = try LSMStore.open(options)
        var corrupt = 0, intact = 0
        for index in 0..<2000 {
            do {
                let value = try reopened.get(testKey(index))
                #expect(value == Bytes(repeating: 3, count: 30))
                intact += 1
            } catch {
                if case StoreError.corruption = error { corrupt += 1 }
            }
        }
        #expect(corrupt > 0 && intact > 0 && corrupt + intact == 2000)
        try reopened.close()
        // A damaged footer fails the open.
        let size = try file.size()
        var last = try file.read(at: size - 1, count: 1)
        last[0] ^= 0xFF
        try file.write(at: size - 1, last)
        #expect { try LSMStore.open(options) } throws: { error in
            if case StoreError.corruption = error { return true } else { return false }
        }
    }
}
