import KVStore
import StorageIO

/// A split produced below: the separator key and the new right page.
struct Split {
    var separator: Bytes
    var right: UInt32
}

/// The single writer: applies commits copy-on-write, allocates and frees pages,
/// logs commits, publishes them to readers and writes checkpoints. This file holds its
/// state, commits, page access (through the buffer pool), allocation, overflow values and
/// the descent; `TreeWriter+Insertion.swift` (put,
/// split, share), `TreeWriter+Deletion.swift` (delete, merge, redistribute) and
/// `TreeWriter+Checkpoint.swift` extend it, and `CellRun.swift` is the one split step
/// they all use. Its state is set only by those files.
///
/// `@unchecked Sendable`: the store keeps it inside its writer `Mutex` and
/// touches it only there (and in `open`, before the store exists).
///
/// Its stored state is `@exclusivity(unchecked)`: one thread at a time runs the writer and
/// no method holds an access to a property across a call that touches it again, so the
/// runtime checks (a third of a put's instructions) would guard nothing.
final class TreeWriter: @unchecked Sendable {
    let pool: BufferPool
    let file: PageFile
    let pageSize: Int
    let durability: Durability
    let wal: WriteAheadLog?
    let checkpointPages: Int
    let checkpointLogBytes: Int
    /// Where commits are published to readers, and whose slots tell the oldest snapshot held.
    let registry: ReaderRegistry

    @exclusivity(unchecked) var free: FreeSpace
    @exclusivity(unchecked) var root: UInt32
    @exclusivity(unchecked) var height: Int
    @exclusivity(unchecked) var entries: UInt64
    @exclusivity(unchecked) var lastTxn: UInt64
    @exclusivity(unchecked) var newestMeta: Meta
    @exclusivity(unchecked) var olderCheckpointTxn: UInt64
    @exclusivity(unchecked) var freelistPages: [UInt32]
    @exclusivity(unchecked) var checkpoints: UInt64 = 0
    /// True between `beginCheckpoint` and `finishCheckpoint`.
    @exclusivity(unchecked) var checkpointInProgress = false
    /// The newest commit a meta page may come to reference (the checkpoint being written, if any).
    @exclusivity(unchecked) var routingCheckpointTxn: UInt64
    @exclusivity(unchecked) var leafSplits: UInt64 = 0
    @exclusivity(unchecked) var leafShares: UInt64 = 0
    @exclusivity(unchecked) var metaBytesWritten: UInt64 = 0
    @exclusivity(unchecked) var liveDirty = 0

    @exclusivity(unchecked) var txn: UInt64 = 0
    @exclusivity(unchecked) private var saved: (root: UInt32, height: Int, entries: UInt64) = (0, 0, 0)
    @exclusivity(unchecked) private var releaseTried = false
    @exclusivity(unchecked) private var released: [UInt32] = []
    @exclusivity(unchecked) private var pinned: [FrameRef] = []
    @exclusivity(unchecked) var pathPgno: [UInt32] = []
    @exclusivity(unchecked) var pathIndex: [Int] = []
    @exclusivity(unchecked) var pathRightmost: [Bool] = []

    let scratch: UnsafeMutableRawPointer
    var compactBuffer: UnsafeMutableRawPointer { scratch }
    var cellBuffer: UnsafeMutableRawPointer { scratch + pageSize }
    /// Two pages: the copies a `CellRun` gathers its cells from.
    var runBuffer: UnsafeMutableRawPointer { scratch + 2 * pageSize }

    let capacity: Int
    /// Largest leaf cell kept inline; larger values go to overflow pages.
    let maxInlineCell: Int
    /// Pages using fewer bytes than this are merged or refilled on delete.
    let underflowBytes: Int

    init(pool: BufferPool, file: PageFile, durability: Durability, wal: WriteAheadLog?, meta: Meta,
         freeSpace: FreeSpace, freelistPages: [UInt32], checkpointPages: Int, checkpointLogBytes: Int,
         registry: ReaderRegistry) {
        self.pool = pool
        self.file = file
        self.pageSize = file.pageSize
        self.durability = durability
        self.wal = wal
        self.checkpointPages = checkpointPages
        self.checkpointLogBytes = checkpointLogBytes
        self.registry = registry
        self.free = freeSpace
        self.root = meta.root
        self.height = meta.height
        self.entries = meta.entries
        self.lastTxn = meta.txn
        self.newestMeta = meta
        self.olderCheckpointTxn = meta.txn
        self.routingCheckpointTxn = meta.txn
        self.freelistPages = freelistPages
        capacity = pageSize - PageLayout.headerSize
        maxInlineCell = capacity / 4 - PageLayout.slotSize
        underflowBytes = capacity / 4
        scratch = UnsafeMutableRawPointer.allocate(byteCount: 4 * pageSize, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// Largest key: a branch or leaf cell holding it stays below a quarter page.
    static func maxKeySize(pageSize: Int) -> Int { (pageSize - PageLayout.headerSize) / 8 }

    // MARK: commits

    /// True when a checkpoint is being written and the dirty pages have reached the limit
    /// again since it began: the next commit waits for it, which bounds file growth.
    var wantsBackpressure: Bool { checkpointInProgress && liveDirty >= checkpointPages }

    /// True when the dirty pages or the log ask for a checkpoint before the next commit.
    var wantsCheckpoint: Bool {
        liveDirty >= checkpointPages || (wal?.activeBytes ?? 0) >= checkpointLogBytes
    }

    /// Opens commit `lastTxn + 1`.
    func begin() {
        txn = lastTxn + 1
        saved = (root, height, entries)
        releaseTried = false
    }

    /// Ends the open commit and publishes its tree to readers; under `fsync` the store
    /// publishes it instead, once its log record is synced (group commit, `Commit.swift`).
    func commit() {
        unpinAll()
        for pgno in free.freedInCommit { pool.discard(pgno) }
        free.commit()
        lastTxn = txn
        if durability != .fsync { registry.publish(Snapshot(txn: lastTxn, root: root, height: height)) }
    }

    /// Abandons the open commit: the published tree is untouched, its pages stay as they were.
    func abort() {
        unpinAll()
        for pgno in free.allocatedInCommit { pool.discard(pgno) }
        for pgno in free.abort() { pool.markFreed(pgno, at: 0) }
        (root, height, entries) = saved
    }

    func unpinAll() {
        for frame in pinned { pool.unpin(frame) }
        pinned.removeAll(keepingCapacity: true)
    }

    /// Logs the open commit's operations (nothing under durability `none`).
    func log(_ encode: (inout Bytes) -> Void) throws(StoreError) {
        guard let wal else { return }
        try wal.append(lsn: txn, encode)
    }


    // MARK: pages

    func allocate() throws(StoreError) -> UInt32 {
        var pgno = free.takeReusable()
        if pgno == nil && !releaseTried && (!free.pendingReaders.isEmpty || !free.pendingDisk.isEmpty) {
            releaseTried = true
            releasePending()
            pgno = free.takeReusable()
        }
        let result = pgno ?? free.extend()
        free.allocatedInCommit.append(result)
        return result
    }

    func releasePending() {
        released.removeAll(keepingCapacity: true)
        free.release(oldestReader: registry.oldest(), olderCheckpoint: olderCheckpointTxn, into: &released)
        for pgno in released { pool.discard(pgno) }
    }

    func freePage(_ pgno: UInt32, birth: UInt64) {
        pool.markFreed(pgno, at: txn)
        free.free(pgno, birth: birth, txn: txn, newestCheckpoint: routingCheckpointTxn)
        if birth > routingCheckpointTxn && liveDirty > 0 { liveDirty -= 1 }
    }

    @inline(__always) func view(_ frame: FrameRef) -> PageView { PageView(frame.pointer, size: pageSize) }

    private func pinTracked(_ pgno: UInt32) throws(StoreError) -> FrameRef {
        let frame = try pool.pin(pgno)
        pinned.append(frame)
        return frame
    }

    /// A version of page `pgno` that this commit may change: the page itself when
    /// this commit created it, otherwise a copy at a new page number (the old one is freed).
    func writable(_ pgno: UInt32) throws(StoreError) -> (UInt32, PageView) {
        let frame = try pinTracked(pgno)
        let page = view(frame)
        if page.txn == txn {
            if frame.isFrame { return (pgno, page) }
            // Written by an eviction during this commit and now read through the map: back into a dirty frame.
            let reloaded = try pool.create(pgno, birth: txn)
            pinned.append(reloaded)
            reloaded.pointer.copyMemory(from: frame.pointer, byteCount: pageSize)
            return (pgno, view(reloaded))
        }
        let copy = try allocate()
        let target = try pool.create(copy, birth: txn)
        pinned.append(target)
        target.pointer.copyMemory(from: frame.pointer, byteCount: pageSize)
        let writablePage = view(target)
        writablePage.pgno = copy
        writablePage.txn = txn
        freePage(pgno, birth: page.txn)
        liveDirty += 1
        return (copy, writablePage)
    }

    func newPage(_ type: PageType) throws(StoreError) -> (UInt32, PageView) {
        let pgno = try allocate()
        let frame = try pool.create(pgno, birth: txn)
        pinned.append(frame)
        let page = view(frame)
        page.initialize(type: type, pgno: pgno, txn: txn)
        liveDirty += 1
        return (pgno, page)
    }

    // MARK: overflow values

    func writeOverflow(_ value: UnsafeRawBufferPointer) throws(StoreError) -> UInt32 {
        let perPage = pageSize - PageLayout.headerSize
        let count = (value.count + perPage - 1) / perPage
        var pgnos: [UInt32] = []
        pgnos.reserveCapacity(count)
        for _ in 0..<count { pgnos.append(try allocate()) }
        for (index, pgno) in pgnos.enumerated() {
            let frame = try pool.create(pgno, birth: txn)
            let page = view(frame)
            page.initialize(type: .overflow, pgno: pgno, txn: txn)
            page.link = index + 1 < count ? pgnos[index + 1] : 0
            let start = index * perPage
            let length = min(perPage, value.count - start)
            (frame.pointer + PageLayout.headerSize).copyMemory(from: value.baseAddress! + start, byteCount: length)
            if length < perPage {
                (frame.pointer + PageLayout.headerSize + length).initializeMemory(as: UInt8.self, repeating: 0, count: perPage - length)
            }
            pool.unpin(frame)
            liveDirty += 1
        }
        return pgnos[0]
    }

    func freeOverflow(_ head: UInt32) throws(StoreError) {
        var pgno = head
        while pgno != 0 {
            let frame = try pool.pin(pgno)
            let page = view(frame)
            let next = page.link
            let birth = page.txn
            let isOverflow = page.type == .overflow
            pool.unpin(frame)
            guard isOverflow else { throw .corruption(path: file.path, reason: "page \(pgno) in an overflow chain is not an overflow page") }
            freePage(pgno, birth: birth)
            pgno = next
        }
    }

    // MARK: descent

    /// Walks from the root to the leaf covering `key`, recording the path; returns the leaf's page number.
    func descend(_ key: UnsafeRawBufferPointer) throws(StoreError) -> UInt32 {
        pathPgno.removeAll(keepingCapacity: true)
        pathIndex.removeAll(keepingCapacity: true)
        pathRightmost.removeAll(keepingCapacity: true)
        var pgno = root
        var rightmost = true
        for _ in 1..<max(height, 1) {
            let frame = try pool.pin(pgno)
            let page = view(frame)
            guard !page.isLeaf else {
                pool.unpin(frame)
                throw .corruption(path: file.path, reason: "leaf page \(pgno) found above the leaf level")
            }
            let index = page.childIndex(for: key)
            let child = page.child(index)
            pathPgno.append(pgno)
            pathIndex.append(index)
            pathRightmost.append(rightmost)
            rightmost = rightmost && index == page.count - 1
            pool.unpin(frame)
            pgno = child
        }
        pathRightmost.append(rightmost)
        return pgno
    }
}
