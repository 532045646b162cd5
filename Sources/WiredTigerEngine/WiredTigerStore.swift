import CWiredTiger
import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The kind of WiredTiger table behind an engine: its B-tree or its LSM tree.
public protocol WiredTigerTableType: Sendable {
    /// The engine's name on the command line.
    static var engineName: String { get }
    /// `type` in `WT_SESSION::create`: `file` (a B-tree) or `lsm`.
    static var typeName: String { get }
    /// Settings of `WT_SESSION::create` beyond the formats and the type, for a cache of
    /// `cacheBytes`, and how they appear in the report.
    static func tableSettings(cacheBytes: Int) -> (config: String, report: [String: String])
}

/// WiredTiger's B-tree table (`type=file`), the table MongoDB uses.
public enum WiredTigerBTree: WiredTigerTableType {
    public static let engineName = "wiredtiger"
    public static let typeName = "file"
    public static func tableSettings(cacheBytes: Int) -> (config: String, report: [String: String]) {
        ("", ["table": "B-tree (type=file), WiredTiger's default page sizes"])
    }
}

/// WiredTiger's LSM table (`type=lsm`): B-tree chunks merged in the background, bloom filters.
public enum WiredTigerLSM: WiredTigerTableType {
    public static let engineName = "wiredtiger-lsm"
    public static let typeName = "lsm"
    /// The in-memory chunk lives in the cache. WiredTiger refuses to open an LSM tree unless the
    /// cache holds three chunks plus a leaf page (32 KiB) for each of 3 × 15 merging chunks;
    /// the chunk is a quarter of the cache left after those pages, between WiredTiger's
    /// minimum (512 KiB) and its default (10 MiB).
    public static func tableSettings(cacheBytes: Int) -> (config: String, report: [String: String]) {
        let mergePages = 3 * 15 * (32 << 10)
        let chunk = min(max((cacheBytes - mergePages) / 4, 512 << 10), 10 << 20)
        return (",lsm=(chunk_size=\(chunk))", [
            "table": "LSM (type=lsm): B-tree chunks, merged by the LSM manager's threads",
            "lsm_chunk_size_bytes": String(chunk),
            "lsm_bloom": "on (WiredTiger's defaults: 16 bits per key, 8 hashes, not on the oldest chunk)",
        ])
    }
}

/// WiredTiger's B-tree engine (`wiredtiger`).
public typealias WiredTigerStore = WiredTigerTableStore<WiredTigerBTree>
/// WiredTiger's LSM engine (`wiredtiger-lsm`).
public typealias WiredTigerLSMStore = WiredTigerTableStore<WiredTigerLSM>

/// A WiredTiger database holding one table, `table:kvbench` (`key_format=u,value_format=u`:
/// raw bytes, ordered as `memcmp` orders them, shorter first on a common prefix).
///
/// Durability (`docs/measurement.md`):
/// - `none`: logging off (`log=(enabled=false)`); writes are durable at checkpoints only
///   (every `wiredtiger.checkpoint_seconds`, 60 by default, and at `close`/`sync`).
/// - `os`: logging on, `transaction_sync=(enabled=true,method=none)`: each commit waits until
///   its log record has been written to the log file (`write_lsn`), not synced.
/// - `fsync`: logging on, `transaction_sync=(enabled=true,method=fsync)`: each commit waits
///   until its log record is synced (`fdatasync`; concurrent commits share a sync).
///
/// Memory: the whole budget is WiredTiger's `cache_size` (at least 1 MiB); the log's buffers
/// are WiredTiger's own, small and fixed. Threads: sessions are not thread-safe, so each
/// thread gets its own session and cursor on first use (`WiredTigerSessionPool`); a thread's
/// `withCursor` uses a second session in a snapshot transaction. Writes that conflict
/// (`WT_ROLLBACK`) are retried. `close()` must not race with other calls.
///
/// `@unchecked Sendable`: the connection is thread-safe; every session stays with one thread.
public final class WiredTigerTableStore<Table: WiredTigerTableType>: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = WiredTigerCursor

    public static var engineName: String { Table.engineName }

    /// The library's version, from `wiredtiger_version`.
    public static var engineVersion: String { WiredTigerLibrary.version }

    /// The table every store uses.
    static var uri: String { "table:kvbench" }

    public let options: StoreOptions
    /// WiredTiger's own limit is about 4 GB per item; the adapter takes RocksDB's adapter's.
    public let limits = StoreLimits(maxKeySize: 8 << 20, maxValueSize: 1 << 30)
    public let settingsReport: [String: String]

    private let connection: UnsafeMutablePointer<WT_CONNECTION>
    private let sessions: WiredTigerSessionPool
    private let lock: DirectoryLock
    private let logging: Bool
    private let statisticsEnabled: Bool
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    private let conflictRetries = Atomic<UInt64>(0)

    private init(options: StoreOptions, connection: UnsafeMutablePointer<WT_CONNECTION>, sessions: WiredTigerSessionPool,
                 lock: DirectoryLock, settings: WiredTigerSettings, report: [String: String]) {
        self.options = options
        self.connection = connection
        self.sessions = sessions
        self.lock = lock
        self.logging = options.durability != .none
        self.statisticsEnabled = settings.statistics
        self.settingsReport = report
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try WiredTigerSettings(options.settings) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> WiredTigerTableStore {
        let path = options.directory
        let settings = try WiredTigerSettings(options.settings)
        let existed = try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing,
                                                              marker: "WiredTiger", engine: "WiredTiger")
        let lock = try DirectoryLock(directory: path)
        let cacheBytes = WiredTigerSettings.cacheBytes(budget: options.memoryBudget)
        let table = Table.tableSettings(cacheBytes: cacheBytes)
        let configuration = WiredTigerSettings.connectionConfiguration(
            create: !existed, cacheBytes: cacheBytes, durability: options.durability, settings: settings)

        var handle: UnsafeMutablePointer<WT_CONNECTION>?
        WiredTigerEvents.clearMessages()
        WiredTigerEvents.forgetFullDisk()
        let code = wiredtiger_open(path, WiredTigerEvents.handler, configuration, &handle)
        if code != 0 {
            lock.release()
            if code == ENOENT && !existed { throw .notFound(path: path) }
            try checkWiredTiger(code, "wiredtiger_open(\(path))", path: path, engine: engineName)
        }
        guard let connection = handle else {
            lock.release()
            throw .engine(name: engineName, message: "wiredtiger_open returned no connection for \(path)")
        }
        do {
            try prepareTable(connection, path: path, create: options.createIfMissing, tableConfig: table.config)
            let sessions = try WiredTigerSessionPool(path: path)
            var report = settings.report(cacheBytes: cacheBytes, durability: options.durability)
            report.merge(table.report) { _, new in new }
            return WiredTigerTableStore(options: options, connection: connection, sessions: sessions, lock: lock,
                                        settings: settings, report: report)
        } catch {
            _ = connection.pointee.close(connection, nil)
            lock.release()
            throw error
        }
    }

    /// Creates `table:kvbench`, or checks that the existing one is of this engine's type.
    private static func prepareTable(_ connection: UnsafeMutablePointer<WT_CONNECTION>, path: String, create: Bool,
                                     tableConfig: String) throws(StoreError) {
        var session: UnsafeMutablePointer<WT_SESSION>?
        try checkWiredTiger(connection.pointee.open_session(connection, nil, nil, &session), "WT_CONNECTION::open_session", path: path, engine: engineName)
        guard let session else { throw .engine(name: engineName, message: "open_session returned no session") }
        defer { _ = session.pointee.close(session, nil) }
        var metadata: UnsafeMutablePointer<WT_CURSOR>?
        try checkWiredTiger(session.pointee.open_cursor(session, "metadata:", nil, nil, &metadata), "WT_SESSION::open_cursor(metadata:)", path: path, engine: engineName)
        guard let metadata else { throw .engine(name: engineName, message: "open_cursor returned no metadata cursor") }
        var value: UnsafePointer<CChar>?
        let found = kvbench_wt_search_string(metadata, "colgroup:kvbench", &value)
        let existing = found == 0 ? value.map { String(cString: $0) } : nil
        _ = metadata.pointee.close(metadata)
        if found != 0 && found != WT_NOTFOUND {
            try checkWiredTiger(found, "metadata search for colgroup:kvbench", path: path, engine: engineName)
        }
        if let existing {
            let type = existing.split(separator: ",").first { $0.hasPrefix("type=") }.map { String($0.dropFirst(5)) } ?? "file"
            guard type == Table.typeName else {
                let other = type == "lsm" ? WiredTigerLSM.engineName : WiredTigerBTree.engineName
                throw .notADatabase(path: path, reason: "its WiredTiger table is of type \(type); open it with the engine \(other)")
            }
            return
        }
        guard create else {
            throw .notADatabase(path: path, reason: "it holds a WiredTiger database without KVBench's table (table:kvbench)")
        }
        try checkWiredTiger(session.pointee.create(session, uri, "key_format=u,value_format=u,type=\(Table.typeName)" + tableConfig),
                            "WT_SESSION::create(\(uri))", path: path, engine: engineName)
    }

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    @inline(__always)
    private func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(StoreError) {
        try checkWiredTiger(code, operation(), path: options.directory, engine: Self.engineName)
    }

    private func openPair(config: String?) throws(StoreError) -> WiredTigerSessionCursor {
        try WiredTigerSessionCursor.open(connection, uri: Self.uri, config: config, path: options.directory, engine: Self.engineName)
    }

    /// The calling thread's sessions, attached on first use.
    @inline(__always)
    private func threadSession() throws(StoreError) -> WiredTigerThreadSession {
        if let existing = pthread_getspecific(sessions.key) {
            return Unmanaged<WiredTigerThreadSession>.fromOpaque(existing).takeUnretainedValue()
        }
        return try sessions.attach { () throws(StoreError) in try openPair(config: nil) }
    }

    /// Runs `attempt` again while it returns `WT_ROLLBACK` (a conflict with a concurrent
    /// writer, which WiredTiger asks the application to retry).
    @inline(__always)
    private func retryingConflicts(_ operation: @autoclosure () -> String, _ attempt: () -> Int32) throws(StoreError) {
        while true {
            let code = attempt()
            if code != WT_ROLLBACK { return try check(code, operation()) }
            conflictRetries.add(1, ordering: .relaxed)
            sched_yield()
        }
    }

    @inline(__always)
    private static func item(_ buffer: UnsafeRawBufferPointer) -> WT_ITEM {
        var item = WT_ITEM()
        // An empty value still gets an address (as for LMDB); WiredTiger reads no bytes from it.
        item.data = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
        item.size = buffer.count
        return item
    }

    /// Sets key and value on `cursor` and inserts (an overwrite when the key exists).
    @inline(__always)
    private static func insert(_ cursor: UnsafeMutablePointer<WT_CURSOR>, _ key: Bytes, _ value: Bytes) -> Int32 {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                var keyItem = item(k)
                var valueItem = item(v)
                kvbench_wt_set_key(cursor, &keyItem)
                kvbench_wt_set_value(cursor, &valueItem)
                return cursor.pointee.insert(cursor)
            }
        }
    }

    /// Sets the key on `cursor` and removes it; a missing key is not an error.
    @inline(__always)
    private static func remove(_ cursor: UnsafeMutablePointer<WT_CURSOR>, _ key: Bytes) -> Int32 {
        let code = key.withUnsafeBytes { k in
            var keyItem = item(k)
            kvbench_wt_set_key(cursor, &keyItem)
            return cursor.pointee.remove(cursor)
        }
        return code == WT_NOTFOUND ? 0 : code
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        let cursor = try threadSession().operations.cursor
        defer { _ = cursor.pointee.reset(cursor) }
        try retryingConflicts("WT_CURSOR::insert") { Self.insert(cursor, key, value) }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        let cursor = try threadSession().operations.cursor
        defer { _ = cursor.pointee.reset(cursor) }
        try retryingConflicts("WT_CURSOR::remove") { Self.remove(cursor, key) }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        guard !batch.isEmpty else { return }
        let pair = try threadSession().operations
        let session = pair.session, cursor = pair.cursor
        try retryingConflicts("WT_SESSION::commit_transaction") {
            let begun = session.pointee.begin_transaction(session, nil)
            if begun != 0 { return begun }
            var code: Int32 = 0
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value): code = Self.insert(cursor, key, value)
                case .delete(let key): code = Self.remove(cursor, key)
                }
                if code != 0 { break }
            }
            _ = cursor.pointee.reset(cursor)
            if code != 0 {
                _ = session.pointee.rollback_transaction(session, nil)
                return code
            }
            // A commit that fails has rolled the transaction back.
            return session.pointee.commit_transaction(session, nil)
        }
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let cursor = try threadSession().operations.cursor
        defer { _ = cursor.pointee.reset(cursor) }
        // The value stays valid until the reset: it points into the page the cursor pins.
        var value = WT_ITEM()
        var code: Int32 = WT_ROLLBACK
        while code == WT_ROLLBACK {
            code = key.withUnsafeBytes { k in
                var keyItem = Self.item(k)
                kvbench_wt_set_key(cursor, &keyItem)
                let found = cursor.pointee.search(cursor)
                return found == 0 ? kvbench_wt_get_value(cursor, &value) : found
            }
        }
        if code == WT_NOTFOUND { return nil }
        try check(code, "WT_CURSOR::search")
        return body(UnsafeRawBufferPointer(start: value.data, count: value.size))
    }

    public func withCursor<Result>(_ body: (inout WiredTigerCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        let slot = try threadSession()
        let pair: WiredTigerSessionCursor
        let nested = slot.scanInUse
        if nested {
            pair = try openPair(config: "isolation=snapshot")
        } else if let scans = slot.scans {
            pair = scans
        } else {
            pair = try openPair(config: "isolation=snapshot")
            slot.scans = pair
        }
        slot.scanInUse = true
        defer {
            if nested { pair.close() } else { slot.scanInUse = false }
        }
        try check(pair.session.pointee.begin_transaction(pair.session, nil), "WT_SESSION::begin_transaction")
        var cursor = WiredTigerCursor(cursor: pair.cursor, path: options.directory, engine: Self.engineName)
        defer {
            cursor.invalidate()
            _ = pair.cursor.pointee.reset(pair.cursor)
            _ = pair.session.pointee.rollback_transaction(pair.session, nil)
        }
        return try body(&cursor)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        let session = try threadSession().operations.session
        if logging {
            try check(session.pointee.log_flush(session, "sync=on"), "WT_SESSION::log_flush(sync=on)")
        } else {
            try check(session.pointee.checkpoint(session, nil), "WT_SESSION::checkpoint")
        }
    }

    /// A checkpoint, then `WT_SESSION::compact` (the B-tree gives back free space at the end of
    /// its file; the LSM tree merges its chunks).
    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        let session = try threadSession().operations.session
        try check(session.pointee.checkpoint(session, nil), "WT_SESSION::checkpoint")
        try check(session.pointee.compact(session, Self.uri, nil), "WT_SESSION::compact")
        return true
    }

    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        snapshot.counters["conflict_retries"] = Double(conflictRetries.load(ordering: .relaxed))
        guard statisticsEnabled, !isClosed.load(ordering: .relaxed), let session = try? threadSession().operations.session else {
            return snapshot
        }
        var handle: UnsafeMutablePointer<WT_CURSOR>?
        guard session.pointee.open_cursor(session, "statistics:", nil, nil, &handle) == 0, let cursor = handle else { return snapshot }
        defer { _ = cursor.pointee.close(cursor) }
        func read(_ key: Int32) -> UInt64? {
            var value: Int64 = 0
            return kvbench_wt_statistic(cursor, key, &value) == 0 ? UInt64(clamping: value) : nil
        }
        if let blocks = read(WT_STAT_CONN_BLOCK_BYTE_WRITE), let log = read(WT_STAT_CONN_LOG_BYTES_WRITTEN) {
            snapshot.engineBytesWritten = blocks + log
        }
        snapshot.engineBytesRead = read(WT_STAT_CONN_BLOCK_BYTE_READ)
        let counters: [(String, Int32)] = [
            ("block.bytes_written", WT_STAT_CONN_BLOCK_BYTE_WRITE),
            ("block.bytes_written_checkpoint", WT_STAT_CONN_BLOCK_BYTE_WRITE_CHECKPOINT),
            ("block.bytes_read", WT_STAT_CONN_BLOCK_BYTE_READ),
            ("block.bytes_read_mmap", WT_STAT_CONN_BLOCK_BYTE_MAP_READ),
            ("log.bytes_written", WT_STAT_CONN_LOG_BYTES_WRITTEN),
            ("log.bytes_payload", WT_STAT_CONN_LOG_BYTES_PAYLOAD),
            ("log.writes", WT_STAT_CONN_LOG_WRITES),
            ("log.syncs", WT_STAT_CONN_LOG_SYNC),
            ("log.directory_syncs", WT_STAT_CONN_LOG_SYNC_DIR),
            ("cache.bytes_in_use", WT_STAT_CONN_CACHE_BYTES_INUSE),
            ("cache.bytes_max", WT_STAT_CONN_CACHE_BYTES_MAX),
            ("cache.pages_read", WT_STAT_CONN_CACHE_READ),
            ("cache.pages_written", WT_STAT_CONN_CACHE_WRITE),
            ("cursor.searches", WT_STAT_CONN_CURSOR_SEARCH),
            ("transaction.checkpoints", WT_STAT_CONN_TXN_CHECKPOINT),
            ("transaction.commits", WT_STAT_CONN_TXN_COMMIT),
            ("transaction.update_conflicts", WT_STAT_CONN_TXN_UPDATE_CONFLICT),
            ("lsm.rows_merged", WT_STAT_CONN_LSM_ROWS_MERGED),
            ("lsm.merge_throttle_usecs", WT_STAT_CONN_LSM_MERGE_THROTTLE),
        ]
        for (name, key) in counters {
            if let value = read(key) { snapshot.counters[name] = Double(value) }
        }
        return snapshot
    }

    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        sessions.close()
        WiredTigerEvents.clearMessages()
        // After a panic (a checksum mismatch, say) WiredTiger says the process must exit, and
        // closing a panicked connection with an LSM tree spins forever in 3.2.1: it is left open.
        var probe: UnsafeMutablePointer<WT_SESSION>?
        let state = connection.pointee.open_session(connection, nil, nil, &probe)
        if state == WT_PANIC {
            lock.release()
            try check(state, "WT_CONNECTION::open_session (the connection has panicked; it is left open, as WiredTiger asks the process to exit)")
        }
        if let probe { _ = probe.pointee.close(probe, nil) }
        // Closes every session and cursor, and writes a final checkpoint.
        let code = connection.pointee.close(connection, nil)
        lock.release()
        try check(code, "WT_CONNECTION::close")
    }
}

/// What is known about the loaded library.
enum WiredTigerLibrary {
    /// `major.minor.patch` from `wiredtiger_version`.
    static let version: String = {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        _ = wiredtiger_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }()
}
