import KVStore
import StorageIO

/// Checkpoints: the writer decides one (`beginCheckpoint`), `CheckpointJob.write` writes
/// the dirty pages, free list and meta page (on any thread), and `finishCheckpoint` adopts it.
extension TreeWriter {
    /// Decides a checkpoint of the tree as of the last commit: takes the free list and
    /// the pages to hold it, routes later frees as if the checkpoint were already on disk,
    /// and restarts the log. Writing it (`CheckpointJob.write`) needs no writer state, so it
    /// can run on another thread while commits go on; `finishCheckpoint` then adopts the meta page.
    /// Without `restartLog` the log is left as it is (recovery truncates it once the checkpoint is synced).
    func beginCheckpoint(forceSync: Bool, restartLog: Bool = true) throws(StoreError) -> CheckpointJob? {
        guard !checkpointInProgress, lastTxn > newestMeta.txn else { return nil }
        let commitTxn = lastTxn
        for pgno in freelistPages { free.pendingDisk.append(PendingPage(pgno: pgno, freedAt: commitTxn)) }
        freelistPages = []
        releasePending()
        let perPage = (pageSize - PageLayout.headerSize) / 4
        let needed = (free.totalFree + perPage - 1) / perPage
        var listPages: [UInt32] = []
        for _ in 0..<needed { listPages.append(free.takeReusable() ?? free.extend()) }
        for pgno in listPages { pool.discard(pgno) }
        var listed: [UInt32] = free.reusable
        listed.append(contentsOf: free.pendingReaders.pgnos)
        listed.append(contentsOf: free.pendingDisk.pgnos)
        let meta = Meta(pageSize: pageSize, seq: newestMeta.seq + 1, txn: commitTxn, root: root, height: height,
                        pageCount: free.pageCount, freelistHead: listPages.first ?? 0, freeCount: UInt64(listed.count),
                        entries: entries)
        routingCheckpointTxn = commitTxn
        liveDirty = 0
        checkpointInProgress = true
        if restartLog { try wal?.restart(afterCheckpoint: meta.seq, syncingPrevious: durability == .fsync) }
        return CheckpointJob(meta: meta, listPages: listPages, listed: listed,
                             syncFiles: forceSync || durability == .fsync)
    }

    /// Adopts the meta page written by `job`.
    func finishCheckpoint(_ job: CheckpointJob) {
        olderCheckpointTxn = newestMeta.txn
        newestMeta = job.meta
        freelistPages = job.listPages
        checkpoints += 1
        metaBytesWritten += UInt64(pageSize)
        checkpointInProgress = false
    }

    /// Writes every dirty page, the free list and a new meta page on this thread.
    /// Afterwards the page file alone holds every commit up to `lastTxn`.
    func checkpoint(forceSync: Bool = false, restartLog: Bool = true) throws(StoreError) {
        guard let job = try beginCheckpoint(forceSync: forceSync, restartLog: restartLog) else { return }
        try job.write(pool: pool, file: file)
        finishCheckpoint(job)
    }
}

/// A checkpoint decided by `TreeWriter.beginCheckpoint`: what to write, without the writer.
struct CheckpointJob: Sendable {
    let meta: Meta
    let listPages: [UInt32]
    let listed: [UInt32]
    let syncFiles: Bool

    /// Writes the free-list pages and every dirty page of the checkpointed tree (pages of
    /// later commits stay dirty), then the meta page; syncs before and after the meta page
    /// when asked. Pages of the checkpointed tree cannot change meanwhile (copy-on-write),
    /// nor be reused: their frees wait until both meta pages are past them.
    func write(pool: BufferPool, file: PageFile) throws(StoreError) {
        let pageSize = file.pageSize
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { buffer.deallocate() }
        let perPage = (pageSize - PageLayout.headerSize) / 4
        var cursor = 0
        for (index, pgno) in listPages.enumerated() {
            let page = PageView(buffer, size: pageSize)
            page.initialize(type: .freelist, pgno: pgno, txn: meta.txn)
            page.link = index + 1 < listPages.count ? listPages[index + 1] : 0
            let n = min(perPage, listed.count - cursor)
            for slot in 0..<n {
                buffer.storeBytes(of: listed[cursor + slot].littleEndian, toByteOffset: PageLayout.headerSize + 4 * slot, as: UInt32.self)
            }
            (buffer + PageLayout.headerSize + 4 * n).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - PageLayout.headerSize - 4 * n)
            page.count = n
            cursor += n
            try file.writePage(pgno, from: buffer)
        }
        try pool.flushDirty(upTo: meta.txn)
        if syncFiles { try file.sync() }
        meta.encode(into: UnsafeMutableRawBufferPointer(start: buffer, count: pageSize))
        try file.file.write(at: Int(meta.seq % 2) * pageSize, UnsafeRawBufferPointer(start: buffer, count: pageSize))
        if syncFiles { try file.sync() }
    }
}
