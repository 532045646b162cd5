import KVStore
import StorageIO

/// Builds a data block: entries with prefix-compressed keys and a restart
/// point every `restartInterval` entries, where the full key is stored.
///
/// Entry: `shared varint | unshared varint | valueTag varint | key[shared...] | value`
/// with `valueTag = valueLength << 1 | isTombstone`. Trailer: restart offsets
/// (u32 each) then the restart count (u32). The table writer appends a CRC-32C.
/// One thread at a time builds a block, so its state is `@exclusivity(unchecked)`.
final class BlockBuilder {
    static let restartInterval = 16

    private let buffer = GrowableBytes(capacity: 8192)
    @exclusivity(unchecked) private var restarts: [UInt32] = []
    @exclusivity(unchecked) private var sinceRestart = 0
    private let last = GrowableBytes()
    @exclusivity(unchecked) private(set) var entries = 0

    var isEmpty: Bool { entries == 0 }
    /// Size of the block if it were finished now.
    var estimatedSize: Int { buffer.count + (restarts.count + 1) * 4 }
    /// The last key added.
    var lastKey: UnsafeRawBufferPointer { last.bytes }

    func add(key: UnsafeRawBufferPointer, kind: EntryKind, value: UnsafeRawBufferPointer) {
        var shared = 0
        if sinceRestart == BlockBuilder.restartInterval || entries == 0 {
            restarts.append(UInt32(buffer.count))
            sinceRestart = 0
        } else {
            let previous = last.bytes
            let limit = min(previous.count, key.count)
            while shared < limit && previous[shared] == key[shared] { shared += 1 }
        }
        buffer.appendVarint(UInt64(shared))
        buffer.appendVarint(UInt64(key.count - shared))
        buffer.appendVarint(UInt64(value.count) << 1 | (kind == .tombstone ? 1 : 0))
        buffer.append(UnsafeRawBufferPointer(rebasing: key[shared...]))
        buffer.append(value)
        last.set(key)
        sinceRestart += 1
        entries += 1
    }

    /// Appends the trailer and lends the finished block payload to `body`; `reset` starts the next block.
    func finish<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        for restart in restarts { buffer.appendFixed32(restart) }
        buffer.appendFixed32(UInt32(restarts.count))
        return body(buffer.bytes)
    }

    func reset() {
        buffer.removeAll()
        restarts.removeAll(keepingCapacity: true)
        sinceRestart = 0
        last.removeAll()
        entries = 0
    }
}

/// One verified, immutable data block, shared through the block cache.
final class Block: Sendable {
    let storage: OwnedBuffer
    let restartCount: Int
    /// Offset of the restart array (= end of the entries).
    let restartBase: Int

    /// Wraps `storage` (payload + 4-byte CRC), verifying the checksum and trailer.
    init(storage: OwnedBuffer, path: String, offset: Int) throws(StoreError) {
        let all = storage.bytes
        guard all.count >= 8 else { throw .corruption(path: path, reason: "block at offset \(offset) is shorter than its trailer") }
        let payload = UnsafeRawBufferPointer(rebasing: all[..<(all.count - 4)])
        let stored = UInt32(littleEndian: all.loadUnaligned(fromByteOffset: all.count - 4, as: UInt32.self))
        guard CRC32C.checksum(payload) == stored else {
            throw .corruption(path: path, reason: "block checksum mismatch at offset \(offset)")
        }
        let count = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: payload.count - 4, as: UInt32.self)))
        guard count >= 1, (count + 1) * 4 <= payload.count else {
            throw .corruption(path: path, reason: "block at offset \(offset) has a bad restart count")
        }
        self.storage = storage
        self.restartCount = count
        self.restartBase = payload.count - 4 - count * 4
    }

    var bytes: UnsafeRawBufferPointer { storage.bytes }

    @inline(__always)
    func restartOffset(_ index: Int) -> Int {
        Int(UInt32(littleEndian: storage.bytes.loadUnaligned(fromByteOffset: restartBase + index * 4, as: UInt32.self)))
    }

    /// Decodes the entry header at `offset`: shared, unshared, value tag and where the key suffix starts.
    @inline(__always)
    func header(at offset: Int) -> (shared: Int, unshared: Int, valueLength: Int, kind: EntryKind, suffix: Int)? {
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: storage.bytes[..<restartBase]), offset: offset)
        let shared = reader.length()
        let unshared = reader.length()
        let tag = reader.varint()
        let valueLength = Int(truncatingIfNeeded: tag >> 1)
        guard !reader.failed, reader.offset + unshared + valueLength <= restartBase, valueLength >= 0 else { return nil }
        return (shared, unshared, valueLength, tag & 1 == 1 ? .tombstone : .value, reader.offset)
    }

    /// The full key stored at a restart point (restart entries share nothing).
    @inline(__always)
    private func restartKey(_ index: Int) -> UnsafeRawBufferPointer? {
        guard let h = header(at: restartOffset(index)), h.shared == 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: storage.bytes[h.suffix..<(h.suffix + h.unshared)])
    }

    /// Index of the last restart point whose key is below `target` (0 when none is).
    @inline(__always)
    func restartBelow(_ target: UnsafeRawBufferPointer) throws(StoreError) -> Int {
        var low = 0
        var high = restartCount - 1
        while low < high {
            let middle = (low + high + 1) >> 1
            guard let key = restartKey(middle) else { throw .corruption(path: "block", reason: "bad restart entry") }
            if compareKeys(key, target) < 0 { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Finds `target` exactly without rebuilding keys: tracks how much of the
    /// previous key matched the target, so only differing suffixes are compared.
    /// Returns the entry's kind and value range, or nil when absent.
    func find(_ target: UnsafeRawBufferPointer) throws(StoreError) -> (kind: EntryKind, value: Range<Int>)? {
        let start = try restartBelow(target)
        var offset = restartOffset(start)
        var matched = 0
        let data = storage.bytes
        let targetCount = target.count
        while offset < restartBase {
            guard let h = header(at: offset) else { throw .corruption(path: "block", reason: "bad entry at offset \(offset)") }
            let valueStart = h.suffix + h.unshared
            if h.shared == 0 || h.shared == matched {
                // Compare key[shared...] with target[shared...].
                var m = 0
                let suffixCount = h.unshared
                let rest = targetCount - h.shared
                if rest < 0 { return nil }
                let limit = min(suffixCount, rest)
                while m < limit && data[h.suffix + m] == target[h.shared + m] { m += 1 }
                if m < limit {
                    if data[h.suffix + m] > target[h.shared + m] { return nil }
                    matched = h.shared + m
                } else if suffixCount == rest {
                    return (h.kind, valueStart..<(valueStart + h.valueLength))
                } else if suffixCount < rest {
                    matched = h.shared + m
                } else {
                    return nil
                }
            } else if h.shared < matched {
                return nil
            }
            offset = valueStart + h.valueLength
        }
        return nil
    }
}

/// A growable byte buffer with a stable address between changes, owned by one
/// user at a time (an iterator's current key, a block being built), so its state
/// is `@exclusivity(unchecked)`. Appends copy straight into its memory.
final class GrowableBytes {
    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// The bytes, valid until the next change.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    @inline(__always)
    private func reserve(_ needed: Int) {
        if needed > capacity { grow(needed) }
    }

    private func grow(_ needed: Int) {
        let grown = max(needed, capacity * 2)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        fresh.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = fresh
        capacity = grown
    }

    /// Keeps the first `shared` bytes and appends `suffix`.
    @inline(__always)
    func replace(keeping shared: Int, with suffix: UnsafeRawBufferPointer) {
        reserve(shared + suffix.count)
        if suffix.count > 0 { (storage + shared).copyMemory(from: suffix.baseAddress!, byteCount: suffix.count) }
        count = shared + suffix.count
    }

    func set(_ bytes: UnsafeRawBufferPointer) { replace(keeping: 0, with: bytes) }

    func removeAll() { count = 0 }

    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) { replace(keeping: count, with: bytes) }

    /// Appends `value` as a LEB128 varint.
    @inline(__always)
    func appendVarint(_ value: UInt64) {
        reserve(count + 10)
        Varint.encode(value) { byte in
            storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
            count += 1
        }
    }

    /// Appends `value` little-endian.
    func appendFixed32(_ value: UInt32) {
        reserve(count + 4)
        storage.storeBytes(of: value.littleEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }
}

/// Walks the entries of one block in order, rebuilding prefix-compressed keys.
struct BlockIterator {
    let block: Block
    let key = GrowableBytes()
    private(set) var valueRange: Range<Int> = 0..<0
    private(set) var kind: EntryKind = .value
    private var nextOffset = 0
    private(set) var isValid = false

    init(block: Block) { self.block = block }

    var value: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: block.bytes[valueRange]) }

    /// Decodes the entry at `nextOffset`, or becomes invalid at the end.
    private mutating func step() throws(StoreError) {
        guard nextOffset < block.restartBase else { isValid = false; return }
        guard let h = block.header(at: nextOffset), h.shared <= key.count else {
            throw .corruption(path: "block", reason: "bad entry at offset \(nextOffset)")
        }
        key.replace(keeping: h.shared, with: UnsafeRawBufferPointer(rebasing: block.bytes[h.suffix..<(h.suffix + h.unshared)]))
        let valueStart = h.suffix + h.unshared
        valueRange = valueStart..<(valueStart + h.valueLength)
        kind = h.kind
        nextOffset = valueRange.upperBound
        isValid = true
    }

    mutating func seekToFirst() throws(StoreError) {
        nextOffset = block.restartOffset(0)
        key.replace(keeping: 0, with: UnsafeRawBufferPointer(start: nil, count: 0))
        try step()
    }

    mutating func next() throws(StoreError) { try step() }

    /// Positions at the first entry whose key is at or after `target`.
    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StoreError) {
        let restart = try block.restartBelow(target)
        nextOffset = block.restartOffset(restart)
        key.replace(keeping: 0, with: UnsafeRawBufferPointer(start: nil, count: 0))
        try step()
        while isValid && compareKeys(key.bytes, target) < 0 { try step() }
    }
}
