import KVStore
import StorageIO
import Synchronization

/// The hand-written LSM-tree engine.
///
/// Writes go to a write-ahead log (`none`: no log; `os`: `write()` before
/// acknowledging; `fsync`: `fdatasync` before acknowledging, with group
/// commit) and to a skip-list memtable. A full memtable is frozen and written
/// as an L0 table by a background thread; `lsm.compaction_threads` more run
/// compaction (`lsm.compaction`: leveled, tiered or lazy leveling), large
/// compactions split into key ranges. Reads check the memtables, then tables level by level with
/// bloom filters and an LRU block cache. The memory budget is split: a
/// quarter per memtable (two at most), half for the block cache.
/// See `docs/lsm-format.md` for the file formats.
///
/// Thread safety: any number of threads may read and write concurrently
/// (writers are serialized); readers take no global lock.
public final class LSMStore: KeyValueStore, Sendable {
    public typealias Cursor = LSMCursor

    public static let engineName = "lsm"
    public static let engineVersion = "1.1 (tables format 1, manifest format 2)"

    public let options: StoreOptions
    public let limits = StoreLimits(maxKeySize: 1 << 20, maxValueSize: 64 << 20)
    public let settingsReport: [String: String]

    let engine: Engine
    private let lock: DirectoryLock
    private let isClosed = Atomic<Bool>(false)

    private init(options: StoreOptions, engine: Engine, lock: DirectoryLock) {
        self.options = options
        self.engine = engine
        self.lock = lock
        var report = engine.config.report
        report["wal"] = options.durability == .none ? "disabled" : (options.durability == .fsync ? "fdatasync, group commit" : "write, no sync")
        self.settingsReport = report
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try LSMConfiguration(options: options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> LSMStore {
        let config = try LSMConfiguration(options: options)
        let directory = options.directory
        let isNew = !(try FileSystem.prepareDatabaseDirectory(directory, createIfMissing: options.createIfMissing,
                                                              marker: ManifestLog.fileName, engine: "LSM"))
        let lock = try DirectoryLock(directory: directory)
        do {
            let engine = try Recovery.open(directory: directory, durability: options.durability, config: config, isNew: isNew)
            engine.startBackground()
            return LSMStore(options: options, engine: engine, lock: lock)
        } catch {
            lock.release()
            throw error
        }
    }

    @inline(__always)
    func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    public func withCursor<Result>(_ body: (inout LSMCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        let snapshot = engine.visibleSequence.load(ordering: .acquiring)
        var cursor = LSMCursor(state: engine.currentReadState(), snapshot: snapshot, cache: engine.cache, counters: engine.counters)
        return try body(&cursor)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        if options.durability == .none {
            try engine.flushAll()
        } else {
            try engine.syncLogs()
        }
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        try engine.compactEverything()
        return true
    }

    public func statistics() -> StoreStatistics {
        let c = engine.counters
        let totals = c.compaction.withLock { $0 }
        let logBytes = c.logBytes.load(ordering: .relaxed)
        let flushBytes = c.flushBytes.load(ordering: .relaxed)
        let manifestBytes = c.manifestBytes.load(ordering: .relaxed)
        let compactionWritten = totals.bytesWritten.reduce(0, +)
        let compactionRead = totals.bytesRead.reduce(0, +)
        let stall = Double(c.stallNanoseconds.load(ordering: .relaxed)) / 1e9
        var counters: [String: Double] = [
            "wal_bytes": Double(logBytes),
            "wal_syncs": Double(c.logSyncs.load(ordering: .relaxed)),
            "flush_bytes": Double(flushBytes),
            "flushes": Double(c.flushes.load(ordering: .relaxed)),
            "manifest_bytes": Double(manifestBytes),
            "block_cache.hits": Double(c.cacheHits.load(ordering: .relaxed)),
            "block_cache.misses": Double(c.cacheMisses.load(ordering: .relaxed)),
            "block_cache.usage_bytes": Double(engine.cache.usage),
            "bloom.negatives": Double(c.bloomNegatives.load(ordering: .relaxed)),
            "bloom.false_positives": Double(c.bloomFalsePositives.load(ordering: .relaxed)),
            "memtable.hits": Double(c.memtableHits.load(ordering: .relaxed)),
            "stall.slowdowns": Double(c.slowdowns.load(ordering: .relaxed)),
            "stall.stop_waits": Double(c.stops.load(ordering: .relaxed)),
            "compaction.trivial_moves": Double(totals.trivialMoves),
            "compaction.subcompactions": Double(totals.subcompactions),
            "compaction.pending_bytes": Double(engine.monitor.withLock { engine.control.pendingCompactionBytes }),
            "stall.l0_files_seconds": Double(c.stallLevel0Nanoseconds.load(ordering: .relaxed)) / 1e9,
            "stall.pending_compaction_bytes_seconds": Double(c.stallPendingNanoseconds.load(ordering: .relaxed)) / 1e9,
            "stall.memtables_seconds": Double(c.stallMemtableNanoseconds.load(ordering: .relaxed)) / 1e9,
            "stall.delayed_seconds": Double(c.delayNanoseconds.load(ordering: .relaxed)) / 1e9,
            "stall.stopped_seconds": Double(c.stopNanoseconds.load(ordering: .relaxed)) / 1e9,
        ]
        let version = engine.currentReadState().version
        var metadata = 0
        for level in 0..<Version.levelCount {
            counters["compaction.L\(level).bytes_read"] = Double(totals.bytesRead[level])
            counters["compaction.L\(level).bytes_written"] = Double(totals.bytesWritten[level])
            counters["compaction.L\(level).count"] = Double(totals.countByLevel[level])
            counters["compaction.L\(level).bytes_read_from"] = Double(totals.bytesReadFrom[level])
            let tables = version.tables(level: level)
            counters["level.L\(level).tables"] = Double(tables.count)
            counters["level.L\(level).runs"] = Double(version.levels[level].count)
            counters["level.L\(level).bytes"] = Double(version.bytes(level: level))
            metadata += tables.reduce(0) { $0 + $1.metadataBytes }
        }
        counters["table_metadata_bytes"] = Double(metadata)
        return StoreStatistics(
            userBytesWritten: c.userBytes.load(ordering: .relaxed),
            engineBytesWritten: logBytes + flushBytes + compactionWritten + manifestBytes,
            engineBytesRead: c.bytesRead.load(ordering: .relaxed),
            pointLookups: c.pointLookups.load(ordering: .relaxed),
            lookupProbes: c.tableProbes.load(ordering: .relaxed),
            compaction: CompactionStatistics(
                count: totals.count,
                bytesRead: compactionRead,
                bytesWritten: compactionWritten,
                wallSeconds: Double(totals.wallNanoseconds) / 1e9,
                cpuSeconds: Double(totals.cpuNanoseconds) / 1e9,
                stallSeconds: stall
            ),
            counters: counters
        )
    }

    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        var failure: StoreError?
        if options.durability == .none {
            do { try engine.flushAll() } catch { failure = error }
        }
        engine.stopBackground(abort: false)
        if options.durability != .none && failure == nil {
            do { try engine.syncLogs() } catch { failure = error }
        }
        lock.release()
        if let failure { throw failure }
    }
}

/// A table as the inspection API reports it.
public struct LSMTableInfo: Sendable, Hashable {
    public var number: UInt64
    public var size: Int
    public var entries: Int
    public var smallest: Bytes
    public var largest: Bytes
    /// The sorted run the table belongs to (a higher number is a newer run of its level).
    public var run: UInt64
}

extension LSMStore {
    /// The tables of the current version, level by level: run by run, newest run first, each run in key order.
    @_spi(Testing)
    public func levels() -> [[LSMTableInfo]] {
        engine.currentReadState().version.levels.map { runs in
            runs.flatMap { run in
                run.tables.map { LSMTableInfo(number: $0.number, size: $0.meta.size, entries: $0.meta.entries,
                                              smallest: $0.smallest, largest: $0.largest, run: run.id) }
            }
        }
    }

    /// Waits until no flush is pending and no compaction is due or running.
    @_spi(Testing)
    public func waitForBackgroundWork() throws(StoreError) {
        let engine = self.engine
        engine.monitor.lock()
        defer { engine.monitor.unlock() }
        while true {
            if let error = engine.control.backgroundError { throw error }
            let busy = engine.control.immutable != nil || engine.control.runningCompactions > 0
                || engine.pickCompaction() != nil
            if !busy { return }
            engine.monitor.wait(nanoseconds: 10_000_000)
        }
    }

    /// Forces a memtable flush now (for tests that need tables).
    @_spi(Testing)
    public func flushMemtable() throws(StoreError) {
        try ensureOpen()
        try engine.flushAll()
    }

    /// Simulates a process crash: background threads stop where they are (an
    /// unfinished flush or compaction is abandoned), nothing is flushed or
    /// synced, and the directory lock is released. Written bytes stay in the
    /// OS, as after a killed process.
    @_spi(Testing)
    public func simulateCrash() {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        engine.stopBackground(abort: true)
        lock.release()
    }
}
