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
