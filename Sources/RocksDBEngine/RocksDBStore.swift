import CRocksDB
import KVStore
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
/// Compression is off. Thread safety: any number of threads may read and
/// write concurrently (RocksDB is internally synchronized); `close()` must not
/// race with other calls on the same store.
///
/// `@unchecked Sendable`: the C handles are created once and never reassigned;
/// RocksDB's `DB`, options and cache objects are documented as safe for
/// concurrent use, and `close()` is guarded by an atomic flag.
public final class RocksDBStore: KeyValueStore, @unchecked Sendable {
    public typealias Cursor = RocksDBCursor

    public static let engineName = "rocksdb"

    /// The RocksDB library version, read from the file name of the loaded shared library.
    public static let engineVersion: String = loadedLibraryVersion()

    public let options: StoreOptions
    public let limits = StoreLimits(maxKeySize: 8 << 20, maxValueSize: 1 << 30)
    public let settingsReport: [String: String]

    private let database: OpaquePointer
    private let lock: DirectoryLock
    private let dbOptions: RocksDBOptionsHandle
    private let tableOptions: RocksDBTableOptionsHandle
    private let cache: RocksDBCacheHandle
    private let readOptions = RocksDBReadOptionsHandle()
    private let writeOptions: RocksDBWriteOptionsHandle
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    /// The first error a write returned (a full disk, say). RocksDB's WAL writer has then seen an
    /// error, and Debian's build (assertions on) aborts when that writer is synced again
    /// (`rocksdb_flush_wal`), so `sync` and `close` report this error instead of syncing.
    private let writeFailure = Mutex<StoreError?>(nil)

    private init(options: StoreOptions, database: OpaquePointer, lock: DirectoryLock,
                 dbOptions: RocksDBOptionsHandle, tableOptions: RocksDBTableOptionsHandle,
                 cache: RocksDBCacheHandle, settings: [String: String]) {
        self.options = options
        self.database = database
        self.lock = lock
        self.dbOptions = dbOptions
        self.tableOptions = tableOptions
        self.cache = cache
        self.writeOptions = RocksDBWriteOptionsHandle(durability: options.durability)
        self.settingsReport = settings
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    public static func open(_ options: StoreOptions) throws(StoreError) -> RocksDBStore {
        let path = options.directory
        try FileSystem.prepareDatabaseDirectory(path, createIfMissing: options.createIfMissing, marker: "CURRENT", engine: "RocksDB")
        _ = try EngineSettings(options.settings, engine: "RocksDB", known: [])
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
        rocksdb_options_enable_statistics(dbOptions.pointer)
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

        let database = try withRocksDBError(path: path) { rocksdb_open(dbOptions.pointer, path, $0) }
        guard let database else { throw .engine(name: engineName, message: "rocksdb_open returned no database for \(path)") }
        let settings: [String: String] = [
            "compression": "none",
            "block_cache_bytes": String(cacheBytes),
            "write_buffer_bytes": String(writeBufferBytes),
            "max_write_buffer_number": "2",
            "bloom_bits_per_key": "10",
            "index_and_filter_blocks": "partitioned, in the block cache (high priority), top level and L0 pinned",
            "wal": options.durability == .none ? "disabled" : (options.durability == .fsync ? "sync" : "no sync"),
            "build": "Debian librocksdb \(engineVersion), assertions enabled",
            "info_log_level": "fatal (the LOG holds its header and fatal errors only)",
        ]
        return RocksDBStore(options: options, database: database, lock: lock, dbOptions: dbOptions,
                            tableOptions: tableOptions, cache: cache, settings: settings)
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

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    /// Runs a RocksDB write call; remembers its error in `writeFailure`.
    @inline(__always)
    private func writing(_ call: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Void) throws(StoreError) {
        do throws(StoreError) {
            try withRocksDBError(path: options.directory, call)
        } catch {
            writeFailure.withLock { if $0 == nil { $0 = error } }
            throw error
        }
    }

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try writing {
                    rocksdb_put(database, writeOptions.pointer, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count, $0)
                }
            }
        }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let slice = try key.withBorrowedBytes { (k) throws(StoreError) in
            try withRocksDBError(path: options.directory) {
                rocksdb_get_pinned(database, readOptions.pointer, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, $0)
            }
        }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        let value = rocksdb_pinnableslice_value(slice, &length)
        return body(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try writing {
                rocksdb_delete(database, writeOptions.pointer, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, $0)
            }
        }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        let handle = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(handle) }
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value):
                key.withUnsafeBytes { k in
                    value.withUnsafeBytes { v in
                        rocksdb_writebatch_put(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                               v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                    }
                }
            case .delete(let key):
                key.withUnsafeBytes { k in
                    rocksdb_writebatch_delete(handle, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
                }
            }
        }
        try writing { rocksdb_write(database, writeOptions.pointer, handle, $0) }
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func withCursor<Result>(_ body: (inout RocksDBCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        guard let iterator = rocksdb_create_iterator(database, readOptions.pointer) else {
            throw .engine(name: Self.engineName, message: "rocksdb_create_iterator failed")
        }
        var cursor = RocksDBCursor(iterator: iterator, path: options.directory)
        defer { cursor.invalidate() }
        return try body(&cursor)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        if options.durability == .none {
            let flushOptions = rocksdb_flushoptions_create()
            defer { rocksdb_flushoptions_destroy(flushOptions) }
            rocksdb_flushoptions_set_wait(flushOptions, 1)
            try withRocksDBError(path: options.directory) { rocksdb_flush(database, flushOptions, $0) }
        } else {
            if let failure = writeFailure.withLock({ $0 }) { throw failure }
            try withRocksDBError(path: options.directory) { rocksdb_flush_wal(database, 1, $0) }
        }
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        rocksdb_compact_range(database, nil, 0, nil, 0)
        return true
    }

    public func statistics() -> StoreStatistics {
        var snapshot = StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed))
        guard !isClosed.load(ordering: .relaxed), let raw = rocksdb_options_statistics_get_string(dbOptions.pointer) else {
            return snapshot
        }
        let text = String(cString: raw)
        rocksdb_free(raw)
        let parsed = RocksDBStatisticsText(text)
        let walBytes = parsed.ticker("rocksdb.wal.bytes")
        let flushBytes = parsed.ticker("rocksdb.flush.write.bytes")
        let compactWrite = parsed.ticker("rocksdb.compact.write.bytes")
        let compactRead = parsed.ticker("rocksdb.compact.read.bytes")
        snapshot.engineBytesWritten = walBytes + flushBytes + compactWrite
        snapshot.pointLookups = parsed.ticker("rocksdb.number.keys.read")
        snapshot.lookupProbes = parsed.ticker("rocksdb.bloom.filter.useful") + parsed.ticker("rocksdb.bloom.filter.full.positive")
        let compactionTimes = parsed.histogram("rocksdb.compaction.times.micros")
        let compactionCPU = parsed.histogram("rocksdb.compaction.times.cpu_micros")
        snapshot.compaction = CompactionStatistics(
            count: compactionTimes.count,
            bytesRead: compactRead,
            bytesWritten: compactWrite,
            wallSeconds: Double(compactionTimes.sum) / 1e6,
            cpuSeconds: Double(compactionCPU.sum) / 1e6,
            stallSeconds: Double(parsed.ticker("rocksdb.stall.micros")) / 1e6
        )
        snapshot.counters = [
            "wal_bytes": Double(walBytes),
            "flush_bytes": Double(flushBytes),
            "block_cache.hits": Double(parsed.ticker("rocksdb.block.cache.hit")),
            "block_cache.misses": Double(parsed.ticker("rocksdb.block.cache.miss")),
            "bloom.negatives": Double(parsed.ticker("rocksdb.bloom.filter.useful")),
            "bloom.positives": Double(parsed.ticker("rocksdb.bloom.filter.full.positive")),
            "bloom.true_positives": Double(parsed.ticker("rocksdb.bloom.filter.full.true.positive")),
            "memtable.hits": Double(parsed.ticker("rocksdb.memtable.hit")),
            "wal_syncs": Double(parsed.ticker("rocksdb.wal.synced")),
        ]
        for level in ["l0", "l1", "l2andup"] {
            snapshot.counters["get_hits.\(level)"] = Double(parsed.ticker("rocksdb.get.hit.\(level)"))
        }
        return snapshot
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
            do { try withRocksDBError(path: options.directory) { rocksdb_flush_wal(database, 1, $0) } } catch { failure = error }
        }
        rocksdb_close(database)
        lock.release()
        if let failure { throw failure }
    }

    /// Finds the loaded `librocksdb.so.X.Y.Z` in `/proc/self/maps` and returns `X.Y.Z`.
    private static func loadedLibraryVersion() -> String {
        _ = rocksdb_readoptions_create().map { rocksdb_readoptions_destroy($0) }
        guard let file = fopen("/proc/self/maps", "r") else { return "unknown" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let slash = text.firstIndex(of: "/"), text.contains("librocksdb.so") else { continue }
            let path = FileSystem.canonicalPath(String(text[slash...]).trimmingNewline())
            let parts = path.split(separator: "/").last?.split(separator: ".", omittingEmptySubsequences: false) ?? []
            if let so = parts.firstIndex(of: "so"), so + 1 < parts.count { return parts[(so + 1)...].joined(separator: ".") }
        }
        return "unknown"
    }
}

extension String {
    fileprivate func trimmingNewline() -> String {
        var copy = self
        while copy.last == "\n" { copy.removeLast() }
        return copy
    }
}

/// The text of `rocksdb_options_statistics_get_string`, parsed into tickers and histograms.
struct RocksDBStatisticsText {
    private var tickers: [String: UInt64] = [:]
    private var histograms: [String: (count: UInt64, sum: UInt64)] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            if fields.count == 4, fields[1] == "COUNT" {
                tickers[String(name)] = UInt64(fields[3]) ?? 0
            } else if let countIndex = fields.firstIndex(of: "COUNT"), let sumIndex = fields.firstIndex(of: "SUM"),
                      countIndex + 2 < fields.count, sumIndex + 2 < fields.count {
                histograms[String(name)] = (UInt64(fields[countIndex + 2]) ?? 0, UInt64(fields[sumIndex + 2]) ?? 0)
            }
        }
    }

    func ticker(_ name: String) -> UInt64 { tickers[name] ?? 0 }

    func histogram(_ name: String) -> (count: UInt64, sum: UInt64) { histograms[name] ?? (0, 0) }
}
