import CLevelDB
import KVStore
import LevelDBStyleAPI
import StorageIO
import Synchronization

/// The LevelDB engine, through LevelDB's C API (`leveldb/c.h`).
///
/// Durability: `fsync` writes with `sync = true` (the log is fdatasync'd before
/// the write returns; concurrent writers share a sync, LevelDB's group commit),
/// and syncs the directory before acknowledging when a file appeared in it
/// (`LevelDBDirectorySync`: LevelDB itself syncs it only with a MANIFEST);
/// `os` writes with `sync = false` (LevelDB hands every log record to the
/// kernel before it acknowledges); `none` is refused with `StoreError.unsupported`:
/// LevelDB always writes its log and has no option to skip it.
///
/// Memory budget: half to the block cache, a quarter to the write buffer
/// (LevelDB holds one memtable and at most one immutable one being flushed,
/// so the memtables take up to half). The index and filter blocks of open
/// tables live in LevelDB's table cache, outside the block cache
/// (`max_open_files` 1000, LevelDB's default). Bloom filters of 10 bits per
/// key, compression off, block checksums verified on every read from a file
/// (`verify_checksums`), and `paranoid_checks` on, as RocksDB has it by default
/// (LevelDB's default is off: compactions then copy damaged blocks into new,
/// validly checksummed tables, and recovery skips damaged log records;
/// `leveldb.paranoid_checks=false` restores LevelDB's default).
///
/// Writes go through one reused write batch per thread (`LevelDBStyleWriter`):
/// `leveldb_put` would build a new one each call. Point reads copy the value (`leveldb_get` returns a malloc'd copy, which
/// `withValue` lends and frees). Thread safety: any number of threads may read
/// and write concurrently (LevelDB is internally synchronized); `close()` must
/// not race with other calls.
///
/// `@unchecked Sendable`: the C handles are created once and never reassigned;
/// LevelDB's `DB`, options and cache are safe for concurrent use, and
/// `close()` is guarded by an atomic flag.
public final class LevelDBStore: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = LevelDBStyleCursor

    public static let engineName = "leveldb"

    /// The LevelDB library version, from `leveldb_major_version` and `leveldb_minor_version`.
    public static let engineVersion = "\(leveldb_major_version()).\(leveldb_minor_version())"

    public let options: StoreOptions
    public let limits = StoreLimits(maxKeySize: 8 << 20, maxValueSize: 1 << 30)
    public let settingsReport: [String: String]

    private let database: OpaquePointer
    private let lock: DirectoryLock
    private let dbOptions: LevelDBOptionsHandle
    private let cache: LevelDBCacheHandle
    private let filterPolicy: LevelDBFilterPolicyHandle
    private let readOptions = LevelDBReadOptionsHandle(verifyChecksums: true)
    private let writeOptions: LevelDBWriteOptionsHandle
    private let library = LevelDBStyleLibrary.levelDB
    /// Every write goes through it: one reused write batch per thread.
    private let writer: LevelDBStyleWriter
    /// In `fsync` mode: syncs the directory after a write when a file appeared in it.
    private let directorySync: LevelDBDirectorySync?
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    private let pointLookups = Atomic<UInt64>(0)

    private init(options: StoreOptions, database: OpaquePointer, lock: DirectoryLock, dbOptions: LevelDBOptionsHandle,
                 cache: LevelDBCacheHandle, filterPolicy: LevelDBFilterPolicyHandle, writeOptions: LevelDBWriteOptionsHandle,
                 writer: LevelDBStyleWriter, settings: [String: String]) {
        self.options = options
        self.database = database
        self.lock = lock
        self.dbOptions = dbOptions
        self.cache = cache
        self.filterPolicy = filterPolicy
        self.writeOptions = writeOptions
        self.writer = writer
        self.directorySync = options.durability == .fsync ? LevelDBDirectorySync(path: options.directory) : nil
        self.settingsReport = settings
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    /// The sentence `open` throws for durability `none`.
    public static let noneRefusal = "LevelDB has no mode without its write-ahead log (every write goes to its log first); use --durability os or fsync"

    /// The `leveldb.*` settings: whether paranoid checks are on (by default they are).
    private static func readParanoidChecks(_ options: StoreOptions) throws(StoreError) -> Bool {
        try EngineSettings(options.settings, engine: "LevelDB", known: ["leveldb.paranoid_checks"]).flag("leveldb.paranoid_checks") ?? true
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try readParanoidChecks(options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> LevelDBStore {
        let path = options.directory
        if options.durability == .none { throw .unsupported(noneRefusal) }
        let paranoid = try readParanoidChecks(options)
        try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing, marker: "CURRENT", engine: "LevelDB")
        let lock = try DirectoryLock(directory: path)

        let budget = max(options.memoryBudget, 4 << 20)
        let cacheBytes = budget / 2
        let writeBufferBytes = budget / 4
        let dbOptions = LevelDBOptionsHandle()
        let cache = LevelDBCacheHandle(capacity: cacheBytes)
        let filterPolicy = LevelDBFilterPolicyHandle(bitsPerKey: 10)
        leveldb_options_set_create_if_missing(dbOptions.pointer, options.createIfMissing ? 1 : 0)
        leveldb_options_set_paranoid_checks(dbOptions.pointer, paranoid ? 1 : 0)
        leveldb_options_set_compression(dbOptions.pointer, Int32(leveldb_no_compression))
        leveldb_options_set_write_buffer_size(dbOptions.pointer, writeBufferBytes)
        leveldb_options_set_cache(dbOptions.pointer, cache.pointer)
        leveldb_options_set_filter_policy(dbOptions.pointer, filterPolicy.pointer)
        leveldb_options_set_max_open_files(dbOptions.pointer, maxOpenFiles)

        let batches = try LevelDBStyleWriter.makeBatches(path: path)
        let writeOptions = LevelDBWriteOptionsHandle(sync: options.durability == .fsync)
        let database = try LevelDBStyleLibrary.levelDB.check(path: path) { leveldb_open(dbOptions.pointer, path, $0) }
        guard let database else { throw .engine(name: engineName, message: "leveldb_open returned no database for \(path)") }
        let writer = LevelDBStyleWriter(library: .levelDB, database: database, options: writeOptions.pointer, path: path, batches: batches)
        let settings: [String: String] = [
            "compression": "none",
            "block_cache_bytes": String(cacheBytes),
            "write_buffer_bytes": String(writeBufferBytes),
            "memtables": "one active and at most one being flushed (up to 2 x write_buffer_bytes)",
            "max_open_files": "\(maxOpenFiles) (index and filter blocks of open tables are held in the table cache, outside the block cache)",
            "bloom_bits_per_key": "10",
            "verify_checksums": "true (every block read from a file)",
            "paranoid_checks": paranoid ? "true (as RocksDB's default; LevelDB's is false)" : "false (LevelDB's default)",
            "wal": options.durability == .fsync ? "sync (fdatasync per write, group commit; the directory synced before acknowledging when a file appeared in it)" : "no sync (each record written to the kernel)",
            "reads": "leveldb_get copies each value",
        ]
        return LevelDBStore(options: options, database: database, lock: lock, dbOptions: dbOptions,
                            cache: cache, filterPolicy: filterPolicy, writeOptions: writeOptions, writer: writer, settings: settings)
    }

    /// LevelDB's default table cache size, kept: each open table's index and filter live there.
    static let maxOpenFiles: Int32 = 1000

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try writer.put(key, value)
        try directorySync?.afterSyncedWrite()
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        var length = 0
        let value = try key.withBorrowedBytes { (k) throws(StoreError) in
            try library.check(path: options.directory) {
                leveldb_get(database, readOptions.pointer, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &length, $0)
            }
        }
        pointLookups.add(1, ordering: .relaxed)
        // A missing key is a null pointer; an empty value is a non-null pointer of length 0.
        guard let value else { return nil }
        defer { leveldb_free(value) }
        return body(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try writer.delete(key)
        try directorySync?.afterSyncedWrite()
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        try writer.write(batch)
        try directorySync?.afterSyncedWrite()
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func withCursor<Result>(_ body: (inout LevelDBStyleCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        return try library.withCursor(database: database, readOptions: readOptions.pointer, path: options.directory, body)
    }

    /// LevelDB has no call that syncs the log alone: an empty batch written with
    /// `sync = true` syncs the log, and with it every earlier write; then the directory.
    public func sync() throws(StoreError) {
        try ensureOpen()
        let syncing = LevelDBWriteOptionsHandle(sync: true)
        let empty = LevelDBWriteBatchHandle()
        try library.check(path: options.directory) { leveldb_write(database, syncing.pointer, empty.pointer, $0) }
        try FileSystem.syncDirectory(options.directory)
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        leveldb_compact_range(database, nil, 0, nil, 0)
        return true
    }

    /// LevelDB counts neither log bytes nor compactions, and its `leveldb.stats`
    /// table rounds to whole MiB: the engine view of write bytes is `nil` (the issued
    /// view stands in) and `compaction` is `nil`; the table's figures are kept as counters.
    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        snapshot.pointLookups = pointLookups.load(ordering: .relaxed)
        guard !isClosed.load(ordering: .relaxed) else { return snapshot }
        if let stats = property("leveldb.stats") {
            snapshot.counters = Self.statsCounters(stats)
        }
        if let memory = property("leveldb.approximate-memory-usage"), let bytes = Double(memory) {
            snapshot.counters["approximate_memory_bytes"] = bytes
        }
        if let directorySync { snapshot.counters["directory_syncs"] = Double(directorySync.count) }
        return snapshot
    }

    /// The per-level table of `leveldb.stats` summed into counters (see `LevelDBStatsTable`).
    public static func statsCounters(_ text: String) -> [String: Double] { LevelDBStatsTable(text).counters }

    /// A LevelDB property such as `leveldb.stats`, or nil when unknown.
    public func property(_ name: String) -> String? {
        guard !isClosed.load(ordering: .relaxed), let raw = leveldb_property_value(database, name) else { return nil }
        defer { leveldb_free(raw) }
        return String(cString: raw)
    }

    /// Closes the database. A write in `fsync` mode was synced when it returned and one
    /// in `os` mode is in the kernel, so closing has nothing to flush for either promise.
    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        leveldb_close(database)
        lock.release()
    }
}

/// The per-level table of `leveldb.stats` (`Level Files Size(MB) Time(sec) Read(MB) Write(MB)`),
/// summed into counters: `files`, `size_mib`, `compaction.time_s`, `compaction.read_mib`,
/// `compaction.write_mib` (whole MiB, as LevelDB prints them; flushes count as level-0 compactions).
struct LevelDBStatsTable {
    private(set) var counters: [String: Double] = [:]

    init(_ text: String) {
        var files = 0.0, size = 0.0, time = 0.0, read = 0.0, written = 0.0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").compactMap { Double($0) }
            guard fields.count == 6 else { continue }
            counters["files.l\(Int(fields[0]))"] = fields[1]
            files += fields[1]
            size += fields[2]
            time += fields[3]
            read += fields[4]
            written += fields[5]
        }
        counters["files"] = files
        counters["size_mib"] = size
        counters["compaction.time_s"] = time
        counters["compaction.read_mib"] = read
        counters["compaction.write_mib"] = written
    }
}
