import KVStore
import Synchronization

/// What an entry records: a value or a deletion (tombstone).
enum EntryKind: UInt8, Sendable {
    case value = 0
    case tombstone = 1
}

/// The in-memory write buffer: a skip list in an arena, ordered by key
/// ascending, then sequence number descending (newest version first).
///
/// One writer at a time (the store's write path, under its monitor) inserts;
/// any number of readers traverse concurrently without locks. A node is fully
/// written before it is linked, and links are published with release stores
/// and read with acquire loads, so a reader sees either the old or the new list.
///
/// `@unchecked Sendable`: mutable state (`arena`, `random`, `usage`) is touched
/// only by the single writer; readers only follow published links.
final class MemTable: @unchecked Sendable {
    static let maxHeight = 12

    // Node layout (8-byte aligned): seq u64 | keyLength u32 | valueLength u32 |
    // kind u8 | height u8 | pad to 24 | next[height] (atomic Int) | key | value
    private static let nextOffset = 24

    private var chunks: [UnsafeMutableRawPointer] = []
    private var chunkCursor: UnsafeMutableRawPointer?
    private var chunkRemaining = 0
    private static let chunkSize = 256 << 10
    private var random: UInt64 = 0x853C_49E6_748F_EA9B
    private let head: UnsafeMutableRawPointer
    private let currentHeight = Atomic<Int>(1)
    private let usage = Atomic<Int>(0)
    private let entryCount = Atomic<Int>(0)
    /// Number of the write-ahead log holding this memtable's writes (0 without a log).
    let logNumber: UInt64

    init(logNumber: UInt64) {
        self.logNumber = logNumber
        let size = Self.nextOffset + Self.maxHeight * 8
        head = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        head.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        head.storeBytes(of: UInt8(Self.maxHeight), toByteOffset: 17, as: UInt8.self)
        for level in 0..<Self.maxHeight { Self.link(head, level).initialize(to: Atomic<Int>(0)) }
    }

    deinit {
        head.deallocate()
        for chunk in chunks { chunk.deallocate() }
    }

    /// Bytes of nodes allocated in the arena (keys, values, links, headers).
    var approximateBytes: Int { usage.load(ordering: .relaxed) }
    /// Entries inserted (every version counts).
    var count: Int { entryCount.load(ordering: .relaxed) }
    var isEmpty: Bool { count == 0 }

    // MARK: node accessors

    @inline(__always)
    static func link(_ node: UnsafeMutableRawPointer, _ level: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (node + nextOffset + level * 8).assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inline(__always)
    static func next(_ node: UnsafeRawPointer, _ level: Int) -> UnsafeMutableRawPointer? {
        let raw = link(UnsafeMutableRawPointer(mutating: node), level).pointee.load(ordering: .acquiring)
        return UnsafeMutableRawPointer(bitPattern: raw)
    }

    @inline(__always)
    static func sequence(_ node: UnsafeRawPointer) -> UInt64 { node.load(as: UInt64.self) }

    @inline(__always)
    static func kind(_ node: UnsafeRawPointer) -> EntryKind {
        node.load(fromByteOffset: 16, as: UInt8.self) == 0 ? .value : .tombstone
    }

    @inline(__always)
    static func height(_ node: UnsafeRawPointer) -> Int { Int(node.load(fromByteOffset: 17, as: UInt8.self)) }

    @inline(__always)
    static func key(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let length = Int(node.load(fromByteOffset: 8, as: UInt32.self))
        return UnsafeRawBufferPointer(start: node + nextOffset + height(node) * 8, count: length)
    }

    @inline(__always)
    static func value(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let keyLength = Int(node.load(fromByteOffset: 8, as: UInt32.self))
        let length = Int(node.load(fromByteOffset: 12, as: UInt32.self))
        return UnsafeRawBufferPointer(start: node + nextOffset + height(node) * 8 + keyLength, count: length)
    }

    /// Orders (key, seq) with newer sequence numbers first for equal keys.
    @inline(__always)
    private static func compare(_ node: UnsafeRawPointer, _ key: UnsafeRawBufferPointer, _ seq: UInt64) -> Int {
        let c = compareKeys(Self.key(node), key)
        if c != 0 { return c }
        let s = sequence(node)
        return s > seq ? -1 : (s < seq ? 1 : 0)
    }

    // MARK: writing (single writer)

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let rounded = (size + 7) & ~7
        if rounded > chunkRemaining {
            let chunkBytes = max(Self.chunkSize, rounded)
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes, alignment: 8)
            chunks.append(chunk)
            if rounded > Self.chunkSize {
                usage.add(rounded, ordering: .relaxed)
                return chunk
            }
            chunkCursor = chunk
            chunkRemaining = chunkBytes
        }
        let result = chunkCursor!
        chunkCursor = result + rounded
        chunkRemaining -= rounded
        usage.add(rounded, ordering: .relaxed)
        return result
    }

    private func randomHeight() -> Int {
        var height = 1
        while height < Self.maxHeight {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            if random & 3 != 0 { break }
            height += 1
        }
        return height
    }

    /// Inserts one version. Only the store's single writer may call this.
    func insert(sequence: UInt64, kind: EntryKind, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let height = randomHeight()
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: Self.maxHeight) { prev in
            var node = head
            var level = currentHeight.load(ordering: .relaxed) - 1
            if height > level + 1 {
                for l in (level + 1)..<height { prev[l] = head }
            }
            while level >= 0 {
                while let next = Self.next(node, level), Self.compare(next, key, sequence) < 0 {
                    node = next
                }
                prev[level] = node
                level -= 1
            }
            let size = Self.nextOffset + height * 8 + key.count + value.count
            let fresh = allocate(size)
            fresh.storeBytes(of: sequence, as: UInt64.self)
            fresh.storeBytes(of: UInt32(key.count), toByteOffset: 8, as: UInt32.self)
            fresh.storeBytes(of: UInt32(value.count), toByteOffset: 12, as: UInt32.self)
            fresh.storeBytes(of: kind.rawValue, toByteOffset: 16, as: UInt8.self)
            fresh.storeBytes(of: UInt8(height), toByteOffset: 17, as: UInt8.self)
            let payload = fresh + Self.nextOffset + height * 8
            if key.count > 0 { payload.copyMemory(from: key.baseAddress!, byteCount: key.count) }
            if value.count > 0 { (payload + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            for l in 0..<height {
                let successor = Self.link(prev[l], l).pointee.load(ordering: .relaxed)
                Self.link(fresh, l).initialize(to: Atomic<Int>(successor))
            }
            for l in 0..<height {
                Self.link(prev[l], l).pointee.store(Int(bitPattern: fresh), ordering: .releasing)
            }
            if height > currentHeight.load(ordering: .relaxed) {
                currentHeight.store(height, ordering: .relaxed)
            }
        }
        entryCount.add(1, ordering: .relaxed)
    }

    // MARK: reading (any thread)

    /// The first node ordered at or after (key, seq), or nil.
    @inline(__always)
    func seek(_ key: UnsafeRawBufferPointer, sequence: UInt64) -> UnsafeRawPointer? {
        var node = UnsafeRawPointer(head)
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            let next = Self.next(node, level)
            if let next, Self.compare(next, key, sequence) < 0 {
                node = UnsafeRawPointer(next)
            } else if level == 0 {
                return next.map { UnsafeRawPointer($0) }
            } else {
                level -= 1
            }
        }
    }

    /// The first node in the list, or nil.
    func first() -> UnsafeRawPointer? { Self.next(head, 0).map { UnsafeRawPointer($0) } }

    /// The newest version of `key` with sequence number at most `sequence`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, sequence: UInt64) -> UnsafeRawPointer? {
        guard let node = seek(key, sequence: sequence) else { return nil }
        return compareKeys(Self.key(node), key) == 0 ? node : nil
    }
}

/// Iterates a memtable as of a sequence number, yielding the newest visible
/// version of each key (tombstones included).
struct MemTableIterator {
    let table: MemTable
    let snapshot: UInt64
    private(set) var node: UnsafeRawPointer?

    init(table: MemTable, snapshot: UInt64) {
        self.table = table
        self.snapshot = snapshot
    }

    var isValid: Bool { node != nil }
    var key: UnsafeRawBufferPointer { MemTable.key(node!) }
    var value: UnsafeRawBufferPointer { MemTable.value(node!) }
    var kind: EntryKind { MemTable.kind(node!) }

    /// Moves forward from `candidate` to the first visible version.
    private mutating func settle(_ candidate: UnsafeRawPointer?) {
        var current = candidate
        while let c = current, MemTable.sequence(c) > snapshot {
            current = MemTable.next(c, 0).map { UnsafeRawPointer($0) }
        }
        node = current
    }

    mutating func seekToFirst() { settle(table.first()) }

    mutating func seek(_ target: UnsafeRawBufferPointer) { settle(table.seek(target, sequence: snapshot)) }

    /// Moves to the next key, skipping older versions of the current one.
    mutating func next() {
        guard let current = node else { return }
        let currentKey = MemTable.key(current)
        var candidate = MemTable.next(current, 0).map { UnsafeRawPointer($0) }
        while let c = candidate, MemTable.sequence(c) > snapshot || compareKeys(MemTable.key(c), currentKey) == 0 {
            candidate = MemTable.next(c, 0).map { UnsafeRawPointer($0) }
        }
        node = candidate
    }
}
