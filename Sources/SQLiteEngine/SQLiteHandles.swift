import CSQLite
import KVStore
#if canImport(Glibc)
import Glibc
#endif

/// A failed SQLite call: the operation, SQLite's primary and extended result
/// codes, its message (`sqlite3_errmsg`) and the system errno behind an I/O error.
struct SQLiteFailure: Error, Sendable {
    let operation: String
    let extendedCode: Int32
    let message: String
    let systemErrno: Int32

    /// The primary result code (`SQLITE_CORRUPT`, `SQLITE_IOERR`, ...).
    var code: Int32 { extendedCode & 0xFF }

    /// The failure of the last call on `connection`.
    init(_ operation: String, connection: OpaquePointer?, code: Int32) {
        self.operation = operation
        if let connection {
            extendedCode = sqlite3_extended_errcode(connection)
            message = String(cString: sqlite3_errmsg(connection))
            systemErrno = sqlite3_system_errno(connection)
        } else {
            extendedCode = code
            message = String(cString: sqlite3_errstr(code))
            systemErrno = 0
        }
    }

    /// The matching `StoreError`, SQLite's message and result code kept in it.
    func storeError(path: String) -> StoreError {
        let detail = "\(operation): \(message) (SQLite result code \(extendedCode))"
        switch code {
        case SQLITE_CORRUPT:
            return .corruption(path: path, reason: detail)
        case SQLITE_NOTADB:
            return .notADatabase(path: path, reason: detail)
        case SQLITE_FULL:
            return .io(operation: "SQLite \(detail)", path: path, errno: 28)
        case SQLITE_IOERR:
            return .io(operation: "SQLite \(detail)", path: path, errno: systemErrno != 0 ? systemErrno : EIO)
        case SQLITE_CANTOPEN where systemErrno != 0:
            return .io(operation: "SQLite \(detail)", path: path, errno: systemErrno)
        case SQLITE_TOOBIG:
            return .unsupported("SQLite rejected the key or value size (\(detail))")
        default:
            return .engine(name: SQLiteStore.engineName, message: detail)
        }
    }
}

/// Owns a `sqlite3` connection and closes it in `deinit` (`sqlite3_close_v2`,
/// which waits for the connection's statements to be finalized).
/// A connection is used by one thread at a time (opened with `SQLITE_OPEN_NOMUTEX`).
final class SQLiteConnection: @unchecked Sendable {
    let pointer: OpaquePointer
    let path: String

    init(file: String, directory: String, create: Bool) throws(StoreError) {
        path = directory
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0)
        let code = sqlite3_open_v2(file, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let failure = SQLiteFailure("sqlite3_open_v2", connection: handle, code: code)
            sqlite3_close_v2(handle)
            throw failure.storeError(path: directory)
        }
        pointer = handle
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { sqlite3_close_v2(pointer) }

    /// Throws the connection's last error unless `code` is one of `accepted`.
    @inline(__always)
    func check(_ code: Int32, _ operation: @autoclosure () -> String, accepting accepted: Int32 = SQLITE_OK) throws(StoreError) {
        if code == accepted || code == SQLITE_OK { return }
        throw SQLiteFailure(operation(), connection: pointer, code: code).storeError(path: path)
    }

    /// Runs SQL that returns no rows the caller needs (pragmas, schema).
    func execute(_ sql: String) throws(StoreError) {
        try check(sqlite3_exec(pointer, sql, nil, nil, nil), sql)
    }

    /// The first column of the first row of `sql` as text, or nil when it returns no row.
    func text(_ sql: String) throws(StoreError) -> String? {
        let statement = try SQLiteStatement(connection: self, sql: sql)
        let code = sqlite3_step(statement.pointer)
        if code == SQLITE_DONE { return nil }
        try check(code, sql, accepting: SQLITE_ROW)
        return sqlite3_column_text(statement.pointer, 0).map { String(cString: $0) }
    }

    /// A `sqlite3_db_status` counter (current value).
    func status(_ operation: Int32) -> Int32 {
        var current: Int32 = 0, highWater: Int32 = 0
        return sqlite3_db_status(pointer, operation, &current, &highWater, 0) == SQLITE_OK ? current : 0
    }
}

/// Owns a prepared statement and finalizes it in `deinit`; keeps its connection alive.
final class SQLiteStatement: @unchecked Sendable {
    let pointer: OpaquePointer
    let connection: SQLiteConnection
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws(StoreError) {
        self.connection = connection
        self.sql = sql
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.pointer, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw SQLiteFailure("sqlite3_prepare_v3(\(sql))", connection: connection.pointer, code: code).storeError(path: connection.path)
        }
        pointer = handle
    }

    deinit { sqlite3_finalize(pointer) }

    /// `SQLITE_TRANSIENT`, a C macro (the destructor pointer -1) that Swift does not import.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds `bytes` as a BLOB to parameter `index`. Without `copying` SQLite reads the
    /// caller's bytes (`SQLITE_STATIC`), and the caller resets the statement (`finish`)
    /// before they go away; with it SQLite keeps a copy (`SQLITE_TRANSIENT`). An empty
    /// buffer is bound as a zero-length BLOB, not as NULL.
    @inline(__always)
    func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32, copying: Bool = false) throws(StoreError) {
        let code = bytes.count == 0
            ? sqlite3_bind_zeroblob(pointer, index, 0)
            : sqlite3_bind_blob(pointer, index, bytes.baseAddress, Int32(bytes.count), copying ? Self.transient : nil)
        try connection.check(code, "sqlite3_bind_blob(\(sql))")
    }

    /// Steps once; returns true on a row, false when done.
    @inline(__always)
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(pointer)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        let failure = SQLiteFailure("sqlite3_step(\(sql))", connection: connection.pointer, code: code)
        finish()
        throw failure.storeError(path: connection.path)
    }

    /// Steps a statement that returns no row, then resets it.
    @inline(__always)
    func run() throws(StoreError) {
        defer { finish() }
        _ = try step()
    }

    /// Resets the statement and drops its bindings, so no bound pointer outlives the call.
    @inline(__always)
    func finish() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    /// Column `index` of the current row as a borrowed buffer, valid until the next step or reset.
    @inline(__always)
    func blob(_ index: Int32) -> UnsafeRawBufferPointer {
        // The pointer first, then the length (SQLite's documented order).
        let start = sqlite3_column_blob(pointer, index)
        return UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(pointer, index)))
    }
}
