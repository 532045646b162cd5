#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
import StorageIO

/// CRC32C of pages and log records: the SSE4.2 `crc32` instruction on x86-64
/// (built with `-msse4.2`), StorageIO's table-driven `CRC32C` elsewhere. Same
/// polynomial and conventions, so both give identical values (a test checks it).
enum Checksum {
    @inline(__always)
    static func crc32c(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        #if arch(x86_64)
        guard let base = buffer.baseAddress else { return 0 }
        var crc: UInt64 = 0xFFFF_FFFF
        var offset = 0
        let count = buffer.count
        while offset &+ 32 <= count {
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self))
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset &+ 16, as: UInt64.self))
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset &+ 24, as: UInt64.self))
            offset &+= 32
        }
        while offset &+ 8 <= count {
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset &+= 8
        }
        var small = UInt32(truncatingIfNeeded: crc)
        while offset < count {
            small = _mm_crc32_u8(small, base.load(fromByteOffset: offset, as: UInt8.self))
            offset &+= 1
        }
        return ~small
        #else
        return CRC32C.checksum(buffer)
        #endif
    }
}

/// CRC32C of one fixed-length region (a page after its checksum field), computed as three
/// interleaved streams: the `crc32` instruction has a latency of three cycles and a throughput
/// of one, so three independent streams run about three times faster. The streams are joined
/// with precomputed tables of the linear map "append n zero bytes" (crc(A‖B) = shift(crc(A), |B|) ⊕ crc₀(B)).
struct RegionChecksum: Sendable {
    let length: Int
    private let chunk: Int
    private let lastChunk: Int
    /// Four 256-entry tables per shift: shift by `chunk` bytes, then by `lastChunk` bytes.
    private let tables: [UInt32]

    init(length: Int) {
        self.length = length
        let chunk = length >= 3 * 64 ? (length / 3) & ~7 : 0
        self.chunk = chunk
        self.lastChunk = length - 2 * chunk
        var tables = [UInt32](repeating: 0, count: 2 * 4 * 256)
        if chunk > 0 {
            let zeros = [UInt8](repeating: 0, count: max(chunk, length - 2 * chunk))
            for (which, count) in [chunk, length - 2 * chunk].enumerated() {
                for byte in 0..<4 {
                    for value in 0..<256 {
                        let register = UInt32(value) << (8 * UInt32(byte))
                        tables[which * 1024 + byte * 256 + value] = zeros.withUnsafeBytes {
                            RegionChecksum.raw(register, UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                        }
                    }
                }
            }
        }
        self.tables = tables
    }

    /// The CRC register after feeding `buffer` to `register`, without the initial or final inversion.
    @inline(__always)
    static func raw(_ register: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        #if arch(x86_64)
        guard let base = buffer.baseAddress else { return register }
        var crc = UInt64(register)
        var offset = 0
        while offset &+ 8 <= buffer.count {
            crc = _mm_crc32_u64(crc, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset &+= 8
        }
        var small = UInt32(truncatingIfNeeded: crc)
        while offset < buffer.count {
            small = _mm_crc32_u8(small, base.load(fromByteOffset: offset, as: UInt8.self))
            offset &+= 1
        }
        return small
        #else
        return ~CRC32C.update(~register, buffer)
        #endif
    }

    @inline(__always)
    private func shift(_ register: UInt32, table: Int) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            let base = table * 1024
            return t[base + Int(register & 0xFF)] ^ t[base + 256 + Int((register >> 8) & 0xFF)]
                ^ t[base + 512 + Int((register >> 16) & 0xFF)] ^ t[base + 768 + Int(register >> 24)]
        }
    }

    /// CRC32C of `buffer`, which must be `length` bytes long.
    func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        #if arch(x86_64)
        guard chunk > 0, buffer.count == length, let base = buffer.baseAddress else { return Checksum.crc32c(buffer) }
        var a: UInt64 = 0xFFFF_FFFF, b: UInt64 = 0, c: UInt64 = 0
        var offset = 0
        let second = chunk, third = 2 * chunk
        while offset < chunk {
            a = _mm_crc32_u64(a, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            b = _mm_crc32_u64(b, base.loadUnaligned(fromByteOffset: second &+ offset, as: UInt64.self))
            c = _mm_crc32_u64(c, base.loadUnaligned(fromByteOffset: third &+ offset, as: UInt64.self))
            offset &+= 8
        }
        let rest = RegionChecksum.raw(UInt32(truncatingIfNeeded: c),
                                      UnsafeRawBufferPointer(start: base + third + chunk, count: lastChunk - chunk))
        let ab = shift(UInt32(truncatingIfNeeded: a), table: 0) ^ UInt32(truncatingIfNeeded: b)
        return ~(shift(ab, table: 1) ^ rest)
        #else
        return CRC32C.checksum(buffer)
        #endif
    }
}
