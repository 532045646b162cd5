import CRocksDB
import CRocksDBShim
import KVStore
import LevelDBStyleAPI
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The RocksDB engine, through RocksDB's C API.
///
/// Durability: `none` disables the WAL, `os` writes the WAL without syncing,
/// `fsync` syncs the WAL before acknowledging. The memory budget is split
/// evenly between the block cache and two write buffers (memtables).
/// Compression is off. Writes go through one reused write batch per thread
/// (`LevelDBStyleWriter`), as `db_bench`'s do, and every get goes through RocksDB's C++
/// `DB::Get` into one reused `PinnableSlice` per thread (the `CRocksDBShim` target), as
/// `db_bench`'s do: the C API's gets allocate on every call. RocksDB's `Statistics` object is off unless the
/// `rocksdb.statistics=true` setting asks for it (it costs throughput, see
/// docs/results.md): the engine-view write bytes and compaction figures come
/// from the `rocksdb.dbstats` and `rocksdb.cfstats-no-file-histogram`
/// properties instead. Thread safety: any number of threads may read and
/// write concurrently (RocksDB is internally synchronized); `close()` must not
/// race with other calls on the same store.
///
/// `@unchecked Sendable`: the C handles are created once and never reassigned;
/// RocksDB's `DB`, options and cache objects are documented as safe for
/// concurrent use, and `close()` is guarded by an atomic flag.
public final class RocksDBStore: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = LevelDBStyleCursor

    public static let engineName = "rocksdb"

    /// The loaded library's version and detected build kind, e.g. `7.8.3, release build` (see `RocksDBLibrary`).
    public static let engineVersion: String = RocksDBLibrary.loaded.versionText

    public let options: StoreOptions
    public let limits = StoreLimits(maxKeySize: 8 << 20, maxValueSize: 1 << 30)
    public let settingsReport: [String: String]

    private let database: OpaquePointer
    private let lock: DirectoryLock
    private let dbOptions: RocksDBOptionsHandle
    private let tableOptions: RocksDBTableOptionsHandle
    private let cache: RocksDBCacheHandle
    private let readOptions = RocksDBReadOptionsHandle()
    /// Every get goes through it, into the calling thread's value in `values`.
    private let reader: RocksDBReader
    private let values: PerThreadSlots<RocksDBThreadValue>
    private let writeOptions: RocksDBWriteOptionsHandle
    private let library = LevelDBStyleLibrary.rocksDB
    /// Every write goes through it: one reused write batch per thread.
    private let writer: LevelDBStyleWriter
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    /// The first error a write returned (a full disk, say). RocksDB's WAL writer has then seen an
    /// error, and Debian's build (assertions on) aborts when that writer is synced again
    /// (`rocksdb_flush_wal`), so `sync` and `close` report this error instead of syncing.
    private let writeFailure = Mutex<StoreError?>(nil)
    /// Whether RocksDB's `Statistics` object is on (`rocksdb.statistics=true`).
    private let statisticsEnabled: Bool

    private init(options: StoreOptions, database: OpaquePointer, lock: DirectoryLock,
                 dbOptions: RocksDBOptionsHandle, tableOptions: RocksDBTableOptionsHandle,
                 cache: RocksDBCacheHandle, writeOptions: RocksDBWriteOptionsHandle, writer: LevelDBStyleWriter,
                 reader: RocksDBReader, values: PerThreadSlots<RocksDBThreadValue>, statisticsEnabled: Bool, settings: [String: String]) {
        self.options = options
        self.database = database
        self.lock = lock
        self.dbOptions = dbOptions
        self.tableOptions = tableOptions
        self.cache = cache
        self.statisticsEnabled = statisticsEnabled
        self.writeOptions = writeOptions
        self.writer = writer
        self.reader = reader
        self.values = values
        self.settingsReport = settings
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    /// The `rocksdb.*` settings: statistics on or off, the compaction style.
    private static func readSettings(_ options: StoreOptions) throws(StoreError) -> (statistics: Bool, compactionStyle: CompactionStyle) {
        let engineSettings = try EngineSettings(options.settings, engine: "RocksDB",
                                                known: ["rocksdb.statistics", "rocksdb.compaction_style"])
        return (try engineSettings.flag("rocksdb.statistics") ?? false,
                try engineSettings.choice("rocksdb.compaction_style", of: CompactionStyle.allCases.map(\.rawValue))
                    .flatMap(CompactionStyle.init(rawValue:)) ?? .level)
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try readSettings(options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> RocksDBStore {
        let path = options.directory
        try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing, marker: "CURRENT", engine: "RocksDB")
        let (statisticsEnabled, compactionStyle) = try readSettings(options)
        let lock = try DirectoryLock(directory: path)

        let budget = max(options.memoryBudget, 4 << 20)
        let cacheBytes = budget / 2
        let writeBufferBytes = budget / 4
        let dbOptions = RocksDBOptionsHandle()
        let tableOptions = RocksDBTableOptionsHandle()
        let cache = RocksDBCacheHandle(capacity: cacheBytes)
        rocksdb_options_set_create_if_missing(dbOptions.pointer, options.createIfMissing ? 1 : 0)
        rocksdb_options_set_compression(dbOptions.pointer, Int32(rocksdb_no_compression))
        rocksdb_options_set_bottommost_compression(dbOptions.pointer, Int32(rocksdb_no_compression))
        rocksdb_options_set_write_buffer_size(dbOptions.pointer, writeBufferBytes)
        rocksdb_options_set_max_write_buffer_number(dbOptions.pointer, 2)
        if statisticsEnabled { rocksdb_options_enable_statistics(dbOptions.pointer) }
        let compactionReport = compactionStyle.apply(to: dbOptions.pointer)
        // The informational LOG is on the database's disk. Debian's build (assertions on) aborts
        // when the LOG is appended to after one of its writes failed: on a full disk, as soon as
        // RocksDB logs the failed write. Logging fatal messages only keeps a full disk an error.
        rocksdb_options_set_info_log_level(dbOptions.pointer, Self.fatalLogLevel)
        rocksdb_block_based_options_set_block_cache(tableOptions.pointer, cache.pointer)
        rocksdb_block_based_options_set_filter_policy(tableOptions.pointer, rocksdb_filterpolicy_create_bloom_full(10))
        rocksdb_block_based_options_set_index_type(tableOptions.pointer, Int32(rocksdb_block_based_table_index_type_two_level_index_search))
        rocksdb_block_based_options_set_partition_filters(tableOptions.pointer, 1)
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(tableOptions.pointer, 1)
        rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(tableOptions.pointer, 1)
        rocksdb_block_based_options_set_pin_top_level_index_and_filter(tableOptions.pointer, 1)
        rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(tableOptions.pointer, 1)
        rocksdb_options_set_block_based_table_factory(dbOptions.pointer, tableOptions.pointer)

        let batches = try LevelDBStyleWriter.makeBatches(path: path)
        let values = try PerThreadSlots<RocksDBThreadValue>(path: path)
        let writeOptions = RocksDBWriteOptionsHandle(durability: options.durability)
        let database = try LevelDBStyleLibrary.rocksDB.check(path: path) { rocksdb_open(dbOptions.pointer, path, $0) }
        guard let database else { throw .engine(name: engineName, message: "rocksdb_open returned no database for \(path)") }
        let reader: RocksDBReader
        do { reader = try RocksDBReader(database: database, path: path) } catch {
            rocksdb_close(database)
            throw error
        }
        let writer = LevelDBStyleWriter(library: .rocksDB, database: database, options: writeOptions.pointer, path: path, batches: batches)
        let settings: [String: String] = [
            "compression": "none",
            "block_cache_bytes": String(cacheBytes),
            "write_buffer_bytes": String(writeBufferBytes),
            "max_write_buffer_number": "2",
            "bloom_bits_per_key": "10",
            "index_and_filter_blocks": "partitioned, in the block cache (high priority), top level and L0 pinned",
            "compaction_style": compactionReport,
            "wal": options.durability == .none ? "disabled" : (options.durability == .fsync ? "sync" : "no sync"),
            "build": RocksDBLibrary.loaded.buildEvidence,
            "statistics": statisticsEnabled
                ? "on (rocksdb.statistics=true: RocksDB's Statistics object, which slows writes and reads)"
                : "off (engine write bytes and compactions from the rocksdb.dbstats and rocksdb.cfstats properties, 0.01 GiB resolution)",
            "info_log_level": "fatal (the LOG holds its header and fatal errors only)",
            "perf_context": "off on the calling threads (RocksDB's default counts on every thread; db_bench turns it off too)",
            "reads": "DB::Get into a reused PinnableSlice per thread (C++, as db_bench; the C API's gets allocate per call)",
        ]
        return RocksDBStore(options: options, database: database, lock: lock, dbOptions: dbOptions,
                            tableOptions: tableOptions, cache: cache, writeOptions: writeOptions, writer: writer,
                            reader: reader, values: values, statisticsEnabled: statisticsEnabled, settings: settings)
    }

    /// `rocksdb.compaction_style`: RocksDB's `compaction_style` option.
    enum CompactionStyle: String, CaseIterable {
        /// `kCompactionStyleLevel`, RocksDB's default: leveled compaction.
        case level
        /// `kCompactionStyleUniversal`: tiered compaction of sorted runs, with RocksDB's
        /// default `CompactionOptionsUniversal`.
        case universal

        /// Sets the style on `options`; returns what `engine_settings.compaction_style` reports,
        /// with universal compaction's options as RocksDB reads them back.
        func apply(to options: OpaquePointer) -> String {
            switch self {
            case .level:
                rocksdb_options_set_compaction_style(options, Int32(rocksdb_level_compaction))
                return "level"
            case .universal:
                rocksdb_options_set_compaction_style(options, Int32(rocksdb_universal_compaction))
                let universal = rocksdb_universal_compaction_options_create()
                defer { rocksdb_universal_compaction_options_destroy(universal) }
                rocksdb_options_set_universal_compaction_options(options, universal)
                return "universal (size_ratio \(rocksdb_universal_compaction_options_get_size_ratio(universal)) %, "
                    + "min_merge_width \(rocksdb_universal_compaction_options_get_min_merge_width(universal)), "
                    + "max_size_amplification_percent \(rocksdb_universal_compaction_options_get_max_size_amplification_percent(universal)) %: RocksDB's defaults)"
            }
        }
    }

    /// `rocksdb::InfoLogLevel::FATAL_LEVEL`.
    static let fatalLogLevel: Int32 = 4

    /// Turns a RocksDB status message into the matching `StoreError`; a full disk is
    /// `.io` with `ENOSPC`, as for every engine, with RocksDB's message as the operation.
    static func classify(message: String, path: String) -> StoreError {
        if message.hasPrefix("Corruption") { return .corruption(path: path, reason: message) }
        if message.contains("No space left on device") { return .io(operation: "RocksDB (\(message))", path: path, errno: ENOSPC) }
        if message.contains("lock") && message.contains("IO error") { return .alreadyOpen(path: path) }
        if message.contains("does not exist (create_if_missing is false)") { return .notFound(path: path) }
        return .engine(name: engineName, message: message)
    }

    /// Checks the store is open and turns RocksDB's perf context off on the calling thread.
    /// RocksDB counts into its thread-local perf context by default (`kEnableCount`: every key
    /// comparison, block read and memtable probe), which costs about 7 % of a fill; `db_bench`
    /// turns it off on its benchmark threads, and so does the adapter, on every call (the level
    /// is per thread and the adapter does not own the threads; setting it is one TLS store).
    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
        rocksdb_set_perf_level(Int32(rocksdb_disable))
    }

    /// Runs a RocksDB write; remembers its error in `writeFailure`.
    @inline(__always)
    private func writing(_ write: () throws(StoreError) -> Void) throws(StoreError) {
        do throws(StoreError) {
            try write()
        } catch {
            writeFailure.withLock { if $0 == nil { $0 = error } }
            throw error
        }
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try writing { () throws(StoreError) in
            try writer.put(key, value)
        }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let value = values.slot { RocksDBThreadValue() }.pointer
        var data: UnsafePointer<CChar>? = nil
        var length = 0
        let code = try key.withBorrowedBytes { (k) throws(StoreError) in
            try library.check(path: options.directory) {
                crocksdb_get(reader.pointer, value, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &data, &length, $0)
            }
        }
        // Status::Code: 0 kOk, 1 kNotFound; every other code threw with RocksDB's status text.
        guard code == 0 else { return nil }
        defer { crocksdb_value_reset(value) }
        return body(UnsafeRawBufferPointer(start: data, count: length))
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try writing { () throws(StoreError) in
            try writer.delete(key)
        }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        try writing { () throws(StoreError) in
            try writer.write(batch)
        }
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func withCursor<Result>(_ body: (inout LevelDBStyleCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        return try library.withCursor(database: database, readOptions: readOptions.pointer, path: options.directory, body)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        if options.durability == .none {
            let flushOptions = rocksdb_flushoptions_create()
            defer { rocksdb_flushoptions_destroy(flushOptions) }
            rocksdb_flushoptions_set_wait(flushOptions, 1)
            try library.check(path: options.directory) { rocksdb_flush(database, flushOptions, $0) }
        } else {
            if let failure = writeFailure.withLock({ $0 }) { throw failure }
            try library.check(path: options.directory) { rocksdb_flush_wal(database, 1, $0) }
        }
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        rocksdb_compact_range(database, nil, 0, nil, 0)
        return true
    }

    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        guard !isClosed.load(ordering: .relaxed) else { return snapshot }
        if statisticsEnabled, let raw = rocksdb_options_statistics_get_string(dbOptions.pointer) {
            let text = String(cString: raw)
            rocksdb_free(raw)
            RocksDBStatisticsText(text).fill(&snapshot)
        } else if let database = property("rocksdb.dbstats"), let columnFamily = property("rocksdb.cfstats-no-file-histogram") {
            RocksDBPropertyStats(database: database, columnFamily: columnFamily).fill(&snapshot)
        }
        addShape(to: &snapshot)
        return snapshot
    }

    /// The database's shape in `engine_counters`: table files per level (`files.l0` …), the
    /// active memtable's entries, immutable memtables waiting for a flush and compactions running.
    private func addShape(to snapshot: inout StoreStatistics) {
        func integer(_ name: String) -> Double? { property(name).flatMap { Double($0) } }
        for level in 0..<Int(rocksdb_options_get_num_levels(dbOptions.pointer)) {
            if let files = integer("rocksdb.num-files-at-level\(level)") { snapshot.counters["files.l\(level)"] = files }
        }
        snapshot.counters["memtable.active_entries"] = integer("rocksdb.num-entries-active-mem-table")
        snapshot.counters["memtable.immutable"] = integer("rocksdb.num-immutable-mem-table")
        snapshot.counters["compaction.running"] = integer("rocksdb.num-running-compactions")
    }

    /// A RocksDB property such as `rocksdb.stats`, or nil when unknown.
    public func property(_ name: String) -> String? {
        guard !isClosed.load(ordering: .relaxed), let raw = rocksdb_property_value(database, name) else { return nil }
        defer { rocksdb_free(raw) }
        return String(cString: raw)
    }

    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        var failure = writeFailure.withLock { $0 }
        if options.durability != .none && failure == nil {
            do { try library.check(path: options.directory) { rocksdb_flush_wal(database, 1, $0) } } catch { failure = error }
        }
        values.close()
        rocksdb_close(database)
        lock.release()
        if let failure { throw failure }
    }
}
