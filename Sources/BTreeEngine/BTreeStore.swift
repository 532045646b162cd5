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
    private let writer: Mutex<TreeWriter>
    private let writerFailure = Mutex<StoreError?>(nil)
    private let walFiles: [StorageFile]
    private let lock: DirectoryLock
    private let threadSlots: PerThreadSlots<ReaderSlot>
    private let isClosed = Atomic<Bool>(false)
    private let userBytes = Atomic<UInt64>(0)
    private let commits = Atomic<UInt64>(0)
    private let writerStats = Mutex<WriterStatistics>(WriterStatistics())
    /// Writes checkpoints in the background, one at a time.
    private let checkpointQueue = DispatchQueue(label: "kvbench.btree.checkpoint")
    /// Marks the checkpoint queue, so that a store released by its last checkpoint job
    /// (dropped without `close()`) does not wait for the queue from the queue itself.
    private static let onCheckpointQueue = DispatchSpecificKey<Bool>()
    /// Set when commits should wait for the checkpoint in flight (see `TreeWriter.wantsBackpressure`).
    private let backpressure = Atomic<Bool>(false)

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
                : options.durability == .os ? "log record pwrite per commit, no sync" : "log record pwrite + fdatasync per commit",
            "max_key_bytes": String(TreeWriter.maxKeySize(pageSize: pageSize)),
            "overflow_pages": "values larger than a quarter page",
        ]
    }

    deinit {
        if !isClosed.load(ordering: .acquiring) { try? close() }
    }

    // MARK: open

    public static func open(_ options: StoreOptions) throws(StoreError) -> BTreeStore {
        let settings = try EngineSettings(options.settings, engine: "B+tree",
                                          known: ["btree.page_size", "btree.checkpoint_pages", "btree.checkpoint_log_bytes"])
        let pageSize = try settings.integer("btree.page_size", in: PageLayout.minPageSize...PageLayout.maxPageSize, powerOfTwo: true)
        let checkpointPages = try settings.integer("btree.checkpoint_pages", in: 16...Int.max)
        let checkpointLogBytes = try settings.integer("btree.checkpoint_log_bytes", in: 4096...Int.max) ?? 4 << 20
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

        let pageFile = PageFile(file: file, pageSize: meta.pageSize)
        let pool = BufferPool(file: pageFile, memoryBudget: options.memoryBudget)
        let (freeSpace, freelistPages) = try loadFreelist(pageFile, meta: meta)
        let registry = ReaderRegistry()
        registry.publish(Snapshot(txn: meta.txn, root: meta.root, height: meta.height))
        let dirtyLimit = checkpointPages ?? max(64, min(pool.frameCount / 4, 2048))
        let wal = WriteAheadLog(files: walFiles, active: Int(meta.seq % 2))
        let writer = TreeWriter(pool: pool, file: pageFile, durability: options.durability,
                                wal: options.durability == .none ? nil : wal, meta: meta, freeSpace: freeSpace,
                                freelistPages: freelistPages, checkpointPages: dirtyLimit,
                                checkpointLogBytes: checkpointLogBytes, oldestSnapshot: { registry.oldest() })
        let replayed = try replay(walFiles, into: writer, after: meta.txn, path: directory)
        // The logs are the only copy of the replayed commits until this checkpoint is synced:
        // truncate them only afterwards, so that a recovery that cannot write (a full disk)
        // fails and leaves every file as it was.
        if replayed > 0 {
            try writer.checkpoint(forceSync: true, restartLog: false)
        }
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

    /// Reads both meta pages and returns the newest valid one.
    private static func loadMeta(_ file: StorageFile, requestedPageSize: Int?) throws(StoreError) -> Meta {
        let path = file.path
        let size = try file.size()
        let first = try file.read(at: 0, count: min(size, Meta.encodedSize))
        let slot0 = first.withUnsafeBytes { Meta.decode($0) }
        var candidates: [Meta] = []
        var damage: [String] = []
        var sawMagic = false
        var otherVersion: UInt32?
        switch slot0 {
        case .valid(let meta): candidates.append(meta); sawMagic = true
        case .damaged(let reason): damage.append("meta page 0: \(reason)"); sawMagic = true
        case .otherVersion(let version): otherVersion = version
        case .foreign: break
        }
        var sizes = [Int]()
        if case .valid(let meta) = slot0 { sizes = [meta.pageSize] } else {
            sizes = stride(from: 9, through: 15, by: 1).map { 1 << $0 }
        }
        for pageSize in sizes where pageSize + Meta.encodedSize <= size {
            let bytes = try file.read(at: pageSize, count: Meta.encodedSize)
            switch bytes.withUnsafeBytes({ Meta.decode($0) }) {
            case .valid(let meta) where meta.pageSize == pageSize:
                candidates.append(meta); sawMagic = true
            case .valid: break
            case .damaged(let reason):
                if sizes.count == 1 { damage.append("meta page 1: \(reason)"); sawMagic = true }
            case .otherVersion(let version): otherVersion = version
            case .foreign: break
            }
        }
        if let otherVersion {
            throw .notADatabase(path: path, reason: "B+tree format version \(otherVersion), this build reads version \(Meta.formatVersion)")
        }
        guard sawMagic else { throw .notADatabase(path: path, reason: "no B+tree magic number in either meta page") }
        guard let newest = candidates.max(by: { $0.seq < $1.seq }) else {
            throw .corruption(path: path, reason: damage.joined(separator: "; "))
        }
        if let requestedPageSize, requestedPageSize != newest.pageSize {
            throw .invalidOption(name: "btree.page_size", reason: "the database was created with pages of \(newest.pageSize) bytes; omit the setting or pass \(newest.pageSize)")
        }
        return newest
    }

    /// Reads the free list of `meta`; returns the free pages and the pages holding the list.
    private static func loadFreelist(_ file: PageFile, meta: Meta) throws(StoreError) -> (FreeSpace, [UInt32]) {
        var space = FreeSpace(pageCount: meta.pageCount)
        var listPages: [UInt32] = []
        var pgno = meta.freelistHead
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: file.pageSize, alignment: 16)
        defer { buffer.deallocate() }
        while pgno != 0 {
            guard listPages.count < Int(meta.pageCount) else {
                throw .corruption(path: file.path, reason: "the free list loops")
            }
            try file.readPage(pgno, into: buffer)
            let page = PageView(buffer, size: file.pageSize)
            guard page.type == .freelist else {
                throw .corruption(path: file.path, reason: "page \(pgno) in the free list is not a free-list page")
            }
            listPages.append(pgno)
            for index in 0..<page.count {
                let entry = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: PageLayout.headerSize + 4 * index, as: UInt32.self))
                guard entry >= 2 && entry < meta.pageCount else {
                    throw .corruption(path: file.path, reason: "free-list entry \(entry) is outside the file")
                }
                space.reusable.append(entry)
            }
            pgno = page.link
        }
        guard space.reusable.count == Int(meta.freeCount) else {
            throw .corruption(path: file.path, reason: "the free list holds \(space.reusable.count) pages, the meta page says \(meta.freeCount)")
        }
        return (space, listPages)
    }

    /// Re-applies logged commits after `txn`; returns how many.
    private static func replay(_ files: [StorageFile], into writer: TreeWriter, after txn: UInt64, path: String) throws(StoreError) -> Int {
        let logs = [try WriteAheadLog.readRecords(files[0]), try WriteAheadLog.readRecords(files[1])]
        var expected = txn + 1
        var applied = 0
        while true {
            guard let log = logs.first(where: { ($0.first?.lsn ?? .max) <= expected && ($0.last?.lsn ?? 0) >= expected }) else {
                if logs.contains(where: { ($0.first?.lsn ?? 0) > expected }) {
                    throw .corruption(path: path, reason: "the log misses commit \(expected) that later commits build on")
                }
                return applied
            }
            for record in log where record.lsn >= expected {
                guard let operations = WriteAheadLog.decode(record.operations) else {
                    throw .corruption(path: path, reason: "log record \(record.lsn) has a valid checksum but cannot be decoded")
                }
                writer.begin()
                do throws(StoreError) {
                    for operation in operations {
                        switch operation {
                        case .put(let key, let value):
                            try Bytes(key).withBorrowedBytes { (k) throws(StoreError) in
                                try Bytes(value).withBorrowedBytes { (v) throws(StoreError) in try writer.put(k, v) }
                            }
                        case .delete(let key):
                            try Bytes(key).withBorrowedBytes { (k) throws(StoreError) in _ = try writer.delete(k) }
                        }
                    }
                } catch {
                    writer.abort()
                    throw error
                }
                writer.commit()
                expected += 1
                applied += 1
            }
        }
    }

    // MARK: writes

    @inline(__always)
    private func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    /// Runs one commit: `apply` changes the tree, `encode` writes its log record.
    private func commit(_ apply: (TreeWriter) throws(StoreError) -> Void, log encode: (inout Bytes) -> Void) throws(StoreError) {
        if backpressure.load(ordering: .relaxed) { waitForCheckpoint() }
        try writer.withLock { (writer) throws(StoreError) in
            if let failure = writerFailure.withLock({ $0 }) { throw failure }
            if writer.wantsCheckpoint && !writer.checkpointInProgress {
                do throws(StoreError) {
                    if let job = try writer.beginCheckpoint(forceSync: false) { startCheckpoint(job) }
                } catch {
                    writerFailure.withLock { $0 = error }
                    throw error
                }
            }
            writer.begin()
            do throws(StoreError) {
                try apply(writer)
                try writer.log(encode)
            } catch {
                writer.abort()
                throw error
            }
            writer.commit()
            registry.publish(Snapshot(txn: writer.lastTxn, root: writer.root, height: writer.height))
            backpressure.store(writer.wantsBackpressure, ordering: .relaxed)
            copyStatistics(writer)
        }
        commits.add(1, ordering: .relaxed)
    }

    /// Writes `job` on the checkpoint queue. The checkpointed pages stay put meanwhile:
    /// frees of pages created up to the checkpoint wait for the meta pages (`FreeSpace`),
    /// and the older meta page only moves on in `finishCheckpoint`.
    private func startCheckpoint(_ job: CheckpointJob) {
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
    private func waitForCheckpoint() {
        if DispatchQueue.getSpecific(key: Self.onCheckpointQueue) == nil { checkpointQueue.sync {} }
    }

    /// Runs `body` under the writer lock once no background checkpoint is in flight.
    private func withQuiescentWriter<Result: Sendable>(_ body: (TreeWriter) throws(StoreError) -> Result) throws(StoreError) -> Result {
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

    private func copyStatistics(_ writer: TreeWriter) {
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

    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try commit({ (writer) throws(StoreError) in try writer.put(k, v) }, log: { WriteAheadLog.appendPut(key: k, value: v, into: &$0) })
            }
        }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try commit({ (writer) throws(StoreError) in try writer.delete(k) }, log: { WriteAheadLog.appendDelete(key: k, into: &$0) })
        }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        guard !batch.isEmpty else { return }
        try commit({ (writer) throws(StoreError) in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    try key.withBorrowedBytes { (k) throws(StoreError) in
                        try value.withBorrowedBytes { (v) throws(StoreError) in try writer.put(k, v) }
                    }
                case .delete(let key):
                    try key.withBorrowedBytes { (k) throws(StoreError) in _ = try writer.delete(k) }
                }
            }
        }, log: { out in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    key.withUnsafeBytes { k in value.withUnsafeBytes { v in WriteAheadLog.appendPut(key: k, value: v, into: &out) } }
                case .delete(let key):
                    key.withUnsafeBytes { WriteAheadLog.appendDelete(key: $0, into: &out) }
                }
            }
        })
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    // MARK: reads

    /// The calling thread's reader slot, created on first use.
    @inline(__always)
    private func threadSlot() -> ReaderSlot {
        threadSlots.slot { registry.makeSlot() }
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        let slot = threadSlot()
        let snapshot = registry.acquire(slot)
        defer { slot.release() }
        return try key.withBorrowedBytes { (k) throws(StoreError) -> Result? in
            try TreeReader.lookup(pool, snapshot, k, slot: slot, body)
        }
    }

    public func withCursor<Result>(_ body: (inout BTreeCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        let slot = registry.borrowSlot()
        defer { registry.returnSlot(slot) }
        var cursor = BTreeCursor(pool: pool, snapshot: registry.acquire(slot))
        defer { cursor.invalidate() }
        return try body(&cursor)
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
                try pageFile.file.sync()
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
