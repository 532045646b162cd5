import Dispatch
import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The hand-written B+tree engine: a copy-on-write B+tree in a file of
/// checksummed fixed-size pages, a bounded buffer pool, two meta pages for
/// checkpoints and a redo log for the commits between checkpoints.
///
/// Every write is one commit applied copy-on-write in the buffer pool and
/// published to readers atomically; readers take a snapshot without locks.
/// Checkpoints are decided by the committing writer and written by a
/// background queue while later commits go on.
/// Durability: `os` writes the commit's log record with `pwrite` before
/// returning, `fsync` also syncs the log, `none` logs nothing (commits reach
/// the file at the next checkpoint or at close). See `docs/btree-design.md`.
public final class BTreeStore: KeyValueStore, Sendable {
    public typealias Cursor = BTreeCursor

    public static let engineName = "btree"
    public static let engineVersion = "1.0 (format \(Meta.formatVersion))"

    static let fileName = "btree.db"

    public let options: StoreOptions
    public let limits: StoreLimits
    public let settingsReport: [String: String]

    let pool: BufferPool
    let pageFile: PageFile
    let registry: ReaderRegistry
    let writer: Mutex<TreeWriter>
    let writerFailure = Mutex<StoreError?>(nil)
    private let walFiles: [StorageFile]
    private let lock: DirectoryLock
    let threadSlots: PerThreadSlots<ReaderSlot>
    let isClosed = Atomic<Bool>(false)
    let userBytes = Atomic<UInt64>(0)
    let commits = Atomic<UInt64>(0)
    let writerStats = Mutex<WriterStatistics>(WriterStatistics())
    /// Writes checkpoints in the background, one at a time.
    let checkpointQueue = DispatchQueue(label: "kvbench.btree.checkpoint")
    /// Marks the checkpoint queue, so that a store released by its last checkpoint job
    /// (dropped without `close()`) does not wait for the queue from the queue itself.
    private static let onCheckpointQueue = DispatchSpecificKey<Bool>()
    /// Set when commits should wait for the checkpoint in flight (see `TreeWriter.wantsBackpressure`).
    let backpressure = Atomic<Bool>(false)
    /// Group commit under `fsync` (`Commit.swift`).
    let logSyncGate: LogSyncGate
    let logSyncs = Atomic<UInt64>(0)

    /// Writer-side figures copied out after each commit for `statistics()`.
    struct WriterStatistics {
        var height = 0
        var freePages = 0
        var filePages: UInt32 = 0
        var checkpoints: UInt64 = 0
        var metaBytes: UInt64 = 0
        var logBytes: UInt64 = 0
        var entries: UInt64 = 0
        var leafSplits: UInt64 = 0
        var leafShares: UInt64 = 0
    }

    private init(options: StoreOptions, pageSize: Int, pool: BufferPool, pageFile: PageFile, registry: ReaderRegistry,
                 writer: sending TreeWriter, walFiles: [StorageFile], lock: DirectoryLock, threadSlots: PerThreadSlots<ReaderSlot>,
                 checkpointPages: Int, checkpointLogBytes: Int) {
        self.options = options
        self.pool = pool
        self.pageFile = pageFile
        self.registry = registry
        self.logSyncGate = LogSyncGate(syncedTxn: writer.lastTxn)
        self.writer = Mutex(writer)
        self.walFiles = walFiles
        self.lock = lock
        self.threadSlots = threadSlots
        checkpointQueue.setSpecific(key: Self.onCheckpointQueue, value: true)
        self.limits = StoreLimits(maxKeySize: TreeWriter.maxKeySize(pageSize: pageSize), maxValueSize: 1 << 30)
        self.settingsReport = [
            "page_size": String(pageSize),
            "buffer_pool_frames": String(pool.frameCount),
            "buffer_pool_bytes": String(pool.frameCount * pageSize),
            "checkpoint_pages": String(checkpointPages),
            "checkpoint_log_bytes": String(checkpointLogBytes),
            "crash_safety": "copy-on-write pages, two meta pages, redo log between checkpoints (written in the background)",
            "commit": options.durability == .none ? "in memory until checkpoint (no log)"
                : options.durability == .os ? "log record pwrite per commit, no sync" : "log record pwrite per commit, one fdatasync shared by concurrent commits (group commit)",
            "max_key_bytes": String(TreeWriter.maxKeySize(pageSize: pageSize)),
            "overflow_pages": "values larger than a quarter page",
        ]
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    // MARK: open

    /// The `btree.*` settings: page size (nil: the file's, or the default for a new file),
    /// dirty pages per checkpoint (nil: derived from the budget), log bytes per checkpoint.
    private static func readSettings(_ options: StoreOptions) throws(StoreError) -> (pageSize: Int?, checkpointPages: Int?, checkpointLogBytes: Int) {
        let settings = try EngineSettings(options.settings, engine: "B+tree",
                                          known: ["btree.page_size", "btree.checkpoint_pages", "btree.checkpoint_log_bytes"])
        return (try settings.integer("btree.page_size", in: PageLayout.minPageSize...PageLayout.maxPageSize, powerOfTwo: true),
                try settings.integer("btree.checkpoint_pages", in: 16...Int.max),
                try settings.integer("btree.checkpoint_log_bytes", in: 4096...Int.max) ?? 4 << 20)
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try readSettings(options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> BTreeStore {
        let (pageSize, checkpointPages, checkpointLogBytes) = try readSettings(options)
        let directory = options.directory
        try FileSystem.prepareDatabaseDirectory(directory, createIfMissing: options.createIfMissing, marker: fileName,
                                                engine: "B+tree engine", companions: Set(WriteAheadLog.fileNames),
                                                companionsName: "log files", strict: true)
        let lock = try DirectoryLock(directory: directory)
        let dbPath = directory + "/" + fileName
        let created: Bool
        let file: StorageFile
        let meta: Meta
        // An empty page file is a creation cut short by a crash: start again.
        if FileSystem.exists(dbPath), try FileSystem.fileSize(dbPath) == 0 {
            try FileSystem.removeFile(dbPath)
        }
        if FileSystem.exists(dbPath) {
            file = try StorageFile(path: dbPath, mode: .readWrite)
            meta = try loadMeta(file, requestedPageSize: pageSize)
            created = false
        } else {
            let size = pageSize ?? PageLayout.defaultPageSize
            file = try StorageFile(path: dbPath, mode: .createNew)
            meta = Meta(pageSize: size, seq: 0, txn: 0, root: 0, height: 0, pageCount: 2, freelistHead: 0, freeCount: 0, entries: 0)
            var page = Bytes(repeating: 0, count: 2 * size)
            page.withUnsafeMutableBytes { meta.encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<size])) }
            try file.write(at: 0, page)
            try file.sync()
            created = true
        }
        var walFiles: [StorageFile] = []
        for name in WriteAheadLog.fileNames {
            walFiles.append(try StorageFile(path: directory + "/" + name, mode: .createOrOpen))
        }
        if created {
            for wal in walFiles { try wal.sync() }
            try FileSystem.syncDirectory(directory)
        }
        file.adviseRandomAccess()

        let pageFile = PageFile(file: file, pageSize: meta.pageSize, mapped: true)
        let budgetFrames = max(options.memoryBudget / meta.pageSize, 128)
        let dirtyLimit = checkpointPages ?? max(64, min(budgetFrames / 4, 2048))
        // Read through the map, clean pages live in the page cache; the pool holds the pages
        // being written: up to twice the checkpoint limit while a checkpoint runs, and paths.
        let poolBytes = pageFile.isMapped ? min(options.memoryBudget, max(3 * dirtyLimit, 1024) * meta.pageSize) : options.memoryBudget
        let pool = BufferPool(file: pageFile, memoryBudget: poolBytes)
        let (freeSpace, freelistPages) = try loadFreelist(pageFile, meta: meta)
        let registry = ReaderRegistry()
        registry.publish(Snapshot(txn: meta.txn, root: meta.root, height: meta.height))
        let wal = WriteAheadLog(files: walFiles, active: Int(meta.seq % 2), synced: options.durability == .fsync)
        let writer = TreeWriter(pool: pool, file: pageFile, durability: options.durability,
                                wal: options.durability == .none ? nil : wal, meta: meta, freeSpace: freeSpace,
                                freelistPages: freelistPages, checkpointPages: dirtyLimit,
                                checkpointLogBytes: checkpointLogBytes, registry: registry)
        let (replayed, unreachable) = try replay(walFiles, into: writer, after: meta.txn, path: directory)
        // The logs are the only copy of the replayed commits until this checkpoint is synced:
        // truncate them only afterwards, so that a recovery that cannot write (a full disk)
        // fails and leaves every file as it was.
        if replayed > 0 {
            try writer.checkpoint(forceSync: true, restartLog: false)
        }
        if unreachable { try wal.discardAll() }
        if options.durability != .none {
            try wal.restart(afterCheckpoint: writer.newestMeta.seq)
        }
        registry.publish(Snapshot(txn: writer.lastTxn, root: writer.root, height: writer.height))
        let threadSlots = try PerThreadSlots<ReaderSlot>(path: directory)
        let store = BTreeStore(options: options, pageSize: meta.pageSize, pool: pool, pageFile: pageFile, registry: registry,
                               writer: writer, walFiles: walFiles, lock: lock, threadSlots: threadSlots,
                               checkpointPages: dirtyLimit, checkpointLogBytes: checkpointLogBytes)
        store.writer.withLock { store.copyStatistics($0) }
        return store
    }

    @inline(__always)
    func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }


    // MARK: checkpoints

    /// Writes `job` on the checkpoint queue. The checkpointed pages stay put meanwhile:
    /// frees of pages created up to the checkpoint wait for the meta pages (`FreeSpace`),
    /// and the older meta page only moves on in `finishCheckpoint`.
    func startCheckpoint(_ job: CheckpointJob) {
        checkpointQueue.async { [self] in
            do throws(StoreError) {
                try job.write(pool: pool, file: pageFile)
            } catch {
                writerFailure.withLock { $0 = error }
                return
            }
            writer.withLock { writer in
                writer.finishCheckpoint(job)
                backpressure.store(false, ordering: .relaxed)
                copyStatistics(writer)
            }
        }
    }

    /// Waits until the checkpoint in flight, if any, is written and adopted.
    func waitForCheckpoint() {
        if DispatchQueue.getSpecific(key: Self.onCheckpointQueue) == nil { checkpointQueue.sync {} }
    }

    /// Runs `body` under the writer lock once no background checkpoint is in flight.
    func withQuiescentWriter<Result: Sendable>(_ body: (TreeWriter) throws(StoreError) -> Result) throws(StoreError) -> Result {
        while true {
            waitForCheckpoint()
            if let failure = writerFailure.withLock({ $0 }) { throw failure }
            let result = try writer.withLock { (writer) throws(StoreError) -> Result? in
                if writer.checkpointInProgress { return nil }
                return try body(writer)
            }
            if let result { return result }
        }
    }

    func copyStatistics(_ writer: TreeWriter) {
        writerStats.withLock { stats in
            stats.height = writer.height
            stats.freePages = writer.free.totalFree
            stats.filePages = writer.free.pageCount
            stats.checkpoints = writer.checkpoints
            stats.metaBytes = writer.metaBytesWritten
            stats.logBytes = writer.wal?.bytesWritten ?? 0
            stats.entries = writer.entries
            stats.leafSplits = writer.leafSplits
            stats.leafShares = writer.leafShares
        }
    }

    // MARK: maintenance

    /// Runs `body` with the writer while holding the writer lock (for inspection).
    func withWriter<Result: Sendable>(_ body: (TreeWriter) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        return try withQuiescentWriter(body)
    }

    public func sync() throws(StoreError) {
        try ensureOpen()
        try withQuiescentWriter { (writer) throws(StoreError) in
            do throws(StoreError) {
                try writer.checkpoint(forceSync: true)
                try pageFile.sync()
            } catch {
                writerFailure.withLock { $0 = error }
                throw error
            }
            copyStatistics(writer)
        }
    }

    public func compactAll() throws(StoreError) -> Bool {
        try ensureOpen()
        return false
    }

    public func statistics() -> StoreStatistics {
        let stats = writerStats.withLock { $0 }
        let pages = pool.counters
        let (lookups, probes) = registry.lookupCounters()
        let pagesWritten = pageFile.pagesWritten.load(ordering: .relaxed)
        var snapshot = StoreStatistics(
            userBytesWritten: userBytes.load(ordering: .relaxed),
            engineBytesWritten: pagesWritten * UInt64(pageFile.pageSize) + stats.metaBytes + stats.logBytes,
            engineBytesRead: pageFile.pagesRead.load(ordering: .relaxed) * UInt64(pageFile.pageSize),
            pointLookups: lookups,
            lookupProbes: probes)
        snapshot.counters = [
            "pages_read": Double(pageFile.pagesRead.load(ordering: .relaxed)),
            "pages_written": Double(pagesWritten),
            "meta_bytes_written": Double(stats.metaBytes),
            "log_bytes_written": Double(stats.logBytes),
            "tree_height": Double(stats.height),
            "buffer_pool.hits": Double(pages.hits),
            "buffer_pool.misses": Double(pages.misses),
            "buffer_pool.mapped_reads": Double(pages.mapped),
            "buffer_pool.evictions": Double(pages.evictions),
            "buffer_pool.dirty_pages": Double(pages.dirty),
            "buffer_pool.cached_pages": Double(pages.cached),
            "free_pages": Double(stats.freePages),
            "file_pages": Double(stats.filePages),
            "checkpoints": Double(stats.checkpoints),
            "commits": Double(commits.load(ordering: .relaxed)),
            "entries": Double(stats.entries),
            "leaf_splits": Double(stats.leafSplits),
            "leaf_shares": Double(stats.leafShares),
            "log_syncs": Double(logSyncs.load(ordering: .relaxed)),
        ]
        return snapshot
    }

    /// Drops the store as a killed process would: no checkpoint, nothing flushed
    /// beyond what commits already wrote. For crash-recovery tests.
    func abandonWithoutClosing() {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        waitForCheckpoint()
        threadSlots.close()
        lock.release()
    }

    public func close() throws(StoreError) {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        var failure: StoreError?
        do throws(StoreError) {
            try withQuiescentWriter { (writer) throws(StoreError) in try writer.checkpoint() }
        } catch {
            failure = error
        }
        threadSlots.close()
        lock.release()
        if let failure { throw failure }
    }
}
