#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore

/// A file mapped read-only and shared (`mmap(PROT_READ, MAP_SHARED)`), for engines that
/// read pages in place instead of copying them. The mapping reserves `reserve` bytes of
/// address space so that the file can grow under it; the owner must only touch bytes
/// below the file's current end (beyond it the kernel raises SIGBUS). Reads through the
/// map see every write made to the file (one page cache) and do not pass through the
/// syscall hook. Unmapped in `deinit`.
///
/// `@unchecked Sendable`: the mapping is immutable address space, read by any thread.
public final class MappedFile: @unchecked Sendable {
    /// The first byte of the mapping.
    public let base: UnsafeRawPointer
    /// Bytes of address space reserved.
    public let length: Int

    /// Maps `path` with `reserve` bytes of address space, advised for random access.
    public init(path: String, reserve: Int) throws(StoreError) {
        let descriptor = try Syscalls.open(path, flags: O_RDONLY)
        defer { Syscalls.close(descriptor) }
        base = try Syscalls.mapReadOnly(descriptor, path: path, length: reserve)
        length = reserve
    }

    deinit { Syscalls.unmap(base, length: length) }
}
