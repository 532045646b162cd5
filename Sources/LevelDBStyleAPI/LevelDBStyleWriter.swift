import KVStore
import StorageIO

/// The write path of a store on a LevelDB-style C API: every write goes through one write
/// batch per thread, cleared and reused (`*_writebatch_clear`, `*_writebatch_put`, `*_write`),
/// as `db_bench` writes. The C API's `*_put` and `*_delete` build a new batch, an allocation,
/// on every call. A write of more than `reusedBatchLimit` bytes of keys and values uses a batch
/// of its own, so that no thread's batch keeps more memory than that.
///
/// The store owns its writer; the threads' batches live until the writer does.
/// `@unchecked Sendable`: the pointers are constants; the database and write options are
/// safe for concurrent use (the libraries document it), and each thread has its own batch.
public final class LevelDBStyleWriter: @unchecked Sendable {
    /// One thread's reusable `*_writebatch_t`, destroyed in `deinit`.
    public final class ThreadBatch: @unchecked Sendable {
        @usableFromInline let pointer: OpaquePointer
        private let destroy: @convention(c) (OpaquePointer?) -> Void

        @usableFromInline init(_ calls: LevelDBStyleLibrary.BatchCalls) {
            guard let pointer = calls.create() else { preconditionFailure("the C API's writebatch_create returned NULL") }
            self.pointer = pointer
            destroy = calls.destroy
        }

        deinit { destroy(pointer) }
    }

    /// The largest write (key and value bytes) that goes through the thread's reused batch.
    @inlinable public static var reusedBatchLimit: Int { 64 << 10 }

    public let library: LevelDBStyleLibrary
    @usableFromInline let database: OpaquePointer
    @usableFromInline let options: OpaquePointer
    @usableFromInline let path: String
    @usableFromInline let batches: PerThreadSlots<ThreadBatch>

    /// A writer to `database` with the `*_writeoptions_t` in `options`, both of which must
    /// outlive it; `path` names the database in errors; `batches` from `makeBatches` (made
    /// before the database is opened: it is the step that can fail).
    public init(library: LevelDBStyleLibrary, database: OpaquePointer, options: OpaquePointer, path: String,
                batches: PerThreadSlots<ThreadBatch>) {
        self.library = library
        self.database = database
        self.options = options
        self.path = path
        self.batches = batches
    }

    /// The per-thread slots for a writer's batches (a `pthread_key_t`).
    public static func makeBatches(path: String) throws(StoreError) -> PerThreadSlots<ThreadBatch> {
        try PerThreadSlots(path: path)
    }

    /// Writes what `fill` adds to a batch, `bytes` of keys and values, as one atomic write:
    /// through this thread's reused batch, or a batch of its own above `reusedBatchLimit`.
    @inlinable @inline(__always)
    func write(bytes: Int, _ fill: (OpaquePointer) -> Void) throws(StoreError) {
        let calls = library.batch
        if bytes <= Self.reusedBatchLimit {
            let handle = batches.slot { ThreadBatch(calls) }.pointer
            calls.clear(handle)
            fill(handle)
            try library.check(path: path) { calls.write(database, options, handle, $0) }
        } else {
            let handle = ThreadBatch(calls)
            fill(handle.pointer)
            try library.check(path: path) { calls.write(database, options, handle.pointer, $0) }
        }
    }

    /// Writes one key and value.
    @inlinable
    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try write(bytes: k.count + v.count) {
                    library.batch.put($0, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                      v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                }
            }
        }
    }

    /// Deletes one key.
    @inlinable
    public func delete(_ key: Bytes) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try write(bytes: k.count) {
                library.batch.delete($0, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
            }
        }
    }

    /// Writes the operations of `writes` as one atomic batch.
    public func write(_ writes: WriteBatch) throws(StoreError) {
        let calls = library.batch
        try write(bytes: Int(clamping: writes.userBytes)) { handle in
            for operation in writes.operations {
                switch operation {
                case .put(let key, let value):
                    key.withUnsafeBytes { k in
                        value.withUnsafeBytes { v in
                            calls.put(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                      v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                        }
                    }
                case .delete(let key):
                    key.withUnsafeBytes { k in
                        calls.delete(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
                    }
                }
            }
        }
    }
}
