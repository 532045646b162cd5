#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// Exclusive ownership of a database directory for the life of an open store.
///
/// Two layers, because neither is enough alone: an in-process registry of
/// open paths (POSIX record locks do not conflict within one process, and
/// LMDB must never be opened twice in one process), and an `flock` on a
/// lock file so that another process fails too. Released in `deinit` or by `release()`.
public final class DirectoryLock: Sendable {
    /// Name of the lock file created inside the directory.
    public static let fileName = "KVBENCH.LOCK"

    private static let openPaths = Mutex<Set<String>>([])

    /// The canonical path of the locked directory.
    public let path: String
    private let lock: ExclusiveFlock

    /// Takes the lock on `directory`, which must exist.
    /// Throws `StoreError.alreadyOpen` when this or another process holds it.
    public init(directory: String) throws(StoreError) {
        let canonical = FileSystem.canonicalPath(directory)
        let inserted = Self.openPaths.withLock { $0.insert(canonical).inserted }
        guard inserted else { throw .alreadyOpen(path: canonical) }
        let lockPath = canonical + "/" + Self.fileName
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            _ = Self.openPaths.withLock { $0.remove(canonical) }
            throw .io(operation: "open lock file", path: lockPath, errno: code)
        }
        do {
            lock = try ExclusiveFlock(fd, path: lockPath)
        } catch {
            _ = Self.openPaths.withLock { $0.remove(canonical) }
            if case .alreadyOpen = error { throw .alreadyOpen(path: canonical) }
            throw error
        }
        self.path = canonical
    }

    /// True when `directory` is currently locked by a store in this process.
    public static func isOpenInProcess(_ directory: String) -> Bool {
        let canonical = FileSystem.canonicalPath(directory)
        return openPaths.withLock { $0.contains(canonical) }
    }

    /// Releases the lock; later calls do nothing.
    public func release() {
        if lock.release() { _ = Self.openPaths.withLock { $0.remove(path) } }
    }

    deinit { release() }
}
