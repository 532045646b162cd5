import CSQLite
import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite engine: one `WITHOUT ROWID` table `kv (k BLOB PRIMARY KEY, v BLOB)`
/// in `kv.sqlite`, a B-tree clustered on the key, in WAL journal mode.
///
/// Durability (WAL mode for both): `fsync` is `synchronous=FULL` (the WAL is
/// synced at every commit); `os` is `synchronous=NORMAL` (a commit is written to
/// the WAL with `pwrite` and synced only at checkpoints, so it survives a process
/// crash, not a power loss); `none` is refused with `StoreError.unsupported`: the
/// only ways SQLite skips its journal (`journal_mode=OFF` or `MEMORY`) write
/// pages in place, so a process crash in the middle of a commit can leave a
/// corrupt database, not merely lose recent writes.
///
/// Connections: one writer connection, its prepared statements reused under a
/// mutex (SQLite has one writer at a time); each reading thread has its own
/// read connection with its prepared statements, kept for the store's life.
/// A cursor runs in a read transaction on its thread's connection; a read
/// inside a cursor on the same thread takes another connection of that thread.
///
/// Memory budget: every connection's `cache_size` is the budget, and the sum
/// over connections is held to it by `sqlite3_soft_heap_limit64` (process-wide,
/// so the store opened last sets it); `mmap_size=0`, so reads go through SQLite's
/// cache and `pread`. `secure_delete` is off (Debian compiles it on; SQLite's
/// default is off). Keys up to 64 KiB.
///
/// `@unchecked Sendable`: the writer connection is only used under `writer`'s
/// lock; read connections belong to one thread each (found through a
/// pthread key) and are touched by another only in `close()`, which must not
/// race with other calls.
public final class SQLiteStore: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = SQLiteCursor

    public static let engineName = "sqlite"

    /// The SQLite library version, from `sqlite3_libversion`.
    public static let engineVersion = String(cString: sqlite3_libversion())

    /// The database file inside the store's directory.
    public static let fileName = "kv.sqlite"

    /// The sentence `open` throws for durability `none`.
    public static let noneRefusal = "SQLite has no mode without a journal that keeps a crash from corrupting the database (journal_mode OFF or MEMORY write pages in place); use --durability os or fsync"

    public let options: StoreOptions
    public let limits: StoreLimits
    public let settingsReport: [String: String]

    /// nil once closed.
    private let writer: Mutex<SQLiteWriter?>
    private let lock: DirectoryLock
    private let file: String
    private let readerKey: pthread_key_t
    private let slots = Mutex<[SQLiteReaderSlot]>([])
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    private let commits = Atomic<UInt64>(0)
    private let pointLookups = Atomic<UInt64>(0)

    private init(options: StoreOptions, writer: SQLiteWriter, lock: DirectoryLock, file: String,
                 readerKey: pthread_key_t, limits: StoreLimits, settings: [String: String]) {
        self.options = options
        self.writer = Mutex(writer)
        self.lock = lock
        self.file = file
        self.readerKey = readerKey
        self.limits = limits
        self.settingsReport = settings
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) {
        _ = try EngineSettings(options.settings, engine: "SQLite", known: [])
    }

    public static func open(_ options: StoreOptions) throws(StoreError) -> SQLiteStore {
        let path = options.directory
        if options.durability == .none { throw .unsupported(noneRefusal) }
        try checkSettings(options)
        let existed = try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing, marker: fileName, engine: "SQLite")
        let lock = try DirectoryLock(directory: path)
        let file = path + "/" + fileName
        let budget = max(options.memoryBudget, 1 << 20)
        sqlite3_soft_heap_limit64(Int64(budget))
        let connection = try SQLiteConnection(file: file, directory: path, create: options.createIfMissing)
        try configure(connection, durability: options.durability, budget: budget)
        // Sets WAL mode, which SQLite records in the database file (a no-op when already set).
        let mode = try connection.text("PRAGMA journal_mode=WAL")
        guard mode == "wal" else {
            throw .engine(name: engineName, message: "PRAGMA journal_mode=WAL left the journal mode at \(mode ?? "nothing")")
        }
        try connection.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID")
        // SQLite syncs the directory after creating the WAL, not after creating the database file.
        if !existed { try FileSystem.syncDirectory(path) }
        let writer = try SQLiteWriter(connection: connection)
        let lengthLimit = Int(sqlite3_limit(connection.pointer, SQLITE_LIMIT_LENGTH, -1))
        let limits = StoreLimits(maxKeySize: maxKeySize, maxValueSize: lengthLimit - maxKeySize - 64)
        var key = pthread_key_t()
        guard pthread_key_create(&key, nil) == 0 else { throw .io(operation: "pthread_key_create", path: path, errno: errno) }
        let settings: [String: String] = [
            "table": "kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID",
            "journal_mode": "wal",
            "synchronous": options.durability == .fsync ? "full (WAL synced at every commit)" : "normal (WAL synced at checkpoints only)",
            "wal_autocheckpoint_pages": "1000 (SQLite's default)",
            "cache_size_bytes": "\(budget) per connection, all connections held to it by sqlite3_soft_heap_limit64",
            "mmap_size": "0",
            "page_size": try connection.text("PRAGMA page_size") ?? "unknown",
            "secure_delete": "off",
            "connections": "one writer (statements reused under a lock), one reader per thread (statements reused)",
            "compression": "none (SQLite has none)",
        ]
        return SQLiteStore(options: options, writer: writer, lock: lock, file: file, readerKey: key, limits: limits, settings: settings)
    }

    /// The largest key accepted.
    static let maxKeySize = 64 << 10

    /// Per-connection settings: sync level, cache, no memory map, no zeroing of freed content, busy wait.
    private static func configure(_ connection: SQLiteConnection, durability: Durability, budget: Int) throws(StoreError) {
        sqlite3_busy_timeout(connection.pointer, 10_000)
        try connection.execute("PRAGMA synchronous=\(durability == .fsync ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA cache_size=-\(budget / 1024)")
        try connection.execute("PRAGMA mmap_size=0")
        try connection.execute("PRAGMA secure_delete=OFF")
    }

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try withWriter { (writer) throws(StoreError) in try writer.put(key, value) }
        commits.add(1, ordering: .relaxed)
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try withWriter { (writer) throws(StoreError) in try writer.delete(key) }
        commits.add(1, ordering: .relaxed)
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        guard !batch.isEmpty else { return }
        try withWriter { (writer) throws(StoreError) in try writer.apply(batch) }
        commits.add(1, ordering: .relaxed)
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    /// Runs `body` with the writer under its lock.
    @inline(__always)
    private func withWriter<T>(_ body: (SQLiteWriter) throws(StoreError) -> T) throws(StoreError) -> T {
        try writer.withLock { (writer) throws(StoreError) -> T in
            guard let writer else { throw .closed }
            return try body(writer)
        }
    }

    /// The calling thread's reader slot, created on first use.
    @inline(__always)
    private func threadSlot() -> SQLiteReaderSlot {
        if let existing = pthread_getspecific(readerKey) {
            return Unmanaged<SQLiteReaderSlot>.fromOpaque(existing).takeUnretainedValue()
        }
        let slot = SQLiteReaderSlot()
        slots.withLock { $0.append(slot) }
        pthread_setspecific(readerKey, Unmanaged.passUnretained(slot).toOpaque())
        return slot
    }

    private func openReader() throws(StoreError) -> SQLiteReader {
        let connection = try SQLiteConnection(file: file, directory: options.directory, create: false)
        try Self.configure(connection, durability: options.durability, budget: max(options.memoryBudget, 1 << 20))
        try connection.execute("PRAGMA query_only=1")
        return try SQLiteReader(connection: connection)
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let reader = try threadSlot().acquire(openReader)
        defer { reader.busy = false }
        pointLookups.add(1, ordering: .relaxed)
        let statement = reader.get
        defer { statement.finish() }
        let found = try key.withBorrowedBytes { (k) throws(StoreError) -> Bool in
            try statement.bind(k, at: 1)
            return try statement.step()
        }
        guard found else { return nil }
        return body(statement.blob(0))
    }

    public func withCursor<Result>(_ body: (inout SQLiteCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        let reader = try threadSlot().acquire(openReader)
        defer { reader.busy = false }
        try reader.begin.run()
        var cursor = SQLiteCursor(reader: reader)
        defer {
            cursor.invalidate()
            // A read transaction commits without writing anything; it only releases the snapshot.
            try? reader.commit.run()
        }
        return try body(&cursor)
    }

    /// Syncs the WAL, the database file and the directory (`fsync` of descriptors of our own:
    /// Linux writes back a file's dirty pages whichever descriptor is synced).
    public func sync() throws(StoreError) {
        try ensureOpen()
        try withWriter { (_) throws(StoreError) in
            for name in [file + "-wal", file] where FileSystem.exists(name) {
                try StorageFile(path: name, mode: .readOnly).sync()
            }
            try FileSystem.syncDirectory(options.directory)
        }
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        return false
    }

    /// SQLite does not count the bytes it writes: the engine view is `nil` (the issued view
    /// stands in). The writer connection's page-cache counters are kept as counters.
    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        snapshot.pointLookups = pointLookups.load(ordering: .relaxed)
        snapshot.counters["commits"] = Double(commits.load(ordering: .relaxed))
        guard !isClosed.load(ordering: .relaxed) else { return snapshot }
        writer.withLock { writer in
            guard let connection = writer?.connection else { return }
            snapshot.counters["writer.cache_hits"] = Double(connection.status(SQLITE_DBSTATUS_CACHE_HIT))
            snapshot.counters["writer.cache_misses"] = Double(connection.status(SQLITE_DBSTATUS_CACHE_MISS))
            snapshot.counters["writer.pages_written"] = Double(connection.status(SQLITE_DBSTATUS_CACHE_WRITE))
            snapshot.counters["writer.cache_used_bytes"] = Double(connection.status(SQLITE_DBSTATUS_CACHE_USED))
        }
        snapshot.counters["read_connections"] = Double(slots.withLock { $0.reduce(0) { $0 + $1.readers.count } })
        return snapshot
    }

    /// Closes every read connection, then the writer (the last connection to close
    /// checkpoints the WAL into the database file, synced unless the store was opened `os`).
    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        slots.withLock { $0.removeAll() }
        pthread_key_delete(readerKey)
        writer.withLock { $0 = nil }
        lock.release()
    }
}

/// The writer connection and its prepared statements. `@unchecked Sendable`:
/// used only under the store's lock.
final class SQLiteWriter: @unchecked Sendable {
    let connection: SQLiteConnection
    private let putStatement: SQLiteStatement
    private let deleteStatement: SQLiteStatement
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement
    private let rollback: SQLiteStatement

    init(connection: SQLiteConnection) throws(StoreError) {
        self.connection = connection
        putStatement = try SQLiteStatement(connection: connection, sql: "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
        deleteStatement = try SQLiteStatement(connection: connection, sql: "DELETE FROM kv WHERE k = ?1")
        begin = try SQLiteStatement(connection: connection, sql: "BEGIN IMMEDIATE")
        commit = try SQLiteStatement(connection: connection, sql: "COMMIT")
        rollback = try SQLiteStatement(connection: connection, sql: "ROLLBACK")
    }

    func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try putStatement.bind(k, at: 1)
                try putStatement.bind(v, at: 2)
                try putStatement.run()
            }
        }
    }

    func delete(_ key: Bytes) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try deleteStatement.bind(k, at: 1)
            try deleteStatement.run()
        }
    }

    /// Applies a batch in one `BEGIN IMMEDIATE` ... `COMMIT` transaction; rolls back on any error.
    func apply(_ batch: WriteBatch) throws(StoreError) {
        try begin.run()
        do {
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value): try put(key, value)
                case .delete(let key): try delete(key)
                }
            }
            try commit.run()
        } catch {
            try? rollback.run()
            throw error
        }
    }
}
