import KVStore
import StorageIO

/// A failed conformance check: what was expected, for which engine, and how to reproduce it.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The checks every engine must pass. An engine joins with one line in its test target:
/// `@Test(arguments: ConformanceCase.allCases) func conformance(_ check: ConformanceCase) throws { try ConformanceSuite<MyStore>().run(check) }`
public enum ConformanceCase: String, CaseIterable, Sendable, CustomStringConvertible {
    case putGetDelete
    case emptyValueIsNotMissing
    case binaryKeysOrderUnsigned
    case scanBoundsAndLimits
    case batchesAreAtomicAndOrdered
    case cursorSeesConsistentSnapshot
    case persistsAcrossReopen
    case modelBasedRandomized
    case rejectsEmptyKey
    case rejectsOversizedKeyBeforeWriting
    case rejectsUseAfterClose
    case rejectsSecondOpen
    case rejectsForeignDirectory
    case countsUserBytes
    case zeroCopyGetLendsValue
    case laterWritesWin

    public var description: String { rawValue }
}

/// The generic conformance suite, run against any `KeyValueStore`.
public struct ConformanceSuite<Store: KeyValueStore> {
    /// Options used for every store the suite opens (the directory is filled in per check).
    public var baseOptions: StoreOptions
    /// Operations of the model-based test per seed, and the seeds.
    public var randomizedOperationsPerSeed: Int
    public var randomizedSeeds: [UInt64]

    public init(durability: Durability = .os, memoryBudget: Int = 8 << 20, settings: [String: String] = [:],
                randomizedOperationsPerSeed: Int = 25_000, randomizedSeeds: [UInt64] = [1, 2, 3, 4]) {
        self.baseOptions = StoreOptions(directory: "", durability: durability, memoryBudget: memoryBudget, settings: settings)
        self.randomizedOperationsPerSeed = randomizedOperationsPerSeed
        self.randomizedSeeds = randomizedSeeds
    }

    /// Runs one check in a fresh temporary directory, removed afterwards.
    public func run(_ check: ConformanceCase) throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-conformance-\(Store.engineName)")
        defer { try? FileSystem.removeTree(directory) }
        var options = baseOptions
        options.directory = directory + "/db"
        switch check {
        case .putGetDelete: try putGetDelete(options)
        case .emptyValueIsNotMissing: try emptyValueIsNotMissing(options)
        case .binaryKeysOrderUnsigned: try binaryKeysOrderUnsigned(options)
        case .scanBoundsAndLimits: try scanBoundsAndLimits(options)
        case .batchesAreAtomicAndOrdered: try batchesAreAtomicAndOrdered(options)
        case .cursorSeesConsistentSnapshot: try cursorSeesConsistentSnapshot(options)
        case .persistsAcrossReopen: try persistsAcrossReopen(options)
        case .modelBasedRandomized: try modelBasedRandomized(options)
        case .rejectsEmptyKey: try rejectsEmptyKey(options)
        case .rejectsOversizedKeyBeforeWriting: try rejectsOversizedKeyBeforeWriting(options)
        case .rejectsUseAfterClose: try rejectsUseAfterClose(options)
        case .rejectsSecondOpen: try rejectsSecondOpen(options)
        case .rejectsForeignDirectory: try rejectsForeignDirectory(options, scratch: directory)
        case .countsUserBytes: try countsUserBytes(options)
        case .zeroCopyGetLendsValue: try zeroCopyGetLendsValue(options)
        case .laterWritesWin: try laterWritesWin(options)
        }
    }

    // MARK: - Helpers

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure("\(Store.engineName): \(message())") }
    }

    func expectError(_ expected: (StoreError) -> Bool, _ what: String, _ body: () throws(StoreError) -> Void) throws {
        do {
            try body()
        } catch {
            try expect(expected(error), "\(what): expected a different error, got \(error)")
            return
        }
        throw ConformanceFailure("\(Store.engineName): \(what): expected an error, the call succeeded")
    }

    func withStore<T>(_ options: StoreOptions, _ body: (Store) throws -> T) throws -> T {
        let store = try Store.open(options)
        do {
            let result = try body(store)
            try store.close()
            return result
        } catch {
            try? store.close()
            throw error
        }
    }

    static func bytes(_ text: String) -> Bytes { Array(text.utf8) }

    // MARK: - Checks

    func putGetDelete(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let key = Self.bytes("alpha"), value = Self.bytes("one")
            try expect(try store.get(key) == nil, "get of a missing key returned a value")
            try store.put(key, value)
            try expect(try store.get(key) == value, "get after put did not return the value")
            try store.put(key, Self.bytes("two"))
            try expect(try store.get(key) == Self.bytes("two"), "overwrite did not replace the value")
            try store.delete(key)
            try expect(try store.get(key) == nil, "get after delete returned a value")
            try store.delete(Self.bytes("never-written"))
            let large = Bytes((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            if store.limits.maxValueSize >= large.count {
                try store.put(Self.bytes("large"), large)
                try expect(try store.get(Self.bytes("large")) == large, "a 100 kB value did not round-trip")
            }
        }
    }

    func emptyValueIsNotMissing(_ options: StoreOptions) throws {
        try withStore(options) { store in
            try store.put(Self.bytes("k"), [])
            let stored = try store.get(Self.bytes("k"))
            try expect(stored == [], "empty value read back as \(String(describing: stored))")
            try expect(try store.get(Self.bytes("missing")) == nil, "missing key read back as a value")
            let scanned = try store.scan(from: [])
            try expect(scanned == [KeyValuePair(key: Self.bytes("k"), value: [])], "scan did not return the empty value")
        }
    }

    func binaryKeysOrderUnsigned(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let keys: [Bytes] = [[0x00], [0x00, 0x00], [0x00, 0xFF], [0x01], [0x7F], [0x80], [0xFE, 0x00], [0xFF], [0xFF, 0x00], [0xFF, 0xFF, 0xFF]]
            for (index, key) in keys.reversed().enumerated() { try store.put(key, [UInt8(index), 0x00, 0xFF]) }
            for (index, key) in keys.reversed().enumerated() {
                try expect(try store.get(key) == [UInt8(index), 0x00, 0xFF], "binary key \(key) did not round-trip")
            }
            let scanned = try store.scan(from: []).map(\.key)
            try expect(scanned == keys, "scan order \(scanned) is not unsigned byte order \(keys)")
        }
    }

    func scanBoundsAndLimits(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let keys = (0..<200).map { Self.bytes(String(format3: $0)) }
            for key in keys { try store.put(key, key + [0x21]) }
            let middle = try store.scan(from: Self.bytes("050"), to: Self.bytes("060"))
            try expect(middle.map(\.key) == Array(keys[50..<60]), "scan [050, 060) returned \(middle.count) entries")
            try expect(middle.allSatisfy { $0.value == $0.key + [0x21] }, "scan returned wrong values")
            let limited = try store.scan(from: Self.bytes("1"), limit: 7)
            try expect(limited.map(\.key) == Array(keys[100..<107]), "scan from 1 limit 7 returned \(limited.map(\.key))")
            let between = try store.scan(from: Self.bytes("0505"), to: Self.bytes("052"))
            try expect(between.map(\.key) == Array(keys[51..<52]), "scan from a key between entries is wrong")
            let past = try store.scan(from: Self.bytes("300"))
            try expect(past.isEmpty, "scan past the last key returned entries")
            let empty = try store.scan(from: Self.bytes("060"), to: Self.bytes("050"))
            try expect(empty.isEmpty, "scan with end before start returned entries")
            let zero = try store.scan(from: [], limit: 0)
            try expect(zero.isEmpty, "scan with limit 0 returned entries")
            var visited: [Bytes] = []
            let count = try store.scan(from: Self.bytes("198"), limit: 10) { key, _ in visited.append(Bytes(key)) }
            try expect(count == 2 && visited == Array(keys[198...]), "zero-copy scan visited \(visited)")
        }
    }

    func batchesAreAtomicAndOrdered(_ options: StoreOptions) throws {
        try withStore(options) { store in
            try store.put(Self.bytes("gone"), Self.bytes("x"))
            var batch = WriteBatch()
            batch.put(Self.bytes("a"), Self.bytes("1"))
            batch.put(Self.bytes("b"), Self.bytes("2"))
            batch.delete(Self.bytes("gone"))
            batch.put(Self.bytes("a"), Self.bytes("3"))
            batch.delete(Self.bytes("b"))
            try store.write(batch)
            try expect(try store.get(Self.bytes("a")) == Self.bytes("3"), "later put in a batch did not win")
            try expect(try store.get(Self.bytes("b")) == nil, "delete after put in a batch did not win")
            try expect(try store.get(Self.bytes("gone")) == nil, "delete in a batch was not applied")
            var bad = WriteBatch()
            bad.put(Self.bytes("c"), Self.bytes("ok"))
            bad.put([], Self.bytes("empty key"))
            try expectError({ $0 == .emptyKey }, "batch with an empty key") { () throws(StoreError) in try store.write(bad) }
            try expect(try store.get(Self.bytes("c")) == nil, "a rejected batch was partly applied")
            try store.write(WriteBatch())
        }
    }

    func cursorSeesConsistentSnapshot(_ options: StoreOptions) throws {
        try withStore(options) { store in
            for index in 0..<100 { try store.put(Self.bytes(String(format3: index)), Self.bytes("v\(index)")) }
            let seen = try store.withCursor { (cursor: inout Store.Cursor) throws(StoreError) -> [KeyValuePair] in
                var entries: [KeyValuePair] = []
                try cursor.seekToFirst()
                var changed = false
                while cursor.isValid {
                    entries.append(KeyValuePair(key: cursor.key, value: cursor.value))
                    if !changed && entries.count == 10 {
                        changed = true
                        try store.put(Self.bytes("050"), Self.bytes("changed"))
                        try store.delete(Self.bytes("060"))
                        try store.put(Self.bytes("0505"), Self.bytes("inserted"))
                    }
                    try cursor.next()
                }
                return entries
            }
            let expected = (0..<100).map { KeyValuePair(key: Self.bytes(String(format3: $0)), value: Self.bytes("v\($0)")) }
            try expect(seen == expected, "a cursor saw writes made after it started (\(seen.count) entries)")
            try expect(try store.get(Self.bytes("050")) == Self.bytes("changed"), "write during a cursor was lost")
            try expect(try store.get(Self.bytes("060")) == nil, "delete during a cursor was lost")
            let reseek = try store.withCursor { (cursor: inout Store.Cursor) throws(StoreError) -> Bytes? in
                try cursor.seek(to: Self.bytes("0500"))
                return cursor.isValid ? cursor.key : nil
            }
            try expect(reseek == Self.bytes("0505"), "a new cursor did not see the earlier writes")
        }
    }

    func persistsAcrossReopen(_ options: StoreOptions) throws {
        var random = SplitMix64(seed: 99)
        var model: [Bytes: Bytes] = [:]
        for round in 0..<3 {
            try withStore(options) { store in
                for (key, value) in model {
                    try expect(try store.get(key) == value, "round \(round): key \(key) lost or changed across reopen")
                }
                let scanned = try store.scan(from: [])
                try expect(scanned.count == model.count, "round \(round): \(scanned.count) entries after reopen, expected \(model.count)")
                for _ in 0..<2_000 {
                    let key = random.key(space: 500)
                    if random.next() % 4 == 0 {
                        try store.delete(key)
                        model[key] = nil
                    } else {
                        let value = random.bytes(maxLength: 300)
                        try store.put(key, value)
                        model[key] = value
                    }
                }
            }
        }
        var reopenOptions = options
        reopenOptions.createIfMissing = false
        try withStore(reopenOptions) { store in
            try expect(try store.scan(from: []).count == model.count, "reopen without createIfMissing lost entries")
        }
    }

    func modelBasedRandomized(_ options: StoreOptions) throws {
        for seed in randomizedSeeds {
            var seedOptions = options
            seedOptions.directory = options.directory + "-seed\(seed)"
            defer { try? FileSystem.removeTree(seedOptions.directory) }
            try withStore(seedOptions) { store in
                var model = SortedModel()
                var random = SplitMix64(seed: seed)
                for step in 0..<randomizedOperationsPerSeed {
                    let context = "seed \(seed), operation \(step) (rerun: ConformanceSuite(randomizedSeeds: [\(seed)]))"
                    let roll = random.next() % 100
                    switch roll {
                    case 0..<45:
                        let key = random.key(space: 2_000), value = random.bytes(maxLength: 64)
                        try store.put(key, value)
                        model.put(key, value)
                    case 45..<60:
                        let key = random.key(space: 2_000)
                        try store.delete(key)
                        model.delete(key)
                    case 60..<90:
                        let key = random.key(space: 2_000)
                        let got = try store.get(key)
                        try expect(got == model.get(key), "\(context): get \(key) returned \(String(describing: got)), model has \(String(describing: model.get(key)))")
                    case 90..<96:
                        let start = random.key(space: 2_000)
                        let end: Bytes? = random.next() % 2 == 0 ? random.key(space: 2_000) : nil
                        let limit = Int(random.next() % 50)
                        let got = try store.scan(from: start, to: end, limit: limit)
                        let expected = model.scan(from: start, to: end, limit: limit)
                        try expect(got == expected, "\(context): scan from \(start) to \(String(describing: end)) limit \(limit) returned \(got.count) entries, model \(expected.count)")
                    default:
                        var batch = WriteBatch()
                        for _ in 0..<(1 + random.next() % 8) {
                            let key = random.key(space: 2_000)
                            if random.next() % 3 == 0 { batch.delete(key) } else { batch.put(key, random.bytes(maxLength: 32)) }
                        }
                        try store.write(batch)
                        for operation in batch.operations {
                            switch operation {
                            case .put(let key, let value): model.put(key, value)
                            case .delete(let key): model.delete(key)
                            }
                        }
                    }
                }
                let all = try store.scan(from: [])
                try expect(all == model.scan(from: [], to: nil, limit: .max), "seed \(seed): final full scan differs from the model")
            }
        }
    }

    func rejectsEmptyKey(_ options: StoreOptions) throws {
        try withStore(options) { store in
            try expectError({ $0 == .emptyKey }, "put with an empty key") { () throws(StoreError) in try store.put([], [1]) }
            try expectError({ $0 == .emptyKey }, "get with an empty key") { () throws(StoreError) in _ = try store.get([]) }
            try expectError({ $0 == .emptyKey }, "delete with an empty key") { () throws(StoreError) in try store.delete([]) }
            try expect(try store.scan(from: []).isEmpty, "a rejected empty-key put wrote something")
        }
    }

    func rejectsOversizedKeyBeforeWriting(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let limit = store.limits.maxKeySize
            let maximal = Bytes(repeating: 0x41, count: limit)
            if limit <= 1 << 16 {
                try store.put(maximal, [1])
                try expect(try store.get(maximal) == [1], "a key of exactly the limit (\(limit) bytes) did not round-trip")
            }
            let oversized = Bytes(repeating: 0x42, count: limit + 1)
            try expectError({ if case .keyTooLarge(limit + 1, limit) = $0 { return true } else { return false } }, "put with a key over the limit") { () throws(StoreError) in
                try store.put(oversized, [2])
            }
            let stored = try store.scan(from: [])
            try expect(stored.allSatisfy { $0.key != oversized && $0.key.count <= limit }, "an oversized key was written")
        }
    }

    func rejectsUseAfterClose(_ options: StoreOptions) throws {
        let store = try Store.open(options)
        try store.put([1], [1])
        try store.close()
        try store.close()
        try expectError({ $0 == .closed }, "put after close") { () throws(StoreError) in try store.put([1], [2]) }
        try expectError({ $0 == .closed }, "get after close") { () throws(StoreError) in _ = try store.get([1]) }
        try expectError({ $0 == .closed }, "cursor after close") { () throws(StoreError) in _ = try store.scan(from: []) }
        try withStore(options) { reopened in
            try expect(try reopened.get([1]) == [1], "a write after close changed the data")
        }
    }

    func rejectsSecondOpen(_ options: StoreOptions) throws {
        try withStore(options) { store in
            try store.put([7], [7])
            try expectError({ if case .alreadyOpen = $0 { return true } else { return false } }, "second open of an open directory") { () throws(StoreError) in
                let second = try Store.open(options)
                try? second.close()
            }
            try expect(try store.get([7]) == [7], "a refused second open disturbed the first store")
        }
        try withStore(options) { store in
            try expect(try store.get([7]) == [7], "data lost after a refused second open")
        }
    }

    func rejectsForeignDirectory(_ options: StoreOptions, scratch: String) throws {
        let foreign = scratch + "/foreign"
        try FileSystem.createDirectory(foreign)
        var random = SplitMix64(seed: 7)
        let file = try StorageFile(path: foreign + "/notes.txt", mode: .createNew)
        try file.write(at: 0, random.bytes(maxLength: 4000) + Self.bytes("not a database"))
        var foreignOptions = options
        foreignOptions.directory = foreign
        try expectError({ if case .notADatabase = $0 { return true } else { return false } }, "open of a directory of unrelated files") { () throws(StoreError) in
            let store = try Store.open(foreignOptions)
            try? store.close()
        }
        let names = try FileSystem.list(foreign).filter { $0 != DirectoryLock.fileName }
        try expect(names == ["notes.txt"], "opening a foreign directory changed its files: \(names)")
        let plainFile = scratch + "/plain-file"
        _ = try StorageFile(path: plainFile, mode: .createNew)
        foreignOptions.directory = plainFile
        try expectError({ if case .notADatabase = $0 { return true } else { return false } }, "open of a regular file") { () throws(StoreError) in
            let store = try Store.open(foreignOptions)
            try? store.close()
        }
        var missing = options
        missing.directory = scratch + "/does-not-exist"
        missing.createIfMissing = false
        try expectError({ if case .notFound = $0 { return true } else { return false } }, "open of a missing directory without createIfMissing") { () throws(StoreError) in
            let store = try Store.open(missing)
            try? store.close()
        }
    }

    func countsUserBytes(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let before = store.statistics().userBytesWritten
            try store.put(Self.bytes("key1"), Bytes(repeating: 1, count: 96))
            try store.delete(Self.bytes("key2"))
            var batch = WriteBatch()
            batch.put(Self.bytes("k3"), Self.bytes("abc"))
            try store.write(batch)
            let after = store.statistics().userBytesWritten
            try expect(after - before == 100 + 4 + 5, "user bytes grew by \(after - before), expected 109")
        }
    }

    func zeroCopyGetLendsValue(_ options: StoreOptions) throws {
        try withStore(options) { store in
            try store.put(Self.bytes("z"), [9, 8, 7])
            let sum = try store.withValue(forKey: Self.bytes("z")) { buffer in buffer.reduce(0) { $0 + Int($1) } }
            try expect(sum == 24, "zero-copy get lent the wrong bytes")
            let missing = try store.withValue(forKey: Self.bytes("none")) { _ in 1 }
            try expect(missing == nil, "zero-copy get of a missing key called its body")
        }
    }

    /// A write is never undone by a later write of another key: not after a large value (an
    /// adapter may write those through another path than small ones), nor after a write from
    /// another thread (an adapter that reuses a write batch per thread and forgot to clear it
    /// would replay the thread's earlier writes).
    func laterWritesWin(_ options: StoreOptions) throws {
        try withStore(options) { store in
            let key = Self.bytes("k")
            let large = Bytes(repeating: 0xA5, count: min(256 << 10, store.limits.maxValueSize))
            try store.put(key, Self.bytes("small"))
            try store.put(key, large)
            try store.put(Self.bytes("other"), Self.bytes("1"))
            try expect(try store.get(key) == large, "a small write to another key brought back an earlier value after a large one")
            var batch = WriteBatch()
            batch.put(key, Self.bytes("batched"))
            try store.write(batch)
            let value = Self.bytes("from another thread")
            OSThread.start { try? store.put(key, value) }.join()
            try store.delete(Self.bytes("other"))
            try store.put(Self.bytes("third"), Self.bytes("3"))
            let last = try store.get(key)
            try expect(last == value, "writes of other keys brought back an earlier value after another thread's write: \(String(decoding: last ?? [], as: UTF8.self))")
        }
    }
}

/// The reference model: a sorted array of entries.
struct SortedModel {
    private var entries: [KeyValuePair] = []

    private func index(of key: Bytes) -> (Int, Bool) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let order = ByteOrder.compare(entries[mid].key, key)
            if order == 0 { return (mid, true) }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    mutating func put(_ key: Bytes, _ value: Bytes) {
        let (position, found) = index(of: key)
        if found { entries[position].value = value } else { entries.insert(KeyValuePair(key: key, value: value), at: position) }
    }

    mutating func delete(_ key: Bytes) {
        let (position, found) = index(of: key)
        if found { entries.remove(at: position) }
    }

    func get(_ key: Bytes) -> Bytes? {
        let (position, found) = index(of: key)
        return found ? entries[position].value : nil
    }

    func scan(from start: Bytes, to end: Bytes?, limit: Int) -> [KeyValuePair] {
        var result: [KeyValuePair] = []
        var position = index(of: start).0
        while position < entries.count && result.count < limit {
            if let end, ByteOrder.compare(entries[position].key, end) >= 0 { break }
            result.append(entries[position])
            position += 1
        }
        return result
    }
}

/// The suite's random keys and values, from KVStore's deterministic generator.
extension SplitMix64 {

    /// A key from a space of `space` distinct binary keys of 1 to 12 bytes, some with 0x00 and 0xFF.
    mutating func key(space: UInt64) -> Bytes {
        let id = next() % space
        var mixer = SplitMix64(seed: id &* 7919)
        let length = 1 + Int(mixer.next() % 12)
        return (0..<length).map { position in
            let raw = mixer.next()
            switch raw % 8 {
            case 0: return 0x00
            case 1: return 0xFF
            default: return UInt8(truncatingIfNeeded: raw >> 8) ^ UInt8(truncatingIfNeeded: position)
            }
        }
    }

    mutating func bytes(maxLength: Int) -> Bytes {
        let length = Int(next() % UInt64(maxLength + 1))
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

extension String {
    /// A three-digit, zero-padded decimal.
    init(format3 value: Int) {
        let digits = String(value)
        let padding = String(repeating: "0", count: Swift.max(0, 3 - digits.count))
        self = padding + digits
    }
}
