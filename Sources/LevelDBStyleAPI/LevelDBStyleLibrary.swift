import KVStore

/// One library with the LevelDB-style C API: LevelDB's `leveldb/c.h`, which RocksDB's
/// `rocksdb/c.h` copies call for call with `rocksdb_` for `leveldb_`. It holds the calls the
/// shared write, error and cursor code makes, as C function pointers, so that the LevelDB and
/// RocksDB adapters share that code without importing each other.
///
/// Create one per library, as a `static let`. `@unchecked Sendable`: every property is a
/// constant (C function pointers and a `@Sendable` closure).
public final class LevelDBStyleLibrary: @unchecked Sendable {
    /// The `char **errptr` argument of the C API's fallible calls.
    public typealias ErrorPointer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    /// The iterator calls (`*_create_iterator`, `*_iter_*`).
    public struct IteratorCalls {
        public let create: @convention(c) (OpaquePointer?, OpaquePointer?) -> OpaquePointer?
        public let destroy: @convention(c) (OpaquePointer?) -> Void
        public let seek: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Void
        public let seekToFirst: @convention(c) (OpaquePointer?) -> Void
        public let next: @convention(c) (OpaquePointer?) -> Void
        public let valid: @convention(c) (OpaquePointer?) -> UInt8
        public let key: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?
        public let value: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?
        public let error: @convention(c) (OpaquePointer?, ErrorPointer?) -> Void

        public init(create: @convention(c) (OpaquePointer?, OpaquePointer?) -> OpaquePointer?,
                    destroy: @convention(c) (OpaquePointer?) -> Void,
                    seek: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Void,
                    seekToFirst: @convention(c) (OpaquePointer?) -> Void,
                    next: @convention(c) (OpaquePointer?) -> Void,
                    valid: @convention(c) (OpaquePointer?) -> UInt8,
                    key: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?,
                    value: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?,
                    error: @convention(c) (OpaquePointer?, ErrorPointer?) -> Void) {
            self.create = create
            self.destroy = destroy
            self.seek = seek
            self.seekToFirst = seekToFirst
            self.next = next
            self.valid = valid
            self.key = key
            self.value = value
            self.error = error
        }
    }

    /// The write batch calls (`*_writebatch_*` and `*_write`).
    public struct BatchCalls {
        public let create: @convention(c) () -> OpaquePointer?
        public let destroy: @convention(c) (OpaquePointer?) -> Void
        public let clear: @convention(c) (OpaquePointer?) -> Void
        public let put: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> Void
        public let delete: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Void
        /// `*_write(db, write_options, batch, errptr)`.
        public let write: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, ErrorPointer?) -> Void

        public init(create: @convention(c) () -> OpaquePointer?,
                    destroy: @convention(c) (OpaquePointer?) -> Void,
                    clear: @convention(c) (OpaquePointer?) -> Void,
                    put: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> Void,
                    delete: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Void,
                    write: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, ErrorPointer?) -> Void) {
            self.create = create
            self.destroy = destroy
            self.clear = clear
            self.put = put
            self.delete = delete
            self.write = write
        }
    }

    /// `*_free`, which releases the error messages and values the library allocates.
    public let free: @convention(c) (UnsafeMutableRawPointer?) -> Void
    /// Turns the library's error message about the database at a path into a `StoreError`.
    public let classify: @Sendable (_ message: String, _ path: String) -> StoreError
    public let iterator: IteratorCalls
    public let batch: BatchCalls

    public init(free: @convention(c) (UnsafeMutableRawPointer?) -> Void,
                classify: @escaping @Sendable (_ message: String, _ path: String) -> StoreError,
                iterator: IteratorCalls, batch: BatchCalls) {
        self.free = free
        self.classify = classify
        self.iterator = iterator
        self.batch = batch
    }

    /// Calls a function that reports failure through a `char **errptr`, releases the message
    /// with `free`, and throws it as `classify` makes it.
    @inlinable @inline(__always)
    public func check<T>(path: String, _ call: (ErrorPointer) -> T) throws(StoreError) -> T {
        var message: UnsafeMutablePointer<CChar>? = nil
        let result = call(&message)
        if let message {
            let text = String(cString: message)
            free(message)
            throw classify(text, path)
        }
        return result
    }

    /// Runs `body` with a cursor over a new iterator (an implicit snapshot), destroyed when it returns.
    public func withCursor<Result>(database: OpaquePointer, readOptions: OpaquePointer, path: String,
                                   _ body: (inout LevelDBStyleCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        guard let handle = iterator.create(database, readOptions) else {
            throw classify("the C API's create_iterator returned NULL", path)
        }
        var cursor = LevelDBStyleCursor(iterator: handle, library: self, path: path)
        defer { cursor.invalidate() }
        return try body(&cursor)
    }
}
