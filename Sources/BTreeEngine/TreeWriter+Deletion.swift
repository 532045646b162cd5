import KVStore

/// Deletion: a delete removes the cell from its leaf; an underfull page is merged with
/// a sibling or refilled from it (`rebalance`), and an emptied root collapses.
extension TreeWriter {
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

    /// Merges the underfull child at `childIndex` of `parent` with a sibling, or moves cells
    /// between them; returns a split of `parent` when a longer separator overflowed it.
    func rebalance(_ parent: PageView, pgno: UInt32, childIndex: Int) throws(StoreError) -> Split? {
        guard parent.count > 0 else { return nil }
        let leftIndex = childIndex >= 0 ? childIndex - 1 : -1
        let rightIndex = childIndex >= 0 ? childIndex : 0
        let (leftPgno, left) = try writable(parent.child(leftIndex))
        let (rightPgno, right) = try writable(parent.child(rightIndex))
        parent.setChild(leftIndex, leftPgno)
        parent.setChild(rightIndex, rightPgno)
        var separatorCell: UnsafeRawBufferPointer?
        if !left.isLeaf {
            let separator = parent.key(rightIndex)
            PageView.writeBranchCell(cellBuffer, child: right.link, key: separator)
            separatorCell = UnsafeRawBufferPointer(start: cellBuffer, count: PageLayout.branchCellHeader + separator.count)
        }
        let run = CellRun(left, right, adding: separatorCell, at: left.count, buffer: runBuffer)
        parent.removeCell(at: rightIndex)
        if run.bytes <= capacity {
            rebuild(run, into: (leftPgno, left))
            freePage(rightPgno, birth: txn)
            return nil
        }
        let moved = try rebuild(run, middle: run.balancedSplit(), left: (leftPgno, left), right: (rightPgno, right))
        return try insertBranch(parent, pgno: pgno, at: rightIndex, key: moved.separator, child: rightPgno, append: false)
    }
}
