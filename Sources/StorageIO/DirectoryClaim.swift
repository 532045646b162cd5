#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// A command's hold on a directory the user named with `--dir`, taken *before* the directory is
/// inspected, so that two commands cannot both find it empty (check-then-lock is a race).
///
/// The lock is an `flock` on the directory itself: it creates no file (an empty directory stays
/// empty for the engine), it does not conflict with the engine's `DirectoryLock` on its lock file
/// inside, and it is not inherited by child processes. Released in `deinit` or by `release()`.
public final class DirectoryClaim: Sendable {
    /// The directory as given.
    public let path: String
    private let lock: ExclusiveFlock

    /// Creates `directory` (and its parents) when missing and takes the claim.
    /// Throws `StoreError.alreadyOpen` when another process holds a claim on it.
    public init(directory: String) throws(StoreError) {
        try FileSystem.createDirectory(directory)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOTDIR { throw .notADatabase(path: directory, reason: "it is a file, not a directory") }
            throw .io(operation: "open directory", path: directory, errno: code)
        }
        lock = try ExclusiveFlock(fd, path: directory)
        path = directory
    }

    /// True when another process holds a claim on `directory` or has a store open in it
    /// (its `DirectoryLock`); false when `directory` does not exist.
    public static func isHeldElsewhere(_ directory: String) -> Bool {
        guard FileSystem.isDirectory(directory) else { return false }
        do {
            let claim = try DirectoryClaim(directory: directory)
            defer { claim.release() }
            if DirectoryLock.isOpenInProcess(directory) { return true }
            guard FileSystem.exists(directory + "/" + DirectoryLock.fileName) else { return false }
            let lock = try DirectoryLock(directory: directory)
            lock.release()
            return false
        } catch {
            return true
        }
    }

    /// Releases the claim; later calls do nothing.
    public func release() { lock.release() }
}
