#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// An open file owned by an engine: positional reads and writes with typed
/// errors, closed in `deinit`.
///
/// A failed sync poisons the file: Linux may drop the dirty pages after a
/// failed fsync, so a retried fsync could "succeed" without the data. Every
/// later write or sync on a poisoned file throws the original error.
public final class StorageFile: Sendable {
    /// How to open a file.
    public enum Mode: Sendable {
        case readOnly
        case readWrite
        /// Create when missing, keep existing contents.
        case createOrOpen
        /// Create a new file; fail when one exists.
        case createNew
    }

    /// The file's path, for error messages.
    public let path: String
    private let descriptor: Int32
    private let poison = Mutex<StoreError?>(nil)
    private let written = Atomic<UInt64>(0)

    public init(path: String, mode: Mode) throws(StoreError) {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .createOrOpen: flags = O_RDWR | O_CREAT
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        }
        self.descriptor = try Syscalls.open(path, flags: flags)
        self.path = path
    }

    deinit { Syscalls.close(descriptor) }

    private func poisonedError() -> StoreError? {
        poison.withLock { (failure: inout StoreError?) -> StoreError? in failure }
    }

    /// Bytes written through this object since it was opened.
    public var bytesWritten: UInt64 { written.load(ordering: .relaxed) }

    /// The file's current size in bytes.
    public func size() throws(StoreError) -> Int {
        try Syscalls.size(descriptor, path: path)
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at end of file).
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) -> Int {
        try Syscalls.read(descriptor, path: path, at: offset, into: buffer)
    }

    /// Reads exactly `count` bytes at `offset`, or throws `corruption` when the file is shorter.
    public func read(at offset: Int, count: Int) throws(StoreError) -> Bytes {
        var bytes = Bytes(repeating: 0, count: count)
        let got = try bytes.withMutableBorrowedBytes { (buffer) throws(StoreError) -> Int in try read(at: offset, into: buffer) }
        if got != count {
            throw .corruption(path: path, reason: "expected \(count) bytes at offset \(offset), file ends after \(got)")
        }
        return bytes
    }

    /// Writes all of `buffer` at `offset`.
    public func write(at offset: Int, _ buffer: UnsafeRawBufferPointer) throws(StoreError) {
        if let failure = poisonedError() { throw failure }
        try Syscalls.write(descriptor, path: path, at: offset, buffer)
        written.add(UInt64(buffer.count), ordering: .relaxed)
    }

    /// Writes all of `bytes` at `offset`.
    public func write(at offset: Int, _ bytes: Bytes) throws(StoreError) {
        try bytes.withBorrowedBytes { (buffer) throws(StoreError) in try write(at: offset, buffer) }
    }

    /// Makes the file's data (and its size) durable with `fdatasync`. A failure is final.
    public func sync() throws(StoreError) {
        if let failure = poisonedError() { throw failure }
        let code = Syscalls.dataSync(descriptor, path: path)
        if code != 0 {
            let error = StoreError.io(operation: "fdatasync", path: path, errno: code)
            poison.withLock { $0 = error }
            throw error
        }
    }

    /// Cuts or extends the file to `size` bytes.
    public func truncate(to size: Int) throws(StoreError) {
        try Syscalls.truncate(descriptor, path: path, to: size)
    }

    /// Advises the kernel that the file will be read randomly (no read-ahead).
    public func adviseRandomAccess() {
        Syscalls.adviseRandomAccess(descriptor)
    }
}
