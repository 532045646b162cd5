import KVStore
import StorageIO

/// A split produced below: the separator key and the new right page.
struct Split {
    var separator: Bytes
    var right: UInt32
}

/// The single writer: applies commits copy-on-write, allocates and frees pages,
/// logs commits and writes checkpoints.
///
/// `@unchecked Sendable`: the store keeps it inside its writer `Mutex` and
/// touches it only there (and in `open`, before the store exists).
final class TreeWriter: @unchecked Sendable {
    let pool: BufferPool
    let file: PageFile
    let pageSize: Int
    let durability: Durability
    let wal: WriteAheadLog?
    let checkpointPages: Int
    let checkpointLogBytes: Int
    /// The oldest snapshot any reader holds or can still take (the published commit when none).
    let oldestSnapshot: () -> UInt64

    var free: FreeSpace
    private(set) var root: UInt32
    private(set) var height: Int
    private(set) var entries: UInt64
    private(set) var lastTxn: UInt64
    private(set) var newestMeta: Meta
    private(set) var olderCheckpointTxn: UInt64
    private(set) var freelistPages: [UInt32]
    private(set) var checkpoints: UInt64 = 0
    /// True between `beginCheckpoint` and `finishCheckpoint`.
    private(set) var checkpointInProgress = false
    /// The newest commit a meta page may come to reference (the checkpoint being written, if any).
    private var routingCheckpointTxn: UInt64
    private(set) var leafSplits: UInt64 = 0
    private(set) var leafShares: UInt64 = 0
    private(set) var metaBytesWritten: UInt64 = 0
    private var liveDirty = 0

    private var txn: UInt64 = 0
    private var saved: (root: UInt32, height: Int, entries: UInt64) = (0, 0, 0)
    private var releaseTried = false
    private var released: [UInt32] = []
    private var pinned: [FrameRef] = []
    private var pathPgno: [UInt32] = []
    private var pathIndex: [Int] = []
    private var pathRightmost: [Bool] = []

    private let scratch: UnsafeMutableRawPointer
    private var compactBuffer: UnsafeMutableRawPointer { scratch }
    private var cellBuffer: UnsafeMutableRawPointer { scratch + pageSize }
    private var leftCopy: UnsafeMutableRawPointer { scratch + 2 * pageSize }
    private var rightCopy: UnsafeMutableRawPointer { scratch + 3 * pageSize }

    let capacity: Int
    /// Largest leaf cell kept inline; larger values go to overflow pages.
    let maxInlineCell: Int
    /// Pages using fewer bytes than this are merged or refilled on delete.
    let underflowBytes: Int

    init(pool: BufferPool, file: PageFile, durability: Durability, wal: WriteAheadLog?, meta: Meta,
         freeSpace: FreeSpace, freelistPages: [UInt32], checkpointPages: Int, checkpointLogBytes: Int,
         oldestSnapshot: @escaping () -> UInt64) {
        self.pool = pool
        self.file = file
        self.pageSize = file.pageSize
        self.durability = durability
        self.wal = wal
        self.checkpointPages = checkpointPages
        self.checkpointLogBytes = checkpointLogBytes
        self.oldestSnapshot = oldestSnapshot
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

    /// Ends the open commit; the caller publishes the new root afterwards.
    func commit() {
        unpinAll()
        for pgno in free.freedInCommit { pool.discard(pgno) }
        free.commit()
        lastTxn = txn
    }

    /// Abandons the open commit: the published tree is untouched, its pages stay as they were.
    func abort() {
        unpinAll()
        for pgno in free.allocatedInCommit { pool.discard(pgno) }
        for pgno in free.abort() { pool.markFreed(pgno, at: 0) }
        (root, height, entries) = saved
    }

    private func unpinAll() {
        for frame in pinned { pool.unpin(frame) }
        pinned.removeAll(keepingCapacity: true)
    }

    /// Logs the open commit's operations (nothing under durability `none`).
    func log(_ encode: (WriteAheadLog) -> Void) throws(StoreError) {
        guard let wal else { return }
        wal.begin(lsn: txn)
        encode(wal)
        try wal.write()
        if durability == .fsync { try wal.sync() }
    }

    // MARK: pages

    private func allocate() throws(StoreError) -> UInt32 {
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

    private func releasePending() {
        released.removeAll(keepingCapacity: true)
        free.release(oldestReader: oldestSnapshot(), olderCheckpoint: olderCheckpointTxn, into: &released)
        for pgno in released { pool.discard(pgno) }
    }

    private func freePage(_ pgno: UInt32, birth: UInt64) {
        pool.markFreed(pgno, at: txn)
        free.free(pgno, birth: birth, txn: txn, newestCheckpoint: routingCheckpointTxn)
        if birth > routingCheckpointTxn && liveDirty > 0 { liveDirty -= 1 }
    }

    @inline(__always) private func view(_ frame: FrameRef) -> PageView { PageView(frame.pointer, size: pageSize) }

    private func pinTracked(_ pgno: UInt32) throws(StoreError) -> FrameRef {
        let frame = try pool.pin(pgno)
        pinned.append(frame)
        return frame
    }

    /// A version of page `pgno` that this commit may change: the page itself when
    /// this commit created it, otherwise a copy at a new page number (the old one is freed).
    private func writable(_ pgno: UInt32) throws(StoreError) -> (UInt32, PageView) {
        let frame = try pinTracked(pgno)
        let page = view(frame)
        if page.txn == txn { return (pgno, page) }
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

    private func newPage(_ type: PageType) throws(StoreError) -> (UInt32, PageView) {
        let pgno = try allocate()
        let frame = try pool.create(pgno, birth: txn)
        pinned.append(frame)
        let page = view(frame)
        page.initialize(type: type, pgno: pgno, txn: txn)
        liveDirty += 1
        return (pgno, page)
    }

    // MARK: overflow values

    private func writeOverflow(_ value: UnsafeRawBufferPointer) throws(StoreError) -> UInt32 {
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

    private func freeOverflow(_ head: UInt32) throws(StoreError) {
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
    private func descend(_ key: UnsafeRawBufferPointer) throws(StoreError) -> UInt32 {
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

    // MARK: put

    /// Stores `key` → `value` in the open commit.
    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(StoreError) {
        defer { unpinAll() }
        let inline = PageView.leafCellSize(keyLength: key.count, storedValueLength: value.count) <= maxInlineCell
        let cellSize: Int
        if inline {
            cellSize = PageView.leafCellSize(keyLength: key.count, storedValueLength: value.count)
            PageView.writeLeafCell(cellBuffer, key: key, value: value)
        } else {
            let head = try writeOverflow(value)
            cellSize = PageView.leafCellSize(keyLength: key.count, storedValueLength: 4)
            PageView.writeOverflowLeafCell(cellBuffer, key: key, length: value.count, head: head)
        }
        let cell = UnsafeRawBufferPointer(start: cellBuffer, count: cellSize)
        if root == 0 {
            let (pgno, page) = try newPage(.leaf)
            page.appendCell(cell)
            root = pgno
            height = 1
            entries += 1
            return
        }
        let leafPgno = try descend(key)
        let (newLeaf, leaf) = try writable(leafPgno)
        let usedBefore = leaf.used
        let (index, found) = leaf.lowerBound(key)
        if found {
            if case .overflow(let head, _) = leaf.leafValue(index) { try freeOverflow(head) }
            leaf.removeCell(at: index)
        } else {
            entries += 1
        }
        var split: Split?
        if !leaf.insertCell(at: index, copying: cell, scratch: compactBuffer) {
            let append = pathRightmost[pathRightmost.count - 1] && index == leaf.count
            if !append, try shareWithSibling(leaf, pgno: newLeaf, insertAt: index, cell: cell) {
                leafShares += 1
                return
            }
            split = try splitLeaf(leaf, pgno: newLeaf, insertAt: index, cell: cell, append: append)
            leafSplits += 1
        }
        let underflow = split == nil && height > 1 && leaf.used < usedBefore && leaf.used < underflowBytes
        try ascend(child: newLeaf, original: leafPgno, split: split, underflow: underflow)
    }

    /// Instead of splitting a full leaf, spreads its cells and the new one over the leaf and
    /// an adjacent sibling when the sibling has room (as a B*-tree does): random inserts then
    /// leave leaves about 80 % full instead of 69 %. Returns false when no sibling has room.
    private func shareWithSibling(_ leaf: PageView, pgno: UInt32, insertAt: Int, cell: UnsafeRawBufferPointer) throws(StoreError) -> Bool {
        guard let parentLevel = pathPgno.indices.last else { return false }
        let index = pathIndex[parentLevel]
        let parentFrame = try pool.pin(pathPgno[parentLevel])
        let parentView = view(parentFrame)
        let keys = parentView.count
        let candidates = [index + 1 <= keys - 1 ? index + 1 : nil, index >= 0 ? index - 1 : nil].compactMap { $0 }
        var best: (index: Int, used: Int)?
        let leafLargest = max(largestCell(leaf), cell.count)
        for candidate in candidates {
            let frame = try pool.pin(parentView.child(candidate))
            let siblingView = view(frame)
            let used = siblingView.used
            // Room for a balanced split: each half holds at most half the bytes plus one cell.
            let margin = 2 * (max(leafLargest, largestCell(siblingView)) + PageLayout.slotSize)
            pool.unpin(frame)
            if used <= capacity * 3 / 4, leaf.used + cell.count + PageLayout.slotSize + used <= 2 * capacity - margin,
               used < best?.used ?? .max {
                best = (candidate, used)
            }
        }
        pool.unpin(parentFrame)
        guard let best else { return false }
        let (newParent, parent) = try writable(pathPgno[parentLevel])
        parent.setChild(index, pgno)
        let (siblingPgno, sibling) = try writable(parent.child(best.index))
        parent.setChild(best.index, siblingPgno)
        let leafIsLeft = index < best.index
        let (left, leftPgno, right, rightPgno) = leafIsLeft ? (leaf, pgno, sibling, siblingPgno) : (sibling, siblingPgno, leaf, pgno)
        leftCopy.copyMemory(from: left.base, byteCount: pageSize)
        rightCopy.copyMemory(from: right.base, byteCount: pageSize)
        let a = PageView(leftCopy, size: pageSize), b = PageView(rightCopy, size: pageSize)
        var cells: [UnsafeRawBufferPointer] = []
        cells.reserveCapacity(a.count + b.count + 1)
        for i in 0..<a.count {
            if leafIsLeft && i == insertAt { cells.append(cell) }
            cells.append(a.cell(i))
        }
        if leafIsLeft && insertAt == a.count { cells.append(cell) }
        for i in 0..<b.count {
            if !leafIsLeft && i == insertAt { cells.append(cell) }
            cells.append(b.cell(i))
        }
        if !leafIsLeft && insertAt == b.count { cells.append(cell) }
        let middle = balancedLeafSplit(cells)
        left.initialize(type: .leaf, pgno: leftPgno, txn: txn)
        right.initialize(type: .leaf, pgno: rightPgno, txn: txn)
        for i in 0..<middle { left.appendCell(cells[i]) }
        for i in middle..<cells.count { right.appendCell(cells[i]) }
        let separatorIndex = max(index, best.index)
        parent.removeCell(at: separatorIndex)
        let parentSplit = try insertBranch(parent, pgno: newParent, at: separatorIndex, key: Bytes(right.key(0)),
                                           child: rightPgno, append: false)
        let underflow = parentSplit == nil && parentLevel > 0 && parent.used < underflowBytes
        try ascend(child: newParent, original: pathPgno[parentLevel], split: parentSplit, underflow: underflow,
                   from: parentLevel - 1)
        return true
    }

    /// Splits a full leaf while inserting `cell` at `insertAt`; `append` puts the new cell alone on the right.
    private func splitLeaf(_ page: PageView, pgno: UInt32, insertAt: Int, cell: UnsafeRawBufferPointer, append: Bool) throws(StoreError) -> Split {
        leftCopy.copyMemory(from: page.base, byteCount: pageSize)
        let source = PageView(leftCopy, size: pageSize)
        var cells: [UnsafeRawBufferPointer] = []
        cells.reserveCapacity(source.count + 1)
        for index in 0..<source.count {
            if index == insertAt { cells.append(cell) }
            cells.append(source.cell(index))
        }
        if insertAt == source.count { cells.append(cell) }
        let middle = append ? cells.count - 1 : balancedLeafSplit(cells)
        page.initialize(type: .leaf, pgno: pgno, txn: txn)
        let (rightPgno, right) = try newPage(.leaf)
        for index in 0..<middle { page.appendCell(cells[index]) }
        for index in middle..<cells.count { right.appendCell(cells[index]) }
        return Split(separator: Bytes(right.key(0)), right: rightPgno)
    }

    private func largestCell(_ page: PageView) -> Int {
        var largest = 0
        for index in 0..<page.count { largest = max(largest, page.cellSize(index)) }
        return largest
    }

    /// Index of the first cell of the right half, balancing bytes; both halves non-empty.
    private func balancedLeafSplit(_ cells: [UnsafeRawBufferPointer]) -> Int {
        let total = cells.reduce(0) { $0 + $1.count + PageLayout.slotSize }
        var accumulated = 0
        for (index, cell) in cells.enumerated() {
            accumulated += cell.count + PageLayout.slotSize
            if accumulated >= total / 2 { return min(max(index + 1, 1), cells.count - 1) }
        }
        return cells.count - 1
    }

    /// Index of the cell that moves up when splitting a branch, balancing bytes; at least one key each side.
    private func balancedBranchSplit(_ cells: [UnsafeRawBufferPointer]) -> Int {
        let total = cells.reduce(0) { $0 + $1.count + PageLayout.slotSize }
        var accumulated = 0
        for (index, cell) in cells.enumerated() {
            if accumulated + cell.count + PageLayout.slotSize > total / 2 { return min(max(index, 1), cells.count - 2) }
            accumulated += cell.count + PageLayout.slotSize
        }
        return cells.count - 2
    }

    /// Inserts branch cell (`key`, `child`) at `index` of `page`, splitting the page when full.
    private func insertBranch(_ page: PageView, pgno: UInt32, at index: Int, key: Bytes, child: UInt32, append: Bool) throws(StoreError) -> Split? {
        let size = PageLayout.branchCellHeader + key.count
        key.withUnsafeBytes { PageView.writeBranchCell(cellBuffer, child: child, key: $0) }
        let cell = UnsafeRawBufferPointer(start: cellBuffer, count: size)
        if page.insertCell(at: index, copying: cell, scratch: compactBuffer) { return nil }
        leftCopy.copyMemory(from: page.base, byteCount: pageSize)
        let source = PageView(leftCopy, size: pageSize)
        var cells: [UnsafeRawBufferPointer] = []
        cells.reserveCapacity(source.count + 1)
        for i in 0..<source.count {
            if i == index { cells.append(cell) }
            cells.append(source.cell(i))
        }
        if index == source.count { cells.append(cell) }
        let middle = append && index == source.count ? cells.count - 2 : balancedBranchSplit(cells)
        return try distributeBranch(cells, leftLink: source.link, middle: middle, left: page, leftPgno: pgno)
    }

    /// Rewrites `left` with `cells[..<middle]`, a new right page with `cells[(middle+1)...]`; cell `middle` moves up.
    private func distributeBranch(_ cells: [UnsafeRawBufferPointer], leftLink: UInt32, middle: Int, left: PageView,
                                  leftPgno: UInt32, right existing: (UInt32, PageView)? = nil) throws(StoreError) -> Split {
        let up = cells[middle]
        let upChild = UInt32(littleEndian: up.loadUnaligned(as: UInt32.self))
        let separator = Bytes(UnsafeRawBufferPointer(rebasing: up[PageLayout.branchCellHeader...]))
        left.initialize(type: .branch, pgno: leftPgno, txn: txn)
        left.link = leftLink
        let (rightPgno, right): (UInt32, PageView)
        if let existing {
            (rightPgno, right) = existing
            right.initialize(type: .branch, pgno: rightPgno, txn: txn)
        } else {
            (rightPgno, right) = try newPage(.branch)
        }
        right.link = upChild
        for index in 0..<middle { left.appendCell(cells[index]) }
        for index in (middle + 1)..<cells.count { right.appendCell(cells[index]) }
        return Split(separator: separator, right: rightPgno)
    }

    /// Carries a changed child page number, a split and an underflow up the recorded path.
    private func ascend(child startChild: UInt32, original: UInt32, split startSplit: Split?, underflow startUnderflow: Bool,
                        from startLevel: Int? = nil) throws(StoreError) {
        var child = startChild
        var old = original
        var split = startSplit
        var underflow = startUnderflow
        var level = startLevel ?? pathPgno.count - 1
        while level >= 0 {
            if child == old && split == nil && !underflow { return }
            let parentPgno = pathPgno[level]
            let index = pathIndex[level]
            let (newParent, parent) = try writable(parentPgno)
            parent.setChild(index, child)
            var nextSplit: Split?
            if let split {
                let append = pathRightmost[level] && index == parent.count - 1
                nextSplit = try insertBranch(parent, pgno: newParent, at: index + 1, key: split.separator, child: split.right, append: append)
            } else if underflow {
                nextSplit = try rebalance(parent, pgno: newParent, childIndex: index)
            }
            underflow = nextSplit == nil && level > 0 && parent.used < underflowBytes
            split = nextSplit
            old = parentPgno
            child = newParent
            level -= 1
        }
        root = child
        if let split {
            let (newRoot, page) = try newPage(.branch)
            page.link = child
            let size = PageLayout.branchCellHeader + split.separator.count
            split.separator.withUnsafeBytes { PageView.writeBranchCell(cellBuffer, child: split.right, key: $0) }
            page.appendCell(UnsafeRawBufferPointer(start: cellBuffer, count: size))
            root = newRoot
            height += 1
        }
    }

    /// Merges the underfull child at `childIndex` of `parent` with a sibling, or moves cells
    /// between them; returns a split of `parent` when a longer separator overflowed it.
    private func rebalance(_ parent: PageView, pgno: UInt32, childIndex: Int) throws(StoreError) -> Split? {
        guard parent.count > 0 else { return nil }
        let leftIndex = childIndex >= 0 ? childIndex - 1 : -1
        let rightIndex = childIndex >= 0 ? childIndex : 0
        let (leftPgno, left) = try writable(parent.child(leftIndex))
        let (rightPgno, right) = try writable(parent.child(rightIndex))
        parent.setChild(leftIndex, leftPgno)
        parent.setChild(rightIndex, rightPgno)
        if left.isLeaf {
            if left.used + right.used <= capacity {
                left.compact(scratch: compactBuffer)
                for index in 0..<right.count { left.appendCell(right.cell(index)) }
                freePage(rightPgno, birth: txn)
                parent.removeCell(at: rightIndex)
                return nil
            }
            leftCopy.copyMemory(from: left.base, byteCount: pageSize)
            rightCopy.copyMemory(from: right.base, byteCount: pageSize)
            let a = PageView(leftCopy, size: pageSize), b = PageView(rightCopy, size: pageSize)
            var cells: [UnsafeRawBufferPointer] = []
            for index in 0..<a.count { cells.append(a.cell(index)) }
            for index in 0..<b.count { cells.append(b.cell(index)) }
            let middle = balancedLeafSplit(cells)
            left.initialize(type: .leaf, pgno: leftPgno, txn: txn)
            right.initialize(type: .leaf, pgno: rightPgno, txn: txn)
            for index in 0..<middle { left.appendCell(cells[index]) }
            for index in middle..<cells.count { right.appendCell(cells[index]) }
            parent.removeCell(at: rightIndex)
            return try insertBranch(parent, pgno: pgno, at: rightIndex, key: Bytes(right.key(0)), child: rightPgno, append: false)
        }
        let separator = Bytes(parent.key(rightIndex))
        let separatorCell = PageLayout.branchCellHeader + separator.count
        separator.withUnsafeBytes { PageView.writeBranchCell(cellBuffer, child: right.link, key: $0) }
        let middleCell = UnsafeRawBufferPointer(start: cellBuffer, count: separatorCell)
        if left.used + right.used + separatorCell + PageLayout.slotSize <= capacity {
            left.compact(scratch: compactBuffer)
            left.appendCell(middleCell)
            for index in 0..<right.count { left.appendCell(right.cell(index)) }
            freePage(rightPgno, birth: txn)
            parent.removeCell(at: rightIndex)
            return nil
        }
        leftCopy.copyMemory(from: left.base, byteCount: pageSize)
        rightCopy.copyMemory(from: right.base, byteCount: pageSize)
        let a = PageView(leftCopy, size: pageSize), b = PageView(rightCopy, size: pageSize)
        var cells: [UnsafeRawBufferPointer] = []
        for index in 0..<a.count { cells.append(a.cell(index)) }
        cells.append(middleCell)
        for index in 0..<b.count { cells.append(b.cell(index)) }
        let middle = balancedBranchSplit(cells)
        let moved = try distributeBranch(cells, leftLink: a.link, middle: middle, left: left, leftPgno: leftPgno,
                                         right: (rightPgno, right))
        parent.removeCell(at: rightIndex)
        return try insertBranch(parent, pgno: pgno, at: rightIndex, key: moved.separator, child: rightPgno, append: false)
    }

    // MARK: delete

    /// Removes `key` in the open commit; returns false when it was missing (nothing changed).
    @discardableResult
    func delete(_ key: UnsafeRawBufferPointer) throws(StoreError) -> Bool {
        defer { unpinAll() }
        guard root != 0 else { return false }
        let leafPgno = try descend(key)
        let probe = try pool.pin(leafPgno)
        let present = view(probe).lowerBound(key).found
        pool.unpin(probe)
        guard present else { return false }
        let (newLeaf, leaf) = try writable(leafPgno)
        let (index, _) = leaf.lowerBound(key)
        if case .overflow(let head, _) = leaf.leafValue(index) { try freeOverflow(head) }
        leaf.removeCell(at: index)
        entries -= 1
        try ascend(child: newLeaf, original: leafPgno, split: nil, underflow: height > 1 && leaf.used < underflowBytes)
        try collapseRoot()
        return true
    }

    /// Removes an empty root: a branch with one child gives way to it; an empty leaf empties the tree.
    private func collapseRoot() throws(StoreError) {
        while root != 0 {
            let frame = try pool.pin(root)
            let page = view(frame)
            let (isLeaf, count, link, birth) = (page.isLeaf, page.count, page.link, page.txn)
            pool.unpin(frame)
            guard count == 0 else { return }
            freePage(root, birth: birth)
            if isLeaf {
                root = 0
                height = 0
            } else {
                root = link
                height -= 1
            }
        }
    }

    // MARK: checkpoint

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
        if restartLog { try wal?.restart(in: Int(meta.seq % 2)) }
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
        if syncFiles { try file.file.sync() }
        meta.encode(into: UnsafeMutableRawBufferPointer(start: buffer, count: pageSize))
        try file.file.write(at: Int(meta.seq % 2) * pageSize, UnsafeRawBufferPointer(start: buffer, count: pageSize))
        if syncFiles { try file.file.sync() }
    }
}
