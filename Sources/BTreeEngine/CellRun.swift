import KVStore

/// The cells of one or two sibling pages in key order, with at most one cell added:
/// the single split step of the B+tree. A leaf split, an append split, a branch
/// split, a merge and a redistribution all gather a run (copying the pages to the
/// writer's run buffer, so the pages can be rewritten in place), choose a split
/// point by bytes, and rebuild the pages from the run (`TreeWriter.rebuild`). Builds with
/// `KVBENCH_INTERNAL_CHECKS` (debug builds) check that rebuilt pages keep their keys in order.
struct CellRun {
    /// The cells, pointing into the run buffer (or at the added cell).
    private(set) var cells: [UnsafeRawBufferPointer] = []
    /// Bytes the cells and their slots take on a page.
    private(set) var bytes = 0
    /// Whether the pages are leaves (otherwise branches).
    let isLeaf: Bool
    /// The first page's link: a branch's leftmost child.
    let link: UInt32

    /// Gathers the cells of `first`, then of `second`, with `added` at `position` of the run.
    /// `buffer` holds two pages; the run is valid until it is overwritten.
    init(_ first: PageView, _ second: PageView? = nil, adding added: UnsafeRawBufferPointer? = nil, at position: Int = 0,
         buffer: UnsafeMutableRawPointer) {
        let pageSize = first.size
        isLeaf = first.isLeaf
        link = first.link
        cells.reserveCapacity(first.count + (second?.count ?? 0) + 1)
        buffer.copyMemory(from: first.base, byteCount: pageSize)
        gather(PageView(buffer, size: pageSize), adding: added, at: position)
        if let second {
            (buffer + pageSize).copyMemory(from: second.base, byteCount: pageSize)
            gather(PageView(buffer + pageSize, size: pageSize), adding: added, at: position)
        }
        if let added, cells.count == position { append(added) }
    }

    private mutating func gather(_ page: PageView, adding added: UnsafeRawBufferPointer?, at position: Int) {
        for index in 0..<page.count {
            if let added, cells.count == position { append(added) }
            append(page.cell(index))
        }
    }

    private mutating func append(_ cell: UnsafeRawBufferPointer) {
        cells.append(cell)
        bytes += cell.count + PageLayout.slotSize
    }

    /// Where a split balancing bytes cuts the run, at least one key on each side:
    /// for leaves the first cell of the right page, for branches the cell that moves up.
    func balancedSplit() -> Int {
        var accumulated = 0
        if isLeaf {
            for (index, cell) in cells.enumerated() {
                accumulated += cell.count + PageLayout.slotSize
                if accumulated >= bytes / 2 { return min(max(index + 1, 1), cells.count - 1) }
            }
            return cells.count - 1
        }
        for (index, cell) in cells.enumerated() {
            if accumulated + cell.count + PageLayout.slotSize > bytes / 2 { return min(max(index, 1), cells.count - 2) }
            accumulated += cell.count + PageLayout.slotSize
        }
        return cells.count - 2
    }

    /// The split of an append at the right edge: the last cell alone on the right page
    /// (a branch moves the one before it up), so sequential loads leave full pages behind.
    var appendSplit: Int { isLeaf ? cells.count - 1 : cells.count - 2 }
}

extension TreeWriter {
    /// Rewrites `left` with the run's cells before `middle` and `right` (a new page when nil)
    /// with those after it; a leaf's right page starts at `middle`, a branch's cell `middle`
    /// moves up. Returns the separator and the right page.
    func rebuild(_ run: CellRun, middle: Int, left: (pgno: UInt32, page: PageView),
                 right existing: (pgno: UInt32, page: PageView)? = nil) throws(StoreError) -> Split {
        let type: PageType = run.isLeaf ? .leaf : .branch
        rebuild(run, cells: 0..<middle, into: left)
        let right: (pgno: UInt32, page: PageView)
        if let existing {
            right = existing
            right.page.initialize(type: type, pgno: right.pgno, txn: txn)
        } else {
            right = try newPage(type)
        }
        let split: Split
        if run.isLeaf {
            for index in middle..<run.cells.count { right.page.appendCell(run.cells[index]) }
            split = Split(separator: Bytes(right.page.key(0)), right: right.pgno)
        } else {
            let up = run.cells[middle]
            right.page.link = UInt32(littleEndian: up.loadUnaligned(as: UInt32.self))
            for index in (middle + 1)..<run.cells.count { right.page.appendCell(run.cells[index]) }
            split = Split(separator: Bytes(UnsafeRawBufferPointer(rebasing: up[PageLayout.branchCellHeader...])), right: right.pgno)
        }
        #if KVBENCH_INTERNAL_CHECKS
        checkOrder(left.page)
        checkOrder(right.page)
        precondition(split.separator.withUnsafeBytes { ByteOrder.compare(left.page.key(left.page.count - 1), $0) } < 0,
                     "a split separator must sort after every key of the left page")
        #endif
        return split
    }

    /// Rewrites `target` with the run's `cells` (all of them: a merge into one page).
    func rebuild(_ run: CellRun, cells: Range<Int>? = nil, into target: (pgno: UInt32, page: PageView)) {
        target.page.initialize(type: run.isLeaf ? .leaf : .branch, pgno: target.pgno, txn: txn)
        if !run.isLeaf { target.page.link = run.link }
        for index in cells ?? run.cells.indices { target.page.appendCell(run.cells[index]) }
        #if KVBENCH_INTERNAL_CHECKS
        checkOrder(target.page)
        #endif
    }

    #if KVBENCH_INTERNAL_CHECKS
    /// Stops the process when the keys of `page` do not strictly increase.
    private func checkOrder(_ page: PageView) {
        for index in 1..<max(page.count, 1) {
            precondition(ByteOrder.compare(page.key(index - 1), page.key(index)) < 0,
                         "keys of page \(page.pgno) must strictly increase")
        }
    }
    #endif
}
