import KVStore
import StorageIO
import Synchronization

/// A published tree version: what a reader needs to walk it.
struct Snapshot {
    var txn: UInt64
    var root: UInt32
    var height: Int
}

/// A reader's registration: the commit whose tree it is reading (0 = idle),
/// plus that reader's lookup counters.
final class ReaderSlot: Sendable {
    let txn = Atomic<UInt64>(0)
    let lookups = Atomic<UInt64>(0)
    let probes = Atomic<UInt64>(0)

    /// Counts one point lookup that visited `pages` pages (only the owning thread writes).
    @inline(__always)
    func count(pages: Int) {
        lookups.store(lookups.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        probes.store(probes.load(ordering: .relaxed) &+ UInt64(pages), ordering: .relaxed)
    }

    @inline(__always)
    func release() { txn.store(0, ordering: .releasing) }
}

/// Readers' snapshots without a lock on the read path (as LMDB's reader table):
/// a reader stores the published commit in its slot, then checks that it is still
/// the published one; the writer publishes first and scans the slots afterwards,
/// so a page freed by commit T is reused only when no slot holds a commit below T.
final class ReaderRegistry: Sendable {
    /// The newest published commit.
    private let publishedTxn = Atomic<UInt64>(0)
    /// root (32 bits) | height (8 bits) | low 24 bits of the commit, published together.
    private let publishedTree = Atomic<UInt64>(0)
    private let slots = Mutex<[ReaderSlot]>([])
    private let idleSlots = Mutex<[ReaderSlot]>([])

    private static func pack(_ snapshot: Snapshot) -> UInt64 {
        UInt64(snapshot.root) | UInt64(snapshot.height & 0xFF) << 32 | (snapshot.txn & 0xFF_FFFF) << 40
    }

    /// Makes `snapshot` the tree new readers see.
    func publish(_ snapshot: Snapshot) {
        publishedTree.store(Self.pack(snapshot), ordering: .sequentiallyConsistent)
        publishedTxn.store(snapshot.txn, ordering: .sequentiallyConsistent)
    }

    /// Registers `slot` on the published tree and returns it; release the slot when done.
    @inline(__always)
    func acquire(_ slot: ReaderSlot) -> Snapshot {
        while true {
            let txn = publishedTxn.load(ordering: .sequentiallyConsistent)
            slot.txn.store(txn, ordering: .sequentiallyConsistent)
            let tree = publishedTree.load(ordering: .sequentiallyConsistent)
            if publishedTxn.load(ordering: .sequentiallyConsistent) == txn && tree >> 40 == txn & 0xFF_FFFF {
                return Snapshot(txn: txn, root: UInt32(truncatingIfNeeded: tree), height: Int((tree >> 32) & 0xFF))
            }
        }
    }

    /// The oldest commit a reader holds or may still take.
    func oldest() -> UInt64 {
        var oldest = publishedTxn.load(ordering: .sequentiallyConsistent)
        slots.withLock { slots in
            for slot in slots {
                let txn = slot.txn.load(ordering: .sequentiallyConsistent)
                if txn != 0 && txn < oldest { oldest = txn }
            }
        }
        return oldest
    }

    /// A new slot, registered for the writer's scans.
    func makeSlot() -> ReaderSlot {
        let slot = ReaderSlot()
        slots.withLock { $0.append(slot) }
        return slot
    }

    /// A slot for a cursor, reused across cursors.
    func borrowSlot() -> ReaderSlot {
        if let slot = idleSlots.withLock({ $0.popLast() }) { return slot }
        return makeSlot()
    }

    func returnSlot(_ slot: ReaderSlot) {
        slot.release()
        idleSlots.withLock { $0.append(slot) }
    }

    /// Lookups and pages visited, summed over every slot.
    func lookupCounters() -> (lookups: UInt64, probes: UInt64) {
        slots.withLock { slots in
            slots.reduce((UInt64(0), UInt64(0))) { total, slot in
                (total.0 + slot.lookups.load(ordering: .relaxed), total.1 + slot.probes.load(ordering: .relaxed))
            }
        }
    }
}

/// The store's reads: a point read takes its thread's reader slot for one lookup,
/// a cursor a slot of its own for the whole `withCursor` call.
extension BTreeStore {
    /// The calling thread's reader slot, created on first use.
    @inline(__always)
    func threadSlot() -> ReaderSlot {
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
}

/// Read-only walks over one snapshot, shared by point lookups and cursors.
enum TreeReader {
    /// Looks `key` up in `snapshot`; lends the value to `body`.
    static func lookup<Result>(_ pool: BufferPool, _ snapshot: Snapshot, _ key: UnsafeRawBufferPointer, slot: ReaderSlot,
                               _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        var pgno = snapshot.root
        guard pgno != 0 else {
            slot.count(pages: 0)
            return nil
        }
        var visited = 0
        while true {
            let frame = try pool.pin(pgno)
            visited += 1
            let page = PageView(frame.pointer, size: pool.pageSize)
            if page.isLeaf {
                slot.count(pages: visited)
                let (index, found) = page.lowerBound(key)
                guard found else {
                    pool.unpin(frame)
                    return nil
                }
                switch page.leafValue(index) {
                case .inline(let value):
                    defer { pool.unpin(frame) }
                    return body(value)
                case .overflow(let head, let length):
                    pool.unpin(frame)
                    let value = try readOverflow(pool, head: head, length: length)
                    return value.withUnsafeBytes(body)
                }
            }
            guard page.rawType == PageType.branch.rawValue, visited < snapshot.height else {
                pool.unpin(frame)
                throw .corruption(path: pool.file.path, reason: "page \(pgno) is not a branch page where the tree expects one")
            }
            let child = page.child(page.childIndex(for: key))
            pool.unpin(frame)
            pgno = child
        }
    }

    /// Assembles a value stored in an overflow chain.
    static func readOverflow(_ pool: BufferPool, head: UInt32, length: Int) throws(StoreError) -> Bytes {
        var value = Bytes()
        value.reserveCapacity(length)
        var pgno = head
        let perPage = pool.pageSize - PageLayout.headerSize
        while value.count < length {
            guard pgno != 0 else { throw .corruption(path: pool.file.path, reason: "overflow chain ends early") }
            let frame = try pool.pin(pgno)
            let page = PageView(frame.pointer, size: pool.pageSize)
            guard page.type == .overflow else {
                pool.unpin(frame)
                throw .corruption(path: pool.file.path, reason: "page \(pgno) in an overflow chain is not an overflow page")
            }
            let take = min(perPage, length - value.count)
            value.append(contentsOf: UnsafeRawBufferPointer(start: frame.pointer + PageLayout.headerSize, count: take))
            pgno = page.link
            pool.unpin(frame)
        }
        return value
    }
}
