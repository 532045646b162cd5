#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// An exclusive, non-blocking `flock` on a descriptor it owns, held until `release()` or
/// `deinit`: the one mechanism under `DirectoryLock` and `DirectoryClaim`.
final class ExclusiveFlock: Sendable {
    private let descriptor: Mutex<Int32>

    /// Locks `fd` and takes ownership of it. When the lock is not granted, `fd` is closed and
    /// `StoreError.alreadyOpen(path:)` (another holder) or `.io` (any other errno) is thrown.
    init(_ fd: Int32, path: String) throws(StoreError) {
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw .alreadyOpen(path: path) }
            throw .io(operation: "flock", path: path, errno: code)
        }
        descriptor = Mutex(fd)
    }

    /// Unlocks and closes the descriptor; true the first time, false on later calls.
    @discardableResult
    func release() -> Bool {
        let fd = descriptor.withLock { fd -> Int32 in
            let old = fd
            fd = -1
            return old
        }
        guard fd >= 0 else { return false }
        flock(fd, LOCK_UN)
        close(fd)
        return true
    }

    deinit { release() }
}
