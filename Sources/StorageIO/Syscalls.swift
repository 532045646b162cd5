#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// A layer under StorageIO's calls that change what a power loss can lose: a
/// fault simulator (the `StorageFaults` module) installs one; production code
/// never does, and sees neither this nor `Syscalls.install` (SPI:
/// `@_spi(SyscallHook) import StorageIO`).
///
/// Each method receives the call's arguments and `perform`, the real call. It
/// may run `perform`, fail instead of running it, or reach the same end another
/// way (move a file aside instead of removing it). Only the calls StorageIO makes
/// reach the hook; a hook's own system calls do not.
@_spi(SyscallHook)
public protocol SyscallHook: AnyObject, Sendable {
    /// Opening `path` with `flags`; `perform` returns the new descriptor.
    func open(path: String, flags: Int32, _ perform: () throws(StoreError) -> Int32) throws(StoreError) -> Int32
    /// Writing `count` bytes at `offset`.
    func write(descriptor: Int32, path: String, offset: Int, count: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError)
    /// Cutting or extending a file to `length` bytes.
    func truncate(descriptor: Int32, path: String, length: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError)
    /// `fdatasync`; `perform` and the hook return 0 or an errno.
    func sync(descriptor: Int32, path: String, _ perform: () -> Int32) -> Int32
    /// `fsync` of a directory.
    func syncDirectory(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError)
    /// Replacing `destination` with `source`.
    func rename(_ source: String, to destination: String, _ perform: () throws(StoreError) -> Void) throws(StoreError)
    /// Removing a file (a missing file is not an error).
    func remove(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError)
}

/// Every system call `StorageFile` and `FileSystem` make, in one place, with
/// typed errors. The seven calls of `SyscallHook` go through the installed hook
/// when there is one; with none, the hook costs one relaxed atomic load and a
/// branch per call: each call is inlined into its caller and the hooked path is
/// outlined (`hooked…`), so the production path is the bare system call.
/// Lock files (`DirectoryLock`, `DirectoryClaim`) hold no data and are not routed here.
public enum Syscalls {
    private static let hooked = Atomic<Bool>(false)
    private static let installed = Mutex<(any SyscallHook)?>(nil)

    /// Installs `hook` under every later call (nil removes it).
    @_spi(SyscallHook)
    public static func install(_ hook: (any SyscallHook)?) {
        installed.withLock { $0 = hook }
        hooked.store(hook != nil, ordering: .releasing)
    }

    @inline(__always)
    private static var isHooked: Bool { _slowPath(hooked.load(ordering: .relaxed)) }

    /// The hook, when `isHooked` (nil when it was removed since).
    private static var hook: (any SyscallHook)? { installed.withLock { $0 } }

    // MARK: descriptors

    @inline(__always)
    static func open(_ path: String, flags: Int32) throws(StoreError) -> Int32 {
        if isHooked { return try hookedOpen(path, flags) }
        return try openDescriptor(path, flags)
    }

    @inline(never)
    private static func hookedOpen(_ path: String, _ flags: Int32) throws(StoreError) -> Int32 {
        guard let hook else { return try openDescriptor(path, flags) }
        return try hook.open(path: path, flags: flags) { () throws(StoreError) in try openDescriptor(path, flags) }
    }

    @inline(__always)
    private static func openDescriptor(_ path: String, _ flags: Int32) throws(StoreError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return fd
    }

    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    @inline(__always)
    static func size(_ descriptor: Int32, path: String) throws(StoreError) -> Int {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw .io(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// `pread` until `buffer` is full or the file ends; returns the bytes read.
    @inline(__always)
    static func read(_ descriptor: Int32, path: String, at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) -> Int {
        var done = 0
        while done < buffer.count {
            let result = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pread", path: path, errno: errno)
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// `pwrite` of all of `buffer`.
    @inline(__always)
    static func write(_ descriptor: Int32, path: String, at offset: Int, _ buffer: UnsafeRawBufferPointer) throws(StoreError) {
        if isHooked { return try hookedWrite(descriptor, path, offset, buffer) }
        try writeAll(descriptor, path, offset, buffer)
    }

    @inline(never)
    private static func hookedWrite(_ descriptor: Int32, _ path: String, _ offset: Int, _ buffer: UnsafeRawBufferPointer) throws(StoreError) {
        guard let hook else { return try writeAll(descriptor, path, offset, buffer) }
        try hook.write(descriptor: descriptor, path: path, offset: offset, count: buffer.count) { () throws(StoreError) in
            try writeAll(descriptor, path, offset, buffer)
        }
    }

    @inline(__always)
    private static func writeAll(_ descriptor: Int32, _ path: String, _ offset: Int, _ buffer: UnsafeRawBufferPointer) throws(StoreError) {
        var done = 0
        while done < buffer.count {
            let result = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwrite", path: path, errno: errno)
            }
            done += result
        }
    }

    /// `fdatasync`: 0, or the errno of the failure.
    @inline(__always)
    static func dataSync(_ descriptor: Int32, path: String) -> Int32 {
        if isHooked { return hookedDataSync(descriptor, path) }
        return dataSync(descriptor)
    }

    @inline(never)
    private static func hookedDataSync(_ descriptor: Int32, _ path: String) -> Int32 {
        guard let hook else { return dataSync(descriptor) }
        return hook.sync(descriptor: descriptor, path: path) { dataSync(descriptor) }
    }

    @inline(__always)
    private static func dataSync(_ descriptor: Int32) -> Int32 {
        fdatasync(descriptor) == 0 ? 0 : errno
    }

    @inline(__always)
    static func truncate(_ descriptor: Int32, path: String, to length: Int) throws(StoreError) {
        if isHooked { return try hookedTruncate(descriptor, path, length) }
        try truncateDescriptor(descriptor, path, length)
    }

    @inline(never)
    private static func hookedTruncate(_ descriptor: Int32, _ path: String, _ length: Int) throws(StoreError) {
        guard let hook else { return try truncateDescriptor(descriptor, path, length) }
        try hook.truncate(descriptor: descriptor, path: path, length: length) { () throws(StoreError) in
            try truncateDescriptor(descriptor, path, length)
        }
    }

    private static func truncateDescriptor(_ descriptor: Int32, _ path: String, _ length: Int) throws(StoreError) {
        if ftruncate(descriptor, off_t(length)) != 0 { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    static func adviseRandomAccess(_ descriptor: Int32) {
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_RANDOM)
    }

    // MARK: memory maps

    /// Maps `length` bytes of `descriptor` read-only and shared, advised for random access.
    static func mapReadOnly(_ descriptor: Int32, path: String, length: Int) throws(StoreError) -> UnsafeRawPointer {
        guard let address = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0), address != MAP_FAILED else {
            throw .io(operation: "mmap", path: path, errno: errno)
        }
        _ = madvise(address, length, MADV_RANDOM)
        return UnsafeRawPointer(address)
    }

    static func unmap(_ base: UnsafeRawPointer, length: Int) {
        _ = munmap(UnsafeMutableRawPointer(mutating: base), length)
    }

    // MARK: directories and names

    @inline(__always)
    static func syncDirectory(_ path: String) throws(StoreError) {
        if isHooked { return try hookedSyncDirectory(path) }
        try syncDirectoryEntries(path)
    }

    @inline(never)
    private static func hookedSyncDirectory(_ path: String) throws(StoreError) {
        guard let hook else { return try syncDirectoryEntries(path) }
        try hook.syncDirectory(path: path) { () throws(StoreError) in try syncDirectoryEntries(path) }
    }

    private static func syncDirectoryEntries(_ path: String) throws(StoreError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open directory", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw .io(operation: "fsync directory", path: path, errno: errno) }
    }

    @inline(__always)
    static func rename(_ source: String, to destination: String) throws(StoreError) {
        if isHooked { return try hookedRename(source, destination) }
        try renameEntry(source, destination)
    }

    @inline(never)
    private static func hookedRename(_ source: String, _ destination: String) throws(StoreError) {
        guard let hook else { return try renameEntry(source, destination) }
        try hook.rename(source, to: destination) { () throws(StoreError) in try renameEntry(source, destination) }
    }

    private static func renameEntry(_ source: String, _ destination: String) throws(StoreError) {
        if Glibc.rename(source, destination) != 0 { throw .io(operation: "rename", path: source, errno: errno) }
    }

    /// `unlink`; a missing file is not an error.
    @inline(__always)
    static func unlink(_ path: String) throws(StoreError) {
        if isHooked { return try hookedUnlink(path) }
        try unlinkEntry(path)
    }

    @inline(never)
    private static func hookedUnlink(_ path: String) throws(StoreError) {
        guard let hook else { return try unlinkEntry(path) }
        try hook.remove(path: path) { () throws(StoreError) in try unlinkEntry(path) }
    }

    private static func unlinkEntry(_ path: String) throws(StoreError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    /// `stat` (or `lstat`, not following a final symlink); nil when it fails.
    static func status(_ path: String, followingLinks: Bool = true) -> stat? {
        var info = stat()
        let result = followingLinks ? stat(path, &info) : lstat(path, &info)
        return result == 0 ? info : nil
    }

    /// `mkdir`; an existing entry is not an error.
    static func makeDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: path, errno: errno) }
    }

    /// `rmdir`; a missing directory is not an error.
    static func removeDirectory(_ path: String) throws(StoreError) {
        if rmdir(path) != 0 && errno != ENOENT { throw .io(operation: "rmdir", path: path, errno: errno) }
    }

    /// Entry names of a directory, without `.` and `..`, unsorted.
    static func entries(_ path: String) throws(StoreError) -> [String] {
        guard let directory = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `mkdtemp` on `template` (ending in `XXXXXX`); returns the directory made.
    static func makeTemporaryDirectory(_ template: String, base: String) throws(StoreError) -> String {
        var bytes = Array(template.utf8CString)
        let created = bytes.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard created != nil else { throw .io(operation: "mkdtemp", path: base, errno: errno) }
        return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
