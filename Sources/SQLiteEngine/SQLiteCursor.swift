import CSQLite
import KVStore

/// One read connection with its prepared statements, owned by one thread
/// (point reads and cursors of that thread); `busy` while a read or cursor uses it.
final class SQLiteReader: @unchecked Sendable {
    let connection: SQLiteConnection
    let get: SQLiteStatement
    let first: SQLiteStatement
    let seek: SQLiteStatement
    let begin: SQLiteStatement
    let commit: SQLiteStatement
    var busy = false

    init(connection: SQLiteConnection) throws(StoreError) {
        self.connection = connection
        get = try SQLiteStatement(connection: connection, sql: "SELECT v FROM kv WHERE k = ?1")
        first = try SQLiteStatement(connection: connection, sql: "SELECT k, v FROM kv ORDER BY k")
        seek = try SQLiteStatement(connection: connection, sql: "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k")
        begin = try SQLiteStatement(connection: connection, sql: "BEGIN DEFERRED")
        commit = try SQLiteStatement(connection: connection, sql: "COMMIT")
    }
}

/// The read connections of one thread: the first is used by point reads and
/// cursors alike; a read inside a cursor (or a nested cursor) on the same
/// thread takes another, so it never reads inside the cursor's snapshot.
final class SQLiteReaderSlot: @unchecked Sendable {
    var readers: [SQLiteReader] = []

    /// A reader of this slot that is not in use, opened with `open` when every one is.
    @inline(__always)
    func acquire(_ open: () throws(StoreError) -> SQLiteReader) throws(StoreError) -> SQLiteReader {
        for reader in readers where !reader.busy {
            reader.busy = true
            return reader
        }
        let reader = try open()
        readers.append(reader)
        reader.busy = true
        return reader
    }
}

/// A cursor over one read transaction of a thread's read connection: the
/// snapshot is fixed by the first positioning and kept until `withCursor` returns.
/// Each seek runs a prepared `SELECT k, v ... ORDER BY k` (from the first key or
/// from `k >= ?`); `next` steps it.
public final class SQLiteCursor: KeyValueCursor {
    private let reader: SQLiteReader
    private var current: SQLiteStatement?
    private var positioned = false

    init(reader: SQLiteReader) { self.reader = reader }

    /// Resets the statement in use; the cursor is unpositioned afterwards.
    func invalidate() {
        current?.finish()
        current = nil
        positioned = false
    }

    /// Runs `statement` (reset and bound by the caller) to its first row.
    private func start(_ statement: SQLiteStatement) throws(StoreError) {
        current = statement
        positioned = try statement.step()
        if !positioned { invalidate() }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard !key.isEmpty else { return try seekToFirst() }
        invalidate()
        // The statement outlives this call, so SQLite keeps its own copy of the key.
        try key.withBorrowedBytes { (k) throws(StoreError) in try reader.seek.bind(k, at: 1, copying: true) }
        try start(reader.seek)
    }

    public func seekToFirst() throws(StoreError) {
        invalidate()
        try start(reader.first)
    }

    public func next() throws(StoreError) {
        precondition(positioned, "cursor is not positioned on an entry")
        guard let current else { return }
        positioned = try current.step()
        if !positioned { invalidate() }
    }

    public var isValid: Bool { positioned }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(positioned, "cursor is not positioned on an entry")
        let statement = current!
        return body(statement.blob(0), statement.blob(1))
    }
}
