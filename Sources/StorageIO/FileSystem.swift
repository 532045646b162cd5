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
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// True when something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// True when `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its missing parents.
    public static func createDirectory(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: prefix, errno: errno)
            }
        }
    }

    /// Names of the entries of a directory, without `.` and `..`.
    public static func list(_ path: String) throws(StoreError) -> [String] {
        guard let directory = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Flushes a directory's entries (new, renamed and removed files) to stable storage.
    public static func syncDirectory(_ path: String) throws(StoreError) {
        let faults = FaultInjection.isActive
        if faults, let code = FaultInjection.directorySyncFailure(path: path) {
            throw .io(operation: "fsync directory", path: path, errno: code)
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open directory", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw .io(operation: "fsync directory", path: path, errno: errno) }
        if faults { FaultInjection.didSyncDirectory(path: path) }
    }

    /// Atomically replaces `destination` with `source` (same directory).
    public static func rename(_ source: String, to destination: String) throws(StoreError) {
        if FaultInjection.isActive, try FaultInjection.rename(source, to: destination) { return }
        if Glibc.rename(source, destination) != 0 { throw .io(operation: "rename", path: source, errno: errno) }
    }

    /// Removes a file; a missing file is not an error.
    public static func removeFile(_ path: String) throws(StoreError) {
        if FaultInjection.isActive, try FaultInjection.remove(path) { return }
        if unlink(path) != 0 && errno != ENOENT { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    /// Removes a directory tree; a missing path is not an error.
    public static func removeTree(_ path: String) throws(StoreError) {
        guard isDirectory(path) else { return try removeFile(path) }
        for name in try list(path) { try removeTree(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT { throw .io(operation: "rmdir", path: path, errno: errno) }
    }

    /// Size in bytes of the file at `path`.
    public static func fileSize(_ path: String) throws(StoreError) -> Int {
        var info = stat()
        if stat(path, &info) != 0 { throw .io(operation: "stat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Bytes allocated on disk under `path` (`st_blocks × 512`, summed over the tree).
    public static func allocatedBytes(_ path: String) -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        var total = UInt64(info.st_blocks) * 512
        if (info.st_mode & S_IFMT) == S_IFDIR, let names = try? list(path) {
            total = 0
            for name in names { total += allocatedBytes(path + "/" + name) }
        }
        return total
    }

    /// Prepares a database directory before an engine opens it: creates it when
    /// missing (if allowed), and refuses a regular file or a non-empty directory
    /// that lacks the engine's `marker` file (ignoring the KVBench lock file).
    /// Returns true when the directory already held the engine's files.
    @discardableResult
    public static func prepareDatabaseDirectory(_ path: String, createIfMissing: Bool, marker: String, engine: String) throws(StoreError) -> Bool {
        if !exists(path) {
            guard createIfMissing else { throw .notFound(path: path) }
            try createDirectory(path)
            return false
        }
        guard isDirectory(path) else { throw .notADatabase(path: path, reason: "it is a file, not a directory") }
        let names = try list(path).filter { $0 != DirectoryLock.fileName }
        if !names.isEmpty && !names.contains(marker) {
            throw .notADatabase(path: path, reason: "it holds files but no \(engine) \(marker) file")
        }
        if names.isEmpty && !createIfMissing { throw .notFound(path: path) }
        return !names.isEmpty
    }

    /// Creates a fresh, empty temporary directory whose name starts with `prefix`.
    public static func makeTemporaryDirectory(prefix: String) throws(StoreError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard created != nil else { throw .io(operation: "mkdtemp", path: base, errno: errno) }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
