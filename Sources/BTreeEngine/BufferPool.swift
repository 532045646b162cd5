import KVStore
import Synchronization

/// A pinned page frame in the buffer pool; release it with `BufferPool.unpin`.
struct FrameRef {
    let pointer: UnsafeMutableRawPointer
    let shard: Int32
    let local: Int32
}

/// Counters of one buffer-pool shard.
struct PoolCounters {
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var evictions: UInt64 = 0
    var dirty: Int = 0
    var cached: Int = 0
}

/// Bookkeeping of one shard's frames, guarded by the shard's mutex.
struct ShardState {
    var table: [UInt32: Int32] = [:]
    var pgnos: [UInt32]
    var pins: [Int32]
    var referenced: [Bool]
    var dirty: [Bool]
    var freeFrames: [Int32]
    var hand = 0
    var counters = PoolCounters()

    init(frames: Int) {
        pgnos = Array(repeating: 0, count: frames)
        pins = Array(repeating: 0, count: frames)
        referenced = Array(repeating: false, count: frames)
        dirty = Array(repeating: false, count: frames)
        freeFrames = (0..<Int32(frames)).reversed().map { $0 }
        table.reserveCapacity(frames)
    }
}

/// One shard: a fixed slice of the frames and the map of the pages they hold.
final class PoolShard: Sendable {
    let state: Mutex<ShardState>
    init(frames: Int) { state = Mutex(ShardState(frames: frames)) }
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
/// `@unchecked Sendable`: the frame memory is shared raw memory. Bookkeeping is
/// guarded by the shard mutexes; frame contents are only written while a frame
/// is pinned by the writer for a page of its own unpublished commit, or while a
/// frame is being loaded under its shard lock.
final class BufferPool: @unchecked Sendable {
    let pageSize: Int
    let frameCount: Int
    private let memory: UnsafeMutableRawPointer
    private let shards: [PoolShard]
    private let shardMask: UInt32
    private let framesPerShard: Int
    let file: PageFile

    init(file: PageFile, memoryBudget: Int) {
        pageSize = file.pageSize
        self.file = file
        let wanted = max(memoryBudget / pageSize, 128)
        var shardCount = 1
        while shardCount < 16 && wanted / (shardCount * 2) >= 64 { shardCount *= 2 }
        let perShard = wanted / shardCount
        framesPerShard = perShard
        frameCount = perShard * shardCount
        shardMask = UInt32(shardCount - 1)
        memory = UnsafeMutableRawPointer.allocate(byteCount: perShard * shardCount * file.pageSize, alignment: 4096)
        shards = (0..<shardCount).map { _ in PoolShard(frames: perShard) }
    }

    deinit { memory.deallocate() }

    @inline(__always) private func shardIndex(_ pgno: UInt32) -> Int {
        Int((pgno ^ (pgno >> 7)) & shardMask)
    }

    @inline(__always) private func framePointer(shard: Int, local: Int) -> UnsafeMutableRawPointer {
        memory + (shard * framesPerShard + local) * pageSize
    }

    /// Pins page `pgno`, reading it from the file on a miss.
    func pin(_ pgno: UInt32) throws(StoreError) -> FrameRef {
        let s = shardIndex(pgno)
        return try shards[s].state.withLock { (state) throws(StoreError) -> FrameRef in
            if let local = state.table[pgno] {
                let l = Int(local)
                state.pins[l] += 1
                state.referenced[l] = true
                state.counters.hits += 1
                return FrameRef(pointer: framePointer(shard: s, local: l), shard: Int32(s), local: local)
            }
            state.counters.misses += 1
            let local = try takeFrame(&state, shard: s)
            let pointer = framePointer(shard: s, local: Int(local))
            do throws(StoreError) {
                try file.readPage(pgno, into: pointer)
            } catch {
                state.freeFrames.append(local)
                throw error
            }
            install(&state, local: local, pgno: pgno, dirty: false)
            return FrameRef(pointer: pointer, shard: Int32(s), local: local)
        }
    }

    /// Gives a frame to the new page `pgno` (contents undefined, marked dirty, pinned).
    /// A stale frame of an earlier, freed version of the page number is reused.
    func create(_ pgno: UInt32) throws(StoreError) -> FrameRef {
        let s = shardIndex(pgno)
        return try shards[s].state.withLock { (state) throws(StoreError) -> FrameRef in
            if let local = state.table[pgno] {
                let l = Int(local)
                precondition(state.pins[l] == 0, "a freed page is still pinned")
                state.pins[l] = 1
                state.referenced[l] = true
                if !state.dirty[l] { state.dirty[l] = true; state.counters.dirty += 1 }
                return FrameRef(pointer: framePointer(shard: s, local: l), shard: Int32(s), local: local)
            }
            let local = try takeFrame(&state, shard: s)
            install(&state, local: local, pgno: pgno, dirty: true)
            return FrameRef(pointer: framePointer(shard: s, local: Int(local)), shard: Int32(s), local: local)
        }
    }

    private func install(_ state: inout ShardState, local: Int32, pgno: UInt32, dirty: Bool) {
        let l = Int(local)
        state.table[pgno] = local
        state.pgnos[l] = pgno
        state.pins[l] = 1
        state.referenced[l] = true
        state.dirty[l] = dirty
        if dirty { state.counters.dirty += 1 }
        state.counters.cached += 1
    }

    /// A free frame, or one evicted by CLOCK (written first when dirty).
    private func takeFrame(_ state: inout ShardState, shard: Int) throws(StoreError) -> Int32 {
        if let local = state.freeFrames.popLast() { return local }
        let n = state.pgnos.count
        var steps = 0
        while steps < 3 * n {
            let l = state.hand
            state.hand = l + 1 == n ? 0 : l + 1
            steps += 1
            if state.pins[l] != 0 { continue }
            if state.referenced[l] {
                state.referenced[l] = false
                continue
            }
            let pgno = state.pgnos[l]
            if state.dirty[l] {
                try file.writePage(pgno, from: framePointer(shard: shard, local: l))
                state.dirty[l] = false
                state.counters.dirty -= 1
            }
            state.table[pgno] = nil
            state.pgnos[l] = 0
            state.counters.evictions += 1
            state.counters.cached -= 1
            return Int32(l)
        }
        throw .engine(name: "btree", message: "every buffer-pool frame is pinned; raise the memory budget")
    }

    /// Releases a pin taken by `pin` or `create`.
    @inline(__always)
    func unpin(_ frame: FrameRef) {
        shards[Int(frame.shard)].state.withLock { state in state.pins[Int(frame.local)] -= 1 }
    }

    /// Drops the cached frame of a freed page, if any (its contents are no longer needed).
    func discard(_ pgno: UInt32) {
        shards[shardIndex(pgno)].state.withLock { state in
            guard let local = state.table[pgno] else { return }
            let l = Int(local)
            guard state.pins[l] == 0 else { return }
            if state.dirty[l] { state.dirty[l] = false; state.counters.dirty -= 1 }
            state.table[pgno] = nil
            state.pgnos[l] = 0
            state.counters.cached -= 1
            state.freeFrames.append(local)
        }
    }

    /// Writes every dirty frame to its page; returns how many were written.
    @discardableResult
    func flushDirty() throws(StoreError) -> Int {
        var written = 0
        for (s, shard) in shards.enumerated() {
            try shard.state.withLock { (state) throws(StoreError) in
                guard state.counters.dirty > 0 else { return }
                for l in 0..<state.pgnos.count where state.dirty[l] {
                    try file.writePage(state.pgnos[l], from: framePointer(shard: s, local: l))
                    state.dirty[l] = false
                    state.counters.dirty -= 1
                    written += 1
                }
            }
        }
        return written
    }

    /// Dirty frames in the pool.
    var dirtyCount: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.counters.dirty } }
    }

    /// Counters summed over the shards.
    var counters: PoolCounters {
        var total = PoolCounters()
        for shard in shards {
            let c = shard.state.withLock { $0.counters }
            total.hits += c.hits
            total.misses += c.misses
            total.evictions += c.evictions
            total.dirty += c.dirty
            total.cached += c.cached
        }
        return total
    }
}
