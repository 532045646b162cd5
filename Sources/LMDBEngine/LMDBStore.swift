import CLMDB
import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The LMDB engine: a copy-on-write B+tree in one memory-mapped file.
///
/// Durability: `fsync` is LMDB's default commit (data and meta page synced),
/// `os` opens with `MDB_NOSYNC`, `none` is not supported by LMDB and fails
/// with `StoreError.unsupported`. Each write is one write transaction; writes
/// are serialized by LMDB's writer lock. Point reads renew a read-only
/// transaction cached per thread (never shared between threads); a cursor
/// uses its own read transaction on the calling thread for the duration of
/// `withCursor`, so it sees one snapshot. Empty keys and keys longer than
/// `mdb_env_get_maxkeysize` (511 bytes by default) are rejected before
/// anything is written. `close()` must not race with other calls.
///
/// `@unchecked Sendable`: the environment handle is set once; LMDB allows an
/// environment to be used from many threads, and every transaction here
/// stays on the thread that began it.
public final class LMDBStore: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = LMDBCursor

    public static let engineName = "lmdb"

    /// The LMDB library version reported by `mdb_version`.
    public static let engineVersion: String = {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        _ = mdb_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }()

    /// The default map size: address space reserved for the data file, not disk space.
    public static let defaultMapSize = 1 << 40

    public let options: StoreOptions
    public let limits: StoreLimits
    public let settingsReport: [String: String]

    private let environment: OpaquePointer
    private let database: MDB_dbi
    private let lock: DirectoryLock
    private let mapSize: Int
    private let readers: PerThreadSlots<LMDBThreadReader>
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    private let commits = Atomic<UInt64>(0)

    private init(options: StoreOptions, environment: OpaquePointer, database: MDB_dbi, lock: DirectoryLock,
                 mapSize: Int, readers: PerThreadSlots<LMDBThreadReader>) {
        self.options = options
        self.environment = environment
        self.database = database
        self.lock = lock
        self.mapSize = mapSize
        self.readers = readers
        let maxKey = Int(mdb_env_get_maxkeysize(environment))
        self.limits = StoreLimits(maxKeySize: maxKey, maxValueSize: Int(UInt32.max / 2))
        self.settingsReport = [
            "map_size_bytes": String(mapSize),
            "sync": options.durability == .fsync ? "default commit (fsync)" : "MDB_NOSYNC",
            "compression": "none (LMDB has none)",
            "memory_budget": "not boundable: reads go through the OS page cache",
            "max_key_bytes": String(maxKey),
            "readahead": options.settings["lmdb.no_readahead"] == "true" ? "off (MDB_NORDAHEAD)" : "on (kernel default)",
        ]
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    /// The `lmdb.*` settings: the map size, and whether read-ahead is off.
    private static func readSettings(_ options: StoreOptions) throws(StoreError) -> (mapSize: Int, noReadahead: Bool) {
        let settings = try EngineSettings(options.settings, engine: "LMDB", known: ["lmdb.map_size", "lmdb.no_readahead"])
        return (try settings.integer("lmdb.map_size", in: (1 << 20)...Int.max) ?? defaultMapSize, try settings.flag("lmdb.no_readahead") ?? false)
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try readSettings(options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> LMDBStore {
        let path = options.directory
        if options.durability == .none {
            throw .unsupported("LMDB has no mode without durability; use --durability os or fsync")
        }
        let (mapSize, noReadahead) = try readSettings(options)
        try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing, marker: "data.mdb", engine: "LMDB")
        let lock = try DirectoryLock(directory: path)

        var environment: OpaquePointer?
        try checkLMDB(mdb_env_create(&environment), "mdb_env_create", path: path)
        guard let environment else { throw .engine(name: engineName, message: "mdb_env_create returned no environment") }
        var opened = false
        defer { if !opened { mdb_env_close(environment) } }
        try checkLMDB(mdb_env_set_mapsize(environment, mapSize), "mdb_env_set_mapsize", path: path)
        try checkLMDB(mdb_env_set_maxreaders(environment, 1024), "mdb_env_set_maxreaders", path: path)
        var flags = UInt32(MDB_NOTLS)
        if options.durability == .os { flags |= UInt32(MDB_NOSYNC) }
        if noReadahead { flags |= UInt32(MDB_NORDAHEAD) }
        try checkLMDB(mdb_env_open(environment, path, flags, 0o644), "mdb_env_open", path: path)
        var deadReaders: Int32 = 0
        try checkLMDB(mdb_reader_check(environment, &deadReaders), "mdb_reader_check", path: path)

        var transaction: OpaquePointer?
        try checkLMDB(mdb_txn_begin(environment, nil, 0, &transaction), "mdb_txn_begin", path: path)
        var database: MDB_dbi = 0
        let code = mdb_dbi_open(transaction, nil, 0, &database)
        if code != 0 {
            mdb_txn_abort(transaction)
            try checkLMDB(code, "mdb_dbi_open", path: path)
        }
        try checkLMDB(mdb_txn_commit(transaction), "mdb_txn_commit", path: path)

        let readers = try PerThreadSlots<LMDBThreadReader>(path: path)
        opened = true
        return LMDBStore(options: options, environment: environment, database: database, lock: lock,
                         mapSize: mapSize, readers: readers)
    }

    /// Turns an LMDB return code into the matching `StoreError`.
    static func classify(code: Int32, operation: String, path: String) -> StoreError {
        let message = String(cString: mdb_strerror(code))
        switch code {
        case MDB_INVALID, MDB_VERSION_MISMATCH:
            return .notADatabase(path: path, reason: message)
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND:
            return .corruption(path: path, reason: message)
        case MDB_MAP_FULL:
            return .engine(name: engineName, message: "\(message): the map size is too small for this data; raise it with the setting lmdb.map_size")
        case MDB_BAD_VALSIZE:
            return .unsupported("LMDB rejected the key or value size (\(message))")
        case let errnoCode where errnoCode > 0:
            return .io(operation: operation, path: path, errno: errnoCode)
        default:
            return .engine(name: engineName, message: "\(operation): \(message)")
        }
    }

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    /// Runs `body` inside one write transaction and commits it; aborts on any error.
    private func writeTransaction(_ body: (OpaquePointer) throws(StoreError) -> Void) throws(StoreError) {
        var transaction: OpaquePointer?
        try checkLMDB(mdb_txn_begin(environment, nil, 0, &transaction), "mdb_txn_begin", path: options.directory)
        guard let transaction else { throw .engine(name: Self.engineName, message: "mdb_txn_begin returned no transaction") }
        do {
            try body(transaction)
        } catch {
            mdb_txn_abort(transaction)
            throw error
        }
        try checkLMDB(mdb_txn_commit(transaction), "mdb_txn_commit", path: options.directory)
        commits.add(1, ordering: .relaxed)
    }

    private func put(_ key: Bytes, _ value: Bytes, in transaction: OpaquePointer) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                var keyValue = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var dataValue = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress ?? UnsafeRawPointer(bitPattern: 1)))
                try checkLMDB(mdb_put(transaction, database, &keyValue, &dataValue, 0), "mdb_put", path: options.directory)
            }
        }
    }

    private func delete(_ key: Bytes, in transaction: OpaquePointer) throws(StoreError) {
        try key.withBorrowedBytes { (k) throws(StoreError) in
            var keyValue = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let code = mdb_del(transaction, database, &keyValue, nil)
            if code != MDB_NOTFOUND { try checkLMDB(code, "mdb_del", path: options.directory) }
        }
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try writeTransaction { (transaction) throws(StoreError) in try put(key, value, in: transaction) }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try writeTransaction { (transaction) throws(StoreError) in try delete(key, in: transaction) }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        try writeTransaction { (transaction) throws(StoreError) in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value): try put(key, value, in: transaction)
                case .delete(let key): try delete(key, in: transaction)
                }
            }
        }
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    /// The calling thread's cached read transaction, created on first use.
    private func threadReader() throws(StoreError) -> LMDBThreadReader {
        try readers.slot { () throws(StoreError) in
            var transaction: OpaquePointer?
            try checkLMDB(mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction), "mdb_txn_begin", path: options.directory)
            mdb_txn_reset(transaction)
            return LMDBThreadReader(transaction: transaction!)
        }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let reader = try threadReader()
        guard let transaction = reader.transaction else { throw .closed }
        try checkLMDB(mdb_txn_renew(transaction), "mdb_txn_renew", path: options.directory)
        defer { mdb_txn_reset(transaction) }
        // The lookup returns concrete values and `body` runs outside the key's closure, so this
        // function, generic over `Result` and not specialized across modules, instantiates no
        // generic type (such as `Optional<Result>`) per read. The value stays valid until the reset.
        var dataValue = MDB_val(mv_size: 0, mv_data: nil)
        let code = key.withUnsafeBytes { k in
            var keyValue = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_get(transaction, database, &keyValue, &dataValue)
        }
        if code == MDB_NOTFOUND { return nil }
        try checkLMDB(code, "mdb_get", path: options.directory)
        return body(UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
    }

    public func withCursor<Result>(_ body: (inout LMDBCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        var transaction: OpaquePointer?
        try checkLMDB(mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction), "mdb_txn_begin", path: options.directory)
        defer { mdb_txn_abort(transaction) }
        var handle: OpaquePointer?
        try checkLMDB(mdb_cursor_open(transaction, database, &handle), "mdb_cursor_open", path: options.directory)
        var cursor = LMDBCursor(cursor: handle!, path: options.directory)
        defer { cursor.invalidate() }
        return try body(&cursor)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        try checkLMDB(mdb_env_sync(environment, 1), "mdb_env_sync", path: options.directory)
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        return false
    }

    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        snapshot.counters["commits"] = Double(commits.load(ordering: .relaxed))
        guard !isClosed.load(ordering: .relaxed) else { return snapshot }
        var info = MDB_envinfo()
        if mdb_env_info(environment, &info) == 0 {
            snapshot.counters["map_size_bytes"] = Double(info.me_mapsize)
            snapshot.counters["last_page_number"] = Double(info.me_last_pgno)
            snapshot.counters["readers_in_use"] = Double(info.me_numreaders)
        }
        var transaction: OpaquePointer?
        if mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction) == 0 {
            var stat = MDB_stat()
            if mdb_stat(transaction, database, &stat) == 0 {
                snapshot.counters["page_size"] = Double(stat.ms_psize)
                snapshot.counters["tree_depth"] = Double(stat.ms_depth)
                snapshot.counters["branch_pages"] = Double(stat.ms_branch_pages)
                snapshot.counters["leaf_pages"] = Double(stat.ms_leaf_pages)
                snapshot.counters["overflow_pages"] = Double(stat.ms_overflow_pages)
                snapshot.counters["entries"] = Double(stat.ms_entries)
            }
            mdb_txn_abort(transaction)
        }
        return snapshot
    }

    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        for reader in readers.all {
            if let transaction = reader.transaction { mdb_txn_abort(transaction) }
            reader.transaction = nil
        }
        readers.close()
        var failure: StoreError?
        if options.durability == .fsync {
            do { try checkLMDB(mdb_env_sync(environment, 1), "mdb_env_sync", path: options.directory) } catch { failure = error }
        }
        mdb_env_close(environment)
        lock.release()
        if let failure { throw failure }
    }
}
