#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore

/// Directory-level file operations with typed errors. Every operation that
/// changes a directory's entries must be followed by `syncDirectory` before
/// the change is relied upon after a power loss.
public enum FileSystem {
    /// The absolute, symlink-free form of `path` (or `path` itself when it does not exist).
    public static func canonicalPath(_ path: String) -> String {
        Syscalls.realPath(path) ?? path
    }

    /// True when something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        Syscalls.status(path) != nil
    }

    /// True when `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        guard let info = Syscalls.status(path) else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its missing parents.
    public static func createDirectory(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            try Syscalls.makeDirectory(prefix)
        }
    }

    /// Names of the entries of a directory, without `.` and `..`.
    public static func list(_ path: String) throws(StoreError) -> [String] {
        try Syscalls.entries(path).sorted()
    }

    /// Flushes a directory's entries (new, renamed and removed files) to stable storage.
    public static func syncDirectory(_ path: String) throws(StoreError) {
        try Syscalls.syncDirectory(path)
    }

    /// Atomically replaces `destination` with `source` (same directory).
    public static func rename(_ source: String, to destination: String) throws(StoreError) {
        try Syscalls.rename(source, to: destination)
    }

    /// Removes a file; a missing file is not an error.
    public static func removeFile(_ path: String) throws(StoreError) {
        try Syscalls.unlink(path)
    }

    /// Removes a directory tree; a missing path is not an error.
    public static func removeTree(_ path: String) throws(StoreError) {
        guard isDirectory(path) else { return try removeFile(path) }
        for name in try list(path) { try removeTree(path + "/" + name) }
        try Syscalls.removeDirectory(path)
    }

    /// Size in bytes of the file at `path`.
    public static func fileSize(_ path: String) throws(StoreError) -> Int {
        guard let info = Syscalls.status(path) else { throw .io(operation: "stat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Bytes allocated on disk under `path` (`st_blocks × 512`, summed over the tree).
    public static func allocatedBytes(_ path: String) -> UInt64 {
        guard let info = Syscalls.status(path, followingLinks: false) else { return 0 }
        var total = UInt64(info.st_blocks) * 512
        if (info.st_mode & S_IFMT) == S_IFDIR, let names = try? list(path) {
            total = 0
            for name in names { total += allocatedBytes(path + "/" + name) }
        }
        return total
    }

    /// Prepares a database directory before an engine opens it: creates it when missing (if
    /// allowed) and refuses a regular file or a directory that is not the engine's: one that
    /// holds files (the KVBench lock file aside) but no `marker` file, or, when `strict`, any
    /// file other than the marker and its `companions`. Companions found without the marker
    /// are corruption (a database that lost its main file), called `companionsName` in the error.
    /// Returns true when the directory already held the engine's files.
    @discardableResult
    public static func prepareDatabaseDirectory(_ path: String, createIfMissing: Bool, marker: String, engine: String,
                                                companions: Set<String> = [], companionsName: String = "",
                                                strict: Bool = false) throws(StoreError) -> Bool {
        if !exists(path) {
            guard createIfMissing else { throw .notFound(path: path) }
            try createDirectory(path)
            return false
        }
        guard isDirectory(path) else { throw .notADatabase(path: path, reason: "it is a file, not a directory") }
        let names = try list(path).filter { $0 != DirectoryLock.fileName }
        if strict, let foreign = names.first(where: { $0 != marker && !companions.contains($0) }) {
            throw .notADatabase(path: path, reason: "it holds \(foreign), which is not a \(engine) file")
        }
        if !names.isEmpty && !names.contains(marker) {
            if names.contains(where: companions.contains) {
                throw .corruption(path: path, reason: "\(companionsName) exist but \(marker) is missing")
            }
            throw .notADatabase(path: path, reason: "it holds files but no \(engine) \(marker) file")
        }
        if names.isEmpty && !createIfMissing { throw .notFound(path: path) }
        return !names.isEmpty
    }

    /// Creates a fresh, empty temporary directory whose name starts with `prefix`.
    public static func makeTemporaryDirectory(prefix: String) throws(StoreError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return try Syscalls.makeTemporaryDirectory("\(base)/\(prefix)-XXXXXX", base: base)
    }
}
