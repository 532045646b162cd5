import KVStore

/// What `BTreeStore.verify()` found: the tree's shape and every broken invariant.
public struct BTreeVerification: Sendable {
    /// Levels of the tree (0 when empty).
    public var height = 0
    /// Entries found in the leaves.
    public var entries: UInt64 = 0
    public var leafPages = 0
    public var branchPages = 0
    public var overflowPages = 0
    /// Free pages (reusable or waiting for readers or meta pages).
    public var freePages = 0
    /// Pages holding the persisted free list.
    public var freelistPages = 0
    /// Pages in the file, meta pages included.
    public var filePages = 0
    /// Average bytes used per leaf page ÷ usable bytes.
    public var leafFill = 0.0
    /// Broken invariants, one sentence each; empty when the store is sound.
    public var problems: [String] = []

    public var isValid: Bool { problems.isEmpty }
}

extension BTreeStore {
    /// Checks the current tree and free space: keys sorted within and across pages,
    /// separators consistent with children, leaves at one depth, fill bounds
    /// (every non-root page at least a quarter full, except the rightmost page of
    /// a level, which append splits may leave short), and every page of the file
    /// either reachable, on the free list, or free exactly once. Blocks writers meanwhile.
    public func verify() throws(StoreError) -> BTreeVerification {
        try withWriter { (writer) throws(StoreError) -> BTreeVerification in
            var report = BTreeVerification()
            report.height = writer.height
            report.filePages = Int(writer.free.pageCount)
            var owner = [UInt8](repeating: 0, count: Int(writer.free.pageCount))
            func claim(_ pgno: UInt32, _ what: String) {
                guard pgno >= 2 && Int(pgno) < owner.count else {
                    report.problems.append("\(what) page \(pgno) lies outside the file")
                    return
                }
                if owner[Int(pgno)] != 0 {
                    report.problems.append("page \(pgno) is used twice (second use: \(what))")
                }
                owner[Int(pgno)] = 1
            }
            var leafUsed = 0
            // Depth-first walk; `low`/`high` bound the keys a page may hold.
            func walk(_ pgno: UInt32, depth: Int, low: Bytes?, high: Bytes?, rightmost: Bool, isRoot: Bool) throws(StoreError) {
                claim(pgno, "tree")
                let frame = try pool.pin(pgno)
                defer { pool.unpin(frame) }
                let page = PageView(frame.pointer, size: pool.pageSize)
                let count = page.count
                if depth == writer.height - 1 {
                    guard page.isLeaf else {
                        report.problems.append("page \(pgno) at the leaf level is not a leaf")
                        return
                    }
                } else if page.isLeaf || page.type != .branch {
                    report.problems.append("page \(pgno) at depth \(depth) is not a branch page")
                    return
                }
                if !isRoot && !rightmost && page.used < writer.underflowBytes {
                    report.problems.append("page \(pgno) uses \(page.used) bytes, below the bound of \(writer.underflowBytes)")
                }
                if page.isLeaf && count == 0 { report.problems.append("leaf \(pgno) is empty") }
                var previous: Bytes?
                for index in 0..<count {
                    let key = Bytes(page.key(index))
                    if let previous, ByteOrder.compare(previous, key) >= 0 {
                        report.problems.append("keys out of order in page \(pgno) at slot \(index)")
                    }
                    if let low, ByteOrder.compare(key, low) < 0 {
                        report.problems.append("key in page \(pgno) slot \(index) sorts before its separator")
                    }
                    if let high, ByteOrder.compare(key, high) >= 0 {
                        report.problems.append("key in page \(pgno) slot \(index) is not below the next separator")
                    }
                    previous = key
                }
                if page.isLeaf {
                    report.leafPages += 1
                    leafUsed += page.used
                    report.entries += UInt64(count)
                    for index in 0..<count {
                        if case .overflow(let head, let length) = page.leafValue(index) {
                            var next = head
                            var pages = 0
                            while next != 0 {
                                claim(next, "overflow")
                                let chain = try pool.pin(next)
                                let chainPage = PageView(chain.pointer, size: pool.pageSize)
                                if chainPage.type != .overflow { report.problems.append("page \(next) in an overflow chain has type \(chainPage.rawType)") }
                                let link = chainPage.link
                                pool.unpin(chain)
                                pages += 1
                                report.overflowPages += 1
                                next = pages > owner.count ? 0 : link
                            }
                            let perPage = pool.pageSize - PageLayout.headerSize
                            if pages != (length + perPage - 1) / perPage {
                                report.problems.append("overflow chain of page \(pgno) slot \(index) has \(pages) pages for \(length) bytes")
                            }
                        }
                    }
                    return
                }
                report.branchPages += 1
                if !isRoot && count == 0 { report.problems.append("branch \(pgno) has no keys") }
                for index in -1..<count {
                    let childLow = index < 0 ? low : Bytes(page.key(index))
                    let childHigh = index + 1 < count ? Bytes(page.key(index + 1)) : high
                    try walk(page.child(index), depth: depth + 1, low: childLow, high: childHigh,
                             rightmost: rightmost && index == count - 1, isRoot: false)
                }
            }
            if writer.root != 0 {
                try walk(writer.root, depth: 0, low: nil, high: nil, rightmost: true, isRoot: true)
            } else if writer.height != 0 {
                report.problems.append("empty tree with height \(writer.height)")
            }
            if report.entries != writer.entries {
                report.problems.append("leaves hold \(report.entries) entries, the tree counts \(writer.entries)")
            }
            for pgno in writer.freelistPages { claim(pgno, "free-list") }
            report.freelistPages = writer.freelistPages.count
            let free = writer.free
            var freePages: [UInt32] = free.reusable
            freePages.append(contentsOf: free.pendingReaders.pgnos)
            freePages.append(contentsOf: free.pendingDisk.pgnos)
            for pgno in freePages { claim(pgno, "free") }
            report.freePages = freePages.count
            for pgno in 2..<owner.count where owner[pgno] == 0 {
                report.problems.append("page \(pgno) is neither reachable nor free")
            }
            if report.leafPages > 0 {
                report.leafFill = Double(leafUsed) / Double(report.leafPages * (pool.pageSize - PageLayout.headerSize))
            }
            return report
        }
    }
}
