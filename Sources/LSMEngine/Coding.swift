import KVStore

/// LEB128: seven bits a byte, low bits first, the top bit set on every byte but the last.
enum Varint {
    /// Hands the bytes of `value`'s encoding to `emit`, in order.
    @inline(__always)
    static func encode(_ value: UInt64, _ emit: (UInt8) -> Void) {
        var v = value
        while v >= 0x80 {
            emit(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        emit(UInt8(v))
    }
}

/// Little-endian fixed-width integers and LEB128 varints, appended to a byte array.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendFixed32(_ value: UInt32) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendFixed64(_ value: UInt64) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        Varint.encode(value) { append($0) }
    }

    @inline(__always)
    mutating func appendVarint(_ value: Int) { appendVarint(UInt64(value)) }

    /// Appends a varint length followed by the bytes.
    mutating func appendLengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        appendVarint(bytes.count)
        append(contentsOf: bytes)
    }

    mutating func appendLengthPrefixed(_ bytes: Bytes) {
        appendVarint(bytes.count)
        append(contentsOf: bytes)
    }
}

/// A bounds-checked reader over borrowed bytes. Every read that would run past
/// the end sets `failed` and returns zero, so a decoder checks once at the end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset: Int
    var failed = false

    init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    var remaining: Int { buffer.count - offset }
    var isAtEnd: Bool { offset >= buffer.count }

    @inline(__always)
    mutating func fixed32() -> UInt32 {
        guard offset + 4 <= buffer.count else { failed = true; return 0 }
        let value = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        return value
    }

    @inline(__always)
    mutating func fixed64() -> UInt64 {
        guard offset + 8 <= buffer.count else { failed = true; return 0 }
        let value = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return value
    }

    @inline(__always)
    mutating func byte() -> UInt8 {
        guard offset < buffer.count else { failed = true; return 0 }
        let value = buffer[offset]
        offset += 1
        return value
    }

    @inline(__always)
    mutating func varint() -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buffer.count && shift <= 63 {
            let b = buffer[offset]
            offset += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        failed = true
        return 0
    }

    /// A varint that must fit in `Int` and not exceed `limit`.
    @inline(__always)
    mutating func length(limit: Int = Int(Int32.max)) -> Int {
        let value = varint()
        guard value <= UInt64(limit) else { failed = true; return 0 }
        return Int(value)
    }

    /// The next `count` bytes, borrowed.
    @inline(__always)
    mutating func slice(_ count: Int) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { failed = true; return UnsafeRawBufferPointer(start: nil, count: 0) }
        let result = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return result
    }

    /// A varint length followed by that many bytes, copied.
    mutating func lengthPrefixedBytes() -> Bytes {
        let count = length()
        return Bytes(slice(count))
    }
}

/// Compares two byte ranges as unsigned bytes, shorter-first on a common prefix.
@inline(__always)
func compareKeys(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
    ByteOrder.compare(lhs, rhs)
}

/// Memory owned by one object and freed with it: blocks, index and filter data.
/// Lends stable pointers for as long as the owner lives.
final class OwnedBuffer: @unchecked Sendable {
    // @unchecked Sendable: the bytes are written only before the buffer is
    // published (while one thread owns it) and are read-only afterwards.
    private let storage: UnsafeMutableRawBufferPointer
    /// Usable size in bytes.
    let count: Int

    init(count: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        self.count = count
    }

    convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count)
        if source.count > 0 { storage.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
    }

    deinit { storage.deallocate() }

    /// The whole buffer, writable (only before it is published).
    var mutableBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage.baseAddress, count: count)
    }

    /// The whole buffer, read-only.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.baseAddress, count: count) }

    /// The first `count` bytes, read-only.
    @inline(__always)
    func prefix(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.baseAddress, count: count)
    }
}
