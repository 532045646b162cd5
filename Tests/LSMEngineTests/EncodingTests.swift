import KVStore
import StorageIO
import Testing
@testable import LSMEngine

/// Random bytes for reproducible tests, from KVStore's deterministic generator.
extension SplitMix64 {
    mutating func bytes(_ count: Int) -> Bytes { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Sorted distinct keys with shared prefixes of varying length (exercises prefix compression).
func sortedKeys(_ count: Int, seed: UInt64) -> [Bytes] {
    var random = SplitMix64(seed: seed)
    var set = Set<Bytes>()
    while set.count < count {
        let prefix = Bytes("key-\(random.next() % 50)-".utf8)
        set.insert(prefix + random.bytes(Int(random.next() % 12)))
    }
    return set.sorted { ByteOrder.less($0, $1) }
}

@Test func blockRoundTripFindsEveryKeyAndIterates() throws {
    let keys = sortedKeys(500, seed: 1)
    let builder = BlockBuilder()
    for (index, key) in keys.enumerated() {
        let value = Bytes("value-\(index)".utf8)
        let kind: EntryKind = index % 7 == 0 ? .tombstone : .value
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in builder.add(key: k, kind: kind, value: kind == .value ? v : UnsafeRawBufferPointer(start: nil, count: 0)) } }
    }
    var payload = builder.finish { Bytes($0) }
    payload.appendFixed32(payload.withUnsafeBytes { CRC32C.checksum($0) })
    let block = try payload.withBorrowedBytes { (raw) throws(StoreError) in try Block(storage: OwnedBuffer(copying: raw), path: "test", offset: 0) }

    for (index, key) in keys.enumerated() {
        let hit = try key.withBorrowedBytes { (k) throws(StoreError) in try block.find(k) }
        let found = try #require(hit)
        #expect(found.kind == (index % 7 == 0 ? .tombstone : .value))
        if found.kind == .value { #expect(Bytes(block.bytes[found.value]) == Bytes("value-\(index)".utf8)) }
    }
    // Keys between and around the stored ones are absent.
    for probe in [Bytes("a".utf8), Bytes("key-".utf8), Bytes("zzz".utf8)] + keys.map({ $0 + [0] }) {
        let hit = try probe.withBorrowedBytes { (k) throws(StoreError) in try block.find(k) }
        #expect(hit == nil)
    }

    var iterator = BlockIterator(block: block)
    try iterator.seekToFirst()
    var seen: [Bytes] = []
    while iterator.isValid {
        seen.append(Bytes(iterator.key.bytes))
        try iterator.next()
    }
    #expect(seen == keys)
    let target = keys[123] + [0]
    try target.withBorrowedBytes { (t) throws(StoreError) in try iterator.seek(t) }
    #expect(iterator.isValid && Bytes(iterator.key.bytes) == keys[124])
}

@Test func blockChecksumDetectsFlippedByte() throws {
    let builder = BlockBuilder()
    Bytes("k".utf8).withUnsafeBytes { k in Bytes("v".utf8).withUnsafeBytes { v in builder.add(key: k, kind: .value, value: v) } }
    var payload = builder.finish { Bytes($0) }
    payload.appendFixed32(payload.withUnsafeBytes { CRC32C.checksum($0) })
    payload[0] ^= 0x40
    #expect(throws: StoreError.self) {
        try payload.withBorrowedBytes { (raw) throws(StoreError) in _ = try Block(storage: OwnedBuffer(copying: raw), path: "test", offset: 0) }
    }
}

@Test func logRecordsRoundTripAndTornTailIsDropped() throws {
    var log: Bytes = []
    for sequence in 0..<20 {
        FramedRecords.frame(type: LogBatch.recordType, into: &log) { out in
            out.appendFixed64(UInt64(sequence * 2 + 1))
            out.appendVarint(2)
            out.append(EntryKind.value.rawValue)
            out.appendLengthPrefixed(Bytes("k\(sequence)".utf8))
            out.appendLengthPrefixed(Bytes("v\(sequence)".utf8))
            out.append(EntryKind.tombstone.rawValue)
            out.appendLengthPrefixed(Bytes("d\(sequence)".utf8))
        }
    }
    func decodeAll(_ bytes: Bytes) throws(StoreError) -> [String] {
        try bytes.withBorrowedBytes { (raw) throws(StoreError) -> [String] in
            let parsed = try FramedRecords.scan(raw, types: 1...1, path: "log")
            var operations: [String] = []
            for record in parsed.records {
                _ = try LogBatch.decode(UnsafeRawBufferPointer(rebasing: raw[record.payload]), path: "log") { sequence, kind, key, value in
                    operations.append("\(sequence) \(kind) \(String(decoding: key, as: UTF8.self)) \(String(decoding: value, as: UTF8.self))")
                }
            }
            return operations
        }
    }
    let all = try decodeAll(log)
    #expect(all.count == 40)
    #expect(all[0] == "1 value k0 v0" && all[1] == "2 tombstone d0 ")
    // Cut inside the last record, or garbage/zeros after the end: the intact prefix survives.
    #expect(try decodeAll(Bytes(log.dropLast(3))).count == 38)
    #expect(try decodeAll(log + Bytes(repeating: 0, count: 100)).count == 40)
    var random = SplitMix64(seed: 9)
    #expect(try decodeAll(log + random.bytes(300)).count == 40)
    // A damaged record in the middle, with intact records after it, is corruption.
    var damaged = log
    damaged[log.count / 2] ^= 0xFF
    #expect(throws: StoreError.self) { try decodeAll(damaged) }
}

@Test func versionEditRoundTrip() throws {
    var edit = VersionEdit()
    edit.logNumber = 42
    edit.nextFileNumber = 99
    edit.added = [(0, 7, TableMeta(number: 7, size: 1234, entries: 10, smallest: [0, 1], largest: [0xFF])),
                  (3, 1 << 40, TableMeta(number: 8, size: 1 << 33, entries: 1, smallest: [5], largest: [5]))]
    edit.deleted = [(1, 3), (2, 4)]
    var bytes: Bytes = []
    edit.encode(into: &bytes)
    let decoded = try bytes.withBorrowedBytes { (raw) throws(StoreError) in try VersionEdit.decode(raw, path: "manifest") }
    #expect(decoded.logNumber == 42 && decoded.nextFileNumber == 99)
    #expect(decoded.added.map(\.level) == [0, 3] && decoded.added.map(\.meta) == edit.added.map(\.meta))
    #expect(decoded.added.map(\.run) == [7, 1 << 40])
    #expect(decoded.deleted.map(\.level) == [1, 2] && decoded.deleted.map(\.number) == [3, 4])
}

@Test func bloomFilterHasNoFalseNegativesAndNearDesignFalsePositives() throws {
    var random = SplitMix64(seed: 3)
    let keys = (0..<20_000).map { _ in random.bytes(16) }
    let filter = BloomFilter.build(hashes: keys.map { $0.withUnsafeBytes { KeyHash.hash($0) } }, bitsPerKey: 10)
    try filter.withBorrowedBytes { (raw) throws(StoreError) in
        for key in keys { #expect(BloomFilter.mayContain(raw, hash: key.withUnsafeBytes { KeyHash.hash($0) })) }
        var falsePositives = 0
        let probes = 100_000
        for index in 0..<probes {
            let absent = Bytes("absent-\(index)".utf8)
            if BloomFilter.mayContain(raw, hash: absent.withUnsafeBytes { KeyHash.hash($0) }) { falsePositives += 1 }
        }
        let rate = Double(falsePositives) / Double(probes)
        let design = BloomFilter.designFalsePositiveRate(bitsPerKey: 10)
        // A cache-line-blocked filter runs a little above the textbook rate (about 0.8% at 10 bits/key).
        #expect(rate > design * 0.5 && rate < design * 2, "false-positive rate \(rate), design \(design)")
    }
}

@Test func memTableKeepsNewestVersionAndSnapshotsOlder() {
    let table = MemTable(logNumber: 0)
    let key = Bytes("k".utf8)
    key.withUnsafeBytes { k in
        Bytes("one".utf8).withUnsafeBytes { v in table.insert(sequence: 1, kind: .value, key: k, value: v) }
        Bytes("two".utf8).withUnsafeBytes { v in table.insert(sequence: 2, kind: .value, key: k, value: v) }
        table.insert(sequence: 3, kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(table.find(k, sequence: 3).map { MemTable.kind($0) } == .tombstone)
        #expect(table.find(k, sequence: 2).map { Bytes(MemTable.value($0)) } == Bytes("two".utf8))
        #expect(table.find(k, sequence: 1).map { Bytes(MemTable.value($0)) } == Bytes("one".utf8))
        #expect(table.find(k, sequence: 0) == nil)
    }
}

@Test func mergingIteratorYieldsEachKeyOnceFromTheNewestSource() throws {
    // 20 sources holding overlapping subsets of keys: short keys (under the
    // 8-byte prefix the heap compares first), keys sharing their first 8 bytes,
    // and keys that are prefixes of others.
    var random = SplitMix64(seed: 7)
    var universe: [Bytes] = (0..<40).map { index in Bytes("k\(index)".utf8) }
    for _ in 0..<60 { universe.append(Bytes("same8by-".utf8) + random.bytes(Int(random.next() % 6))) }
    universe += [Bytes(), Bytes([0]), Bytes("k1".utf8) + [0], Bytes("same8by".utf8)]
    let sources = 20
    var newest: [Bytes: Int] = [:]
    var memories: [MemTableIterator] = []
    for source in 0..<sources {
        let table = MemTable(logNumber: 0)
        for key in universe where random.next() % 3 == 0 {
            let value = Bytes("s\(source)".utf8)
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in table.insert(sequence: 1, kind: .value, key: k, value: v) } }
            if newest[key] == nil { newest[key] = source }
        }
        memories.append(MemTableIterator(table: table, snapshot: .max))
    }
    let expected = newest.keys.sorted { ByteOrder.less($0, $1) }
    var iterator = MergingIterator(memories: memories, levels: [])
    try iterator.seekToFirst()
    var seen: [(key: Bytes, value: Bytes)] = []
    while iterator.isValid {
        seen.append((Bytes(iterator.key), Bytes(iterator.value)))
        try iterator.next()
    }
    #expect(seen.map(\.key) == expected)
    for entry in seen { #expect(entry.value == Bytes("s\(newest[entry.key]!)".utf8)) }

    let target = Bytes("same8by-".utf8)
    try target.withBorrowedBytes { (t) throws(StoreError) in try iterator.seek(t) }
    let firstAtOrAfter = expected.first { !ByteOrder.less($0, target) }
    #expect(iterator.isValid && Bytes(iterator.key) == firstAtOrAfter)
}
