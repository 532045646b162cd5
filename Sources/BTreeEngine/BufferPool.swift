import KVStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pinned page: a frame of the buffer pool, or (`frame` < 0) a clean page read in place
/// through the page file's map (read-only memory); release it with `BufferPool.unpin`.
struct FrameRef {
    let pointer: UnsafeMutableRawPointer
    let frame: Int32

    /// True when the page is in a pool frame (writable by its commit), not in the read-only map.
    var isFrame: Bool { frame >= 0 }
}

/// Counters of the buffer pool.
struct PoolCounters {
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    /// Misses served in place through the page file's map.
    var mapped: UInt64 = 0
    var evictions: UInt64 = 0
    var dirty: Int = 0
    var cached: Int = 0
}

/// Bookkeeping of one shard's frames, guarded by the shard's mutex. The
/// pointers address memory owned by the pool for its whole life.
struct ShardState {
    /// Open-addressing page table (linear probing): `pgno << 32 | local frame`, 0 = empty.
    /// Changed under the lock; read without it by `BufferPool.tryPin`.
    let table: UnsafeMutablePointer<Atomic<UInt64>>
    let tableMask: Int
    /// Per local frame: cached page (0 = none), dirty bit, and the use count seen by the last CLOCK sweep.
    let pgnos: UnsafeMutablePointer<UInt32>
    let dirty: UnsafeMutablePointer<Bool>
    let lastUses: UnsafeMutablePointer<UInt32>
    /// Commit that created a dirty frame's page (checkpoints write only those at or before theirs).
    let births: UnsafeMutablePointer<UInt64>
    /// Commit that freed a frame's page (0 = live); checkpoints at or after it skip the page.
    let freedAt: UnsafeMutablePointer<UInt64>
    let frames: Int
    var freeFrames: [Int32]
    var hand = 0
    var counters = PoolCounters()

    init(frames: Int) {
        var capacity = 16
        while capacity < frames * 2 { capacity *= 2 }
        table = .allocate(capacity: capacity)
        for index in 0..<capacity { (table + index).initialize(to: Atomic(0)) }
        tableMask = capacity - 1
        pgnos = .allocate(capacity: frames)
        pgnos.initialize(repeating: 0, count: frames)
        dirty = .allocate(capacity: frames)
        dirty.initialize(repeating: false, count: frames)
        lastUses = .allocate(capacity: frames)
        lastUses.initialize(repeating: 0, count: frames)
        births = .allocate(capacity: frames)
        births.initialize(repeating: 0, count: frames)
        freedAt = .allocate(capacity: frames)
        freedAt.initialize(repeating: 0, count: frames)
        self.frames = frames
        freeFrames = (0..<Int32(frames)).reversed().map { $0 }
    }

    func deallocate() {
        table.deinitialize(count: tableMask + 1)
        table.deallocate()
        pgnos.deallocate()
        dirty.deallocate()
        lastUses.deallocate()
        births.deallocate()
        freedAt.deallocate()
    }

    @inline(__always) static func home(_ pgno: UInt32, mask: Int) -> Int {
        Int(truncatingIfNeeded: (pgno &* 2_654_435_761) >> 7) & mask
    }

    @inline(__always) private func entry(_ slot: Int) -> UInt64 { table[slot].load(ordering: .relaxed) }
    @inline(__always) private func setEntry(_ slot: Int, _ value: UInt64) { table[slot].store(value, ordering: .releasing) }

    @inline(__always) func find(_ pgno: UInt32) -> Int32? {
        var slot = Self.home(pgno, mask: tableMask)
        while true {
            let entry = entry(slot)
            if UInt32(truncatingIfNeeded: entry >> 32) == pgno { return Int32(truncatingIfNeeded: entry) }
            if entry == 0 { return nil }
            slot = (slot + 1) & tableMask
        }
    }

    func insert(_ pgno: UInt32, _ local: Int32) {
        var slot = Self.home(pgno, mask: tableMask)
        while entry(slot) != 0 { slot = (slot + 1) & tableMask }
        setEntry(slot, UInt64(pgno) << 32 | UInt64(UInt32(bitPattern: local)))
    }

    /// Removes `pgno`, shifting later entries of its probe run back (no tombstones; a
    /// lock-free reader that misses an entry while it moves falls back to the lock).
    func remove(_ pgno: UInt32) {
        var slot = Self.home(pgno, mask: tableMask)
        while UInt32(truncatingIfNeeded: entry(slot) >> 32) != pgno {
            if entry(slot) == 0 { return }
            slot = (slot + 1) & tableMask
        }
        var next = slot
        while true {
            next = (next + 1) & tableMask
            let moving = entry(next)
            if moving == 0 { break }
            let wanted = Self.home(UInt32(truncatingIfNeeded: moving >> 32), mask: tableMask)
            let between = slot <= next ? (wanted > slot && wanted <= next) : (wanted > slot || wanted <= next)
            if !between {
                setEntry(slot, moving)
                slot = next
            }
        }
        setEntry(slot, 0)
    }
}

/// The buffer pool: page frames bounded by the memory budget, sharded by page
/// number so that readers on different pages rarely meet on a lock.
///
/// Eviction is CLOCK (second chance) within a shard; pinned frames are never
/// evicted; a dirty victim is written to its own page number first, which is
/// safe because a dirty page is always a fresh copy no durable meta page
/// references (copy-on-write). Pages are immutable once their commit is
/// published, so readers share frames without further locking.
///
/// A hit is pinned without the lock: probe the page table, add to the frame's pin
/// count, then check that the frame still holds the page and is not being evicted
/// (else undo and take the lock). Eviction claims an unpinned frame by setting its
/// evicting bit with a compare-and-swap, so a frame is never reassigned under a pin,
/// and publishes a frame's page number only after its contents are in place.
///
/// `@unchecked Sendable`: the frame memory is shared raw memory. Bookkeeping is
/// guarded by the shard mutexes and the pin counts are atomics; frame contents
/// are only written while a frame is pinned by the writer for a page of its own
/// unpublished commit, or while a frame is loaded under its shard lock.
final class BufferPool: @unchecked Sendable {
    let pageSize: Int
    let frameCount: Int
    let file: PageFile
    private let memory: UnsafeMutableRawPointer
    private let shards: UnsafeMutablePointer<Mutex<ShardState>>
    /// Per frame: bits 0–30 pin count, bit 31 evicting, high 32 bits use count (CLOCK's reference bit).
    private let pins: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per frame: the page it holds (0 = none), published once the contents are in place.
    private let framePgnos: UnsafeMutablePointer<Atomic<UInt32>>
    /// Per shard: its page table, readable without the lock.
    private let tables: UnsafeMutablePointer<UnsafeMutablePointer<Atomic<UInt64>>>
    private let tableMasks: UnsafeMutablePointer<Int>
    /// Per shard (one cache line each): hits served without the lock, the page table's
    /// version (odd while the table changes, a seqlock) and map reads served without the lock.
    private let lockFreeHits: UnsafeMutablePointer<Atomic<UInt64>>
    private let shardCount: Int
    private let shardMask: UInt32
    private let framesPerShard: Int

    private static let pinAndUse: UInt64 = 1 << 32 | 1
    private static let pinMask: UInt64 = 0x7FFF_FFFF
    private static let evicting: UInt64 = 1 << 31
    private static let counterStride = 8

    init(file: PageFile, memoryBudget: Int) {
        pageSize = file.pageSize
        self.file = file
        let wanted = max(memoryBudget / file.pageSize, 128)
        var count = 1
        while count < 16 && wanted / (count * 2) >= 64 { count *= 2 }
        let perShard = wanted / count
        shardCount = count
        framesPerShard = perShard
        frameCount = perShard * count
        shardMask = UInt32(count - 1)
        let bytes = perShard * count * file.pageSize
        let hugePage = 2 << 20
        memory = UnsafeMutableRawPointer.allocate(byteCount: (bytes + hugePage - 1) / hugePage * hugePage, alignment: hugePage)
        #if canImport(Glibc)
        // Frames are touched at random: huge pages spare a TLB miss on most page visits.
        _ = madvise(memory, (bytes + hugePage - 1) / hugePage * hugePage, MADV_HUGEPAGE)
        #endif
        shards = .allocate(capacity: count)
        for index in 0..<count { (shards + index).initialize(to: Mutex(ShardState(frames: perShard))) }
        pins = .allocate(capacity: perShard * count)
        for index in 0..<(perShard * count) { (pins + index).initialize(to: Atomic(0)) }
        framePgnos = .allocate(capacity: perShard * count)
        for index in 0..<(perShard * count) { (framePgnos + index).initialize(to: Atomic(0)) }
        tables = .allocate(capacity: count)
        tableMasks = .allocate(capacity: count)
        for index in 0..<count {
            let (table, mask) = shards[index].withLock { ($0.table, $0.tableMask) }
            (tables + index).initialize(to: table)
            (tableMasks + index).initialize(to: mask)
        }
        lockFreeHits = .allocate(capacity: count * Self.counterStride)
        for index in 0..<(count * Self.counterStride) { (lockFreeHits + index).initialize(to: Atomic(0)) }
    }

    deinit {
        for index in 0..<shardCount {
            shards[index].withLock { $0.deallocate() }
        }
        shards.deinitialize(count: shardCount)
        shards.deallocate()
        pins.deinitialize(count: frameCount)
        pins.deallocate()
        framePgnos.deinitialize(count: frameCount)
        framePgnos.deallocate()
        tables.deallocate()
        tableMasks.deallocate()
        lockFreeHits.deinitialize(count: shardCount * Self.counterStride)
        lockFreeHits.deallocate()
        memory.deallocate()
    }

    @inline(__always) private func shardIndex(_ pgno: UInt32) -> Int {
        Int((pgno ^ (pgno >> 9)) & shardMask)
    }

    @inline(__always) private func frameRef(shard: Int, local: Int32) -> FrameRef {
        let frame = shard * framesPerShard + Int(local)
        return FrameRef(pointer: memory + frame * pageSize, frame: Int32(frame))
    }

    /// What a probe of the page table without the lock found.
    private enum Probe {
        case pinned(FrameRef)
        /// The page was in no frame at one consistent moment of the table (its file copy is current).
        case absent
        /// Undecided (the frame was being evicted, or the table changed during the probe): take the lock.
        case undecided
    }

    @inline(__always) private func tableVersion(_ s: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        lockFreeHits + (s * Self.counterStride + 1)
    }

    /// Runs `change` on shard `s`'s page table (under its lock), with the table's version odd meanwhile.
    @inline(__always) private func changingTable(_ s: Int, _ change: () -> Void) {
        tableVersion(s).pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
        change()
        tableVersion(s).pointee.wrappingAdd(1, ordering: .releasing)
    }

    /// Pins page `pgno` if it is cached, without the shard lock, or reports it absent.
    @inline(__always)
    private func tryPin(_ pgno: UInt32, shard s: Int) -> Probe {
        let table = tables[s]
        let mask = tableMasks[s]
        let version = tableVersion(s).pointee.load(ordering: .acquiring)
        var slot = ShardState.home(pgno, mask: mask)
        while true {
            let entry = table[slot].load(ordering: .acquiring)
            if UInt32(truncatingIfNeeded: entry >> 32) == pgno {
                let ref = frameRef(shard: s, local: Int32(truncatingIfNeeded: entry))
                let frame = Int(ref.frame)
                let before = pins[frame].wrappingAdd(Self.pinAndUse, ordering: .acquiringAndReleasing).oldValue
                if before & Self.evicting == 0 && framePgnos[frame].load(ordering: .acquiring) == pgno {
                    lockFreeHits[s * Self.counterStride].wrappingAdd(1, ordering: .relaxed)
                    return .pinned(ref)
                }
                pins[frame].subtract(1, ordering: .releasing)
                return .undecided
            }
            if entry == 0 {
                let stable = version & 1 == 0 && tableVersion(s).pointee.load(ordering: .acquiring) == version
                return stable ? .absent : .undecided
            }
            slot = (slot + 1) & mask
        }
    }

    /// Pins page `pgno`. A page in no frame is read in place through the page file's map
    /// (checked on its first visit), without the lock when the lock-free probe of the table
    /// was consistent; where the map does not reach, it is read into a frame. A page the
    /// pool holds may be newer than its file copy (dirty), so the map is used only once the
    /// frames are known not to hold the page.
    @inline(__always)
    func pin(_ pgno: UInt32) throws(StoreError) -> FrameRef {
        let s = shardIndex(pgno)
        switch tryPin(pgno, shard: s) {
        case .pinned(let ref):
            return ref
        case .absent:
            if let pointer = try file.mappedPage(pgno) {
                lockFreeHits[s * Self.counterStride + 2].wrappingAdd(1, ordering: .relaxed)
                return FrameRef(pointer: pointer, frame: -1)
            }
        case .undecided:
            break
        }
        return try shards[s].withLock { (state) throws(StoreError) -> FrameRef in
            if let local = state.find(pgno) {
                let ref = frameRef(shard: s, local: local)
                pins[Int(ref.frame)].add(Self.pinAndUse, ordering: .relaxed)
                state.counters.hits += 1
                return ref
            }
            if let pointer = try file.mappedPage(pgno) {
                state.counters.mapped += 1
                return FrameRef(pointer: pointer, frame: -1)
            }
            return try load(&state, shard: s, pgno: pgno)
        }
    }

    private func load(_ state: inout ShardState, shard s: Int, pgno: UInt32) throws(StoreError) -> FrameRef {
        state.counters.misses += 1
        let local = try takeFrame(&state, shard: s)
        let ref = frameRef(shard: s, local: local)
        do throws(StoreError) {
            try file.readPage(pgno, into: ref.pointer)
        } catch {
            pins[Int(ref.frame)].bitwiseAnd(~Self.evicting, ordering: .releasing)
            state.freeFrames.append(local)
            throw error
        }
        install(&state, ref: ref, local: local, pgno: pgno, dirty: false, birth: 0)
        return ref
    }

    /// Gives a frame to the new page `pgno` (contents undefined, marked dirty, pinned).
    /// A stale frame of an earlier, freed version of the page number is reused.
    func create(_ pgno: UInt32, birth: UInt64) throws(StoreError) -> FrameRef {
        let s = shardIndex(pgno)
        return try shards[s].withLock { (state) throws(StoreError) -> FrameRef in
            if let local = state.find(pgno) {
                let l = Int(local)
                let ref = frameRef(shard: s, local: local)
                precondition(pins[Int(ref.frame)].load(ordering: .acquiring) & Self.pinMask == 0, "a freed page is still pinned")
                pins[Int(ref.frame)].add(Self.pinAndUse, ordering: .relaxed)
                state.births[l] = birth
                state.freedAt[l] = 0
                if !state.dirty[l] { state.dirty[l] = true; state.counters.dirty += 1 }
                return ref
            }
            let local = try takeFrame(&state, shard: s)
            let ref = frameRef(shard: s, local: local)
            install(&state, ref: ref, local: local, pgno: pgno, dirty: true, birth: birth)
            return ref
        }
    }

    private func install(_ state: inout ShardState, ref: FrameRef, local: Int32, pgno: UInt32, dirty: Bool, birth: UInt64) {
        let l = Int(local)
        state.births[l] = birth
        changingTable(shardIndex(pgno)) { state.insert(pgno, local) }
        state.pgnos[l] = pgno
        framePgnos[Int(ref.frame)].store(pgno, ordering: .releasing)
        pins[Int(ref.frame)].add(Self.pinAndUse, ordering: .relaxed)
        pins[Int(ref.frame)].bitwiseAnd(~Self.evicting, ordering: .releasing)
        state.freedAt[l] = 0
        state.dirty[l] = dirty
        if dirty { state.counters.dirty += 1 }
        state.counters.cached += 1
    }

    /// A free frame, or one evicted by CLOCK (written first when dirty).
    private func takeFrame(_ state: inout ShardState, shard: Int) throws(StoreError) -> Int32 {
        if let local = state.freeFrames.popLast() { return local }
        let n = state.frames
        var steps = 0
        while steps < 3 * n {
            let l = state.hand
            state.hand = l + 1 == n ? 0 : l + 1
            steps += 1
            let ref = frameRef(shard: shard, local: Int32(l))
            let word = pins[Int(ref.frame)].load(ordering: .acquiring)
            if word & Self.pinMask != 0 { continue }
            let uses = UInt32(truncatingIfNeeded: word >> 32)
            if uses != state.lastUses[l] {
                state.lastUses[l] = uses
                continue
            }
            // Claim the frame: from here a lock-free pin sees the evicting bit and backs off.
            guard pins[Int(ref.frame)].compareExchange(expected: word, desired: word | Self.evicting,
                                                       ordering: .acquiringAndReleasing).exchanged else { continue }
            let pgno = state.pgnos[l]
            if state.dirty[l] {
                do throws(StoreError) {
                    try file.writePage(pgno, from: ref.pointer)
                } catch {
                    pins[Int(ref.frame)].bitwiseAnd(~Self.evicting, ordering: .releasing)
                    throw error
                }
                state.dirty[l] = false
                state.counters.dirty -= 1
            }
            changingTable(shardIndex(pgno)) { state.remove(pgno) }
            framePgnos[Int(ref.frame)].store(0, ordering: .releasing)
            state.pgnos[l] = 0
            state.counters.evictions += 1
            state.counters.cached -= 1
            return Int32(l)
        }
        throw .engine(name: "btree", message: "every buffer-pool frame is pinned; raise the memory budget")
    }

    /// Releases a pin taken by `pin` or `create` (nothing to release for a mapped page).
    @inline(__always)
    func unpin(_ frame: FrameRef) {
        guard frame.isFrame else { return }
        pins[Int(frame.frame)].subtract(1, ordering: .releasing)
    }

    /// Records that commit `txn` freed page `pgno` (0 undoes it): older snapshots may still
    /// read it, but checkpoints of commit `txn` or later do not write it.
    func markFreed(_ pgno: UInt32, at txn: UInt64) {
        let s = shardIndex(pgno)
        shards[s].withLock { state in
            guard let local = state.find(pgno) else { return }
            state.freedAt[Int(local)] = txn
        }
    }

    /// Drops the cached frame of a freed page, if any (its contents are no longer needed).
    func discard(_ pgno: UInt32) {
        let s = shardIndex(pgno)
        shards[s].withLock { state in
            guard let local = state.find(pgno) else { return }
            let l = Int(local)
            let frame = Int(frameRef(shard: s, local: local).frame)
            let word = pins[frame].load(ordering: .acquiring)
            guard word & Self.pinMask == 0,
                  pins[frame].compareExchange(expected: word, desired: word | Self.evicting,
                                              ordering: .acquiringAndReleasing).exchanged else { return }
            if state.dirty[l] { state.dirty[l] = false; state.counters.dirty -= 1 }
            changingTable(shardIndex(pgno)) { state.remove(pgno) }
            framePgnos[frame].store(0, ordering: .releasing)
            pins[frame].bitwiseAnd(~Self.evicting, ordering: .releasing)
            state.pgnos[l] = 0
            state.counters.cached -= 1
            state.freeFrames.append(local)
        }
    }

    /// Writes every dirty frame whose page was created at or before commit `txn` (every
    /// dirty frame when nil), except pages freed by then; returns how many were written.
    /// Frames are chosen and pinned under their shard's lock a slice at a time and written
    /// outside it, so lookups are not held up by the I/O. A chosen page cannot change
    /// (copy-on-write) nor be reused (a free after `txn` waits for the meta pages) while it is written.
    @discardableResult
    func flushDirty(upTo txn: UInt64? = nil) throws(StoreError) -> Int {
        let limit = txn ?? .max
        var written = 0
        let slice = 64
        var chosen: [(frame: FrameRef, pgno: UInt32, local: Int)] = []
        chosen.reserveCapacity(slice)
        for s in 0..<shardCount {
            var start = 0
            while start < framesPerShard {
                let end = min(start + slice, framesPerShard)
                chosen.removeAll(keepingCapacity: true)
                shards[s].withLock { state in
                    guard state.counters.dirty > 0 else { return }
                    for l in start..<end where state.dirty[l] && state.births[l] <= limit {
                        let freedAt = state.freedAt[l]
                        if freedAt != 0 && freedAt <= limit { continue }
                        let ref = frameRef(shard: s, local: Int32(l))
                        pins[Int(ref.frame)].add(1, ordering: .relaxed)
                        state.dirty[l] = false
                        state.counters.dirty -= 1
                        chosen.append((ref, state.pgnos[l], l))
                    }
                }
                start = end
                for (index, entry) in chosen.enumerated() {
                    do throws(StoreError) {
                        try file.writePage(entry.pgno, from: entry.frame.pointer)
                    } catch {
                        shards[s].withLock { state in
                            for failed in chosen[index...] where !state.dirty[failed.local] {
                                state.dirty[failed.local] = true
                                state.counters.dirty += 1
                            }
                        }
                        for failed in chosen[index...] { unpin(failed.frame) }
                        throw error
                    }
                    unpin(entry.frame)
                    written += 1
                }
            }
        }
        return written
    }

    /// Counters summed over the shards.
    var counters: PoolCounters {
        var total = PoolCounters()
        for s in 0..<shardCount {
            let c = shards[s].withLock { $0.counters }
            total.hits += c.hits + lockFreeHits[s * Self.counterStride].load(ordering: .relaxed)
            total.misses += c.misses
            total.mapped += c.mapped + lockFreeHits[s * Self.counterStride + 2].load(ordering: .relaxed)
            total.evictions += c.evictions
            total.dirty += c.dirty
            total.cached += c.cached
        }
        return total
    }
}
