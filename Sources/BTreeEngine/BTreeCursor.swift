import KVStore

/// A forward cursor over one snapshot of a `BTreeStore`, valid inside `withCursor`.
///
/// It keeps the path from the root to the current leaf pinned; moving past
/// the end of a leaf climbs to the nearest ancestor with a next child and
/// descends to that child's leftmost leaf, so scans walk the leaves in order.
public final class BTreeCursor: KeyValueCursor {
    private let pool: BufferPool
    private let snapshot: Snapshot
    private var frames: [FrameRef] = []
    private var indexes: [Int] = []
    private var overflowValue: Bytes?
    private var positioned = false
    private var closed = false

    init(pool: BufferPool, snapshot: Snapshot) {
        self.pool = pool
        self.snapshot = snapshot
        frames.reserveCapacity(snapshot.height)
        indexes.reserveCapacity(snapshot.height)
    }

    /// Releases every pinned page; the cursor is unusable afterwards.
    func invalidate() {
        unpinAll()
        positioned = false
        closed = true
    }

    private func unpinAll() {
        for frame in frames { pool.unpin(frame) }
        frames.removeAll(keepingCapacity: true)
        indexes.removeAll(keepingCapacity: true)
    }

    private func page(_ level: Int) -> PageView { PageView(frames[level].pointer, size: pool.pageSize) }

    private func push(_ pgno: UInt32, index: Int) throws(StoreError) {
        let frame = try pool.pin(pgno)
        frames.append(frame)
        indexes.append(index)
        let page = PageView(frame.pointer, size: pool.pageSize)
        guard page.type == .leaf || page.type == .branch else {
            throw .corruption(path: pool.file.path, reason: "page \(pgno) is not a tree page")
        }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard !closed else { throw .closed }
        guard !key.isEmpty else { return try seekToFirst() }
        unpinAll()
        positioned = false
        guard snapshot.root != 0 else { return }
        try key.withBorrowedBytes { (k) throws(StoreError) in
            var pgno = snapshot.root
            while true {
                try push(pgno, index: 0)
                let top = page(frames.count - 1)
                if top.isLeaf {
                    indexes[indexes.count - 1] = top.lowerBound(k).index
                    break
                }
                let index = top.childIndex(for: k)
                indexes[indexes.count - 1] = index
                pgno = top.child(index)
            }
        }
        try settle()
    }

    public func seekToFirst() throws(StoreError) {
        guard !closed else { throw .closed }
        unpinAll()
        positioned = false
        guard snapshot.root != 0 else { return }
        try descendLeftmost(from: snapshot.root)
        try settle()
    }

    private func descendLeftmost(from start: UInt32) throws(StoreError) {
        var pgno = start
        while true {
            try push(pgno, index: 0)
            let top = page(frames.count - 1)
            if top.isLeaf { return }
            indexes[indexes.count - 1] = -1
            pgno = top.child(-1)
        }
    }

    /// Moves forward from an index past a leaf's end to the next entry, if any; loads overflow values.
    private func settle() throws(StoreError) {
        while let leafLevel = frames.indices.last, indexes[leafLevel] >= page(leafLevel).count {
            pool.unpin(frames.removeLast())
            indexes.removeLast()
            var advanced = false
            while let level = frames.indices.last {
                let branch = page(level)
                if indexes[level] + 1 < branch.count {
                    indexes[level] += 1
                    try descendLeftmost(from: branch.child(indexes[level]))
                    advanced = true
                    break
                }
                pool.unpin(frames.removeLast())
                indexes.removeLast()
            }
            if !advanced { break }
        }
        positioned = !frames.isEmpty
        overflowValue = nil
        if positioned, case .overflow(let head, let length) = page(frames.count - 1).leafValue(indexes[indexes.count - 1]) {
            overflowValue = try TreeReader.readOverflow(pool, head: head, length: length)
        }
    }

    public func next() throws(StoreError) {
        precondition(positioned, "cursor is not positioned on an entry")
        indexes[indexes.count - 1] += 1
        try settle()
    }

    public var isValid: Bool { positioned }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(positioned, "cursor is not positioned on an entry")
        let leaf = page(frames.count - 1)
        let index = indexes[indexes.count - 1]
        let key = leaf.key(index)
        if let overflowValue {
            return overflowValue.withUnsafeBytes { body(key, $0) }
        }
        guard case .inline(let value) = leaf.leafValue(index) else { preconditionFailure("overflow value not loaded") }
        return body(key, value)
    }
}
