import CLMDB
import KVStore

/// Turns an LMDB return code into a `StoreError`; `MDB_SUCCESS` passes.
@inline(__always)
func checkLMDB(_ code: Int32, _ operation: String, path: String) throws(StoreError) {
    guard code != 0 else { return }
    throw LMDBStore.classify(code: code, operation: operation, path: path)
}

/// A reset read-only transaction owned by one thread, renewed for each point read.
/// Only its owning thread touches it, except `close()`, which runs after all readers stopped.
final class LMDBThreadReader: @unchecked Sendable {
    var transaction: OpaquePointer?
    init(transaction: OpaquePointer) { self.transaction = transaction }
}

/// A cursor over an LMDB read transaction that lives for one `withCursor` call.
public final class LMDBCursor: KeyValueCursor {
    private var cursor: OpaquePointer?
    private var currentKey = MDB_val(mv_size: 0, mv_data: nil)
    private var currentValue = MDB_val(mv_size: 0, mv_data: nil)
    private var positioned = false
    private let path: String

    init(cursor: OpaquePointer, path: String) {
        self.cursor = cursor
        self.path = path
    }

    /// Closes the LMDB cursor; the transaction is aborted by the store right after.
    func invalidate() {
        if let cursor { mdb_cursor_close(cursor) }
        cursor = nil
        positioned = false
    }

    private func move(_ operation: MDB_cursor_op) throws(StoreError) {
        guard let cursor else { throw .closed }
        let code = mdb_cursor_get(cursor, &currentKey, &currentValue, operation)
        if code == MDB_NOTFOUND {
            positioned = false
            return
        }
        try checkLMDB(code, "mdb_cursor_get", path: path)
        positioned = true
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard !key.isEmpty else { return try seekToFirst() }
        try key.withBorrowedBytes { (buffer) throws(StoreError) in
            currentKey = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            try move(MDB_SET_RANGE)
        }
    }

    public func seekToFirst() throws(StoreError) { try move(MDB_FIRST) }

    public func next() throws(StoreError) {
        precondition(positioned, "cursor is not positioned on an entry")
        try move(MDB_NEXT)
    }

    public var isValid: Bool { positioned }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(positioned, "cursor is not positioned on an entry")
        return body(UnsafeRawBufferPointer(start: currentKey.mv_data, count: currentKey.mv_size),
                    UnsafeRawBufferPointer(start: currentValue.mv_data, count: currentValue.mv_size))
    }
}
