import Synchronization

/// Identifies a data block: table file number and byte offset.
struct BlockKey: Hashable, Sendable {
    let file: UInt64
    let offset: UInt64
}

/// An LRU cache of verified data blocks, bounded in bytes and split into
/// shards with one mutex each, so concurrent readers rarely meet.
///
/// The tables' filters and indexes live outside the cache but are charged
/// to it: `reserve(_:)` shrinks the room left for blocks by their size.
final class BlockCache: Sendable {
    private static let shardCount = 16
    private let shards: [CacheShard]
    let capacity: Int
    /// Bytes per shard currently available for blocks.
    private let shardCapacity: Atomic<Int>

    init(capacity: Int) {
        self.capacity = capacity
        shardCapacity = Atomic(max(1, capacity / Self.shardCount))
        shards = (0..<Self.shardCount).map { _ in CacheShard() }
    }

    /// Charges `bytes` held elsewhere (table metadata) against the capacity;
    /// at least a quarter of the capacity stays available for blocks.
    func reserve(_ bytes: Int) {
        let available = max(capacity / 4, capacity - bytes)
        shardCapacity.store(max(1, available / Self.shardCount), ordering: .relaxed)
    }

    @inline(__always)
    private func shard(_ key: BlockKey) -> CacheShard {
        let mixed = (key.file &* 0x9E37_79B9_7F4A_7C15) ^ (key.offset &* 0xC2B2_AE3D_27D4_EB4F)
        return shards[Int(truncatingIfNeeded: (mixed >> 59) & UInt64(Self.shardCount - 1))]
    }

    func lookup(_ key: BlockKey) -> Block? { shard(key).lookup(key) }

    func insert(_ key: BlockKey, _ block: Block) {
        shard(key).insert(key, block, capacity: shardCapacity.load(ordering: .relaxed))
    }

    /// Bytes currently held.
    var usage: Int { shards.reduce(0) { $0 + $1.usage } }
}

/// One shard: a hash map into an array of nodes linked in recency order.
final class CacheShard: Sendable {
    private struct Node {
        var key: BlockKey
        var block: Block?
        var charge: Int
        var previous: Int32
        var next: Int32
    }

    private struct State {
        var map: [BlockKey: Int32] = [:]
        var nodes: [Node] = []
        var free: [Int32] = []
        var head: Int32 = -1   // most recent
        var tail: Int32 = -1   // least recent
        var usage = 0

        mutating func unlink(_ index: Int32) {
            let node = nodes[Int(index)]
            if node.previous >= 0 { nodes[Int(node.previous)].next = node.next } else { head = node.next }
            if node.next >= 0 { nodes[Int(node.next)].previous = node.previous } else { tail = node.previous }
        }

        mutating func pushFront(_ index: Int32) {
            nodes[Int(index)].previous = -1
            nodes[Int(index)].next = head
            if head >= 0 { nodes[Int(head)].previous = index }
            head = index
            if tail < 0 { tail = index }
        }
    }

    private let state: Mutex<State>

    init() { state = Mutex(State()) }

    var usage: Int { state.withLock { $0.usage } }

    func lookup(_ key: BlockKey) -> Block? {
        state.withLock { state -> Block? in
            guard let index = state.map[key] else { return nil }
            if state.head != index {
                state.unlink(index)
                state.pushFront(index)
            }
            return state.nodes[Int(index)].block
        }
    }

    func insert(_ key: BlockKey, _ block: Block, capacity: Int) {
        let charge = block.storage.count + 64
        state.withLock { state in
            if state.map[key] != nil { return }
            let index: Int32
            let node = Node(key: key, block: block, charge: charge, previous: -1, next: -1)
            if let reused = state.free.popLast() {
                index = reused
                state.nodes[Int(index)] = node
            } else {
                index = Int32(state.nodes.count)
                state.nodes.append(node)
            }
            state.map[key] = index
            state.pushFront(index)
            state.usage += charge
            while state.usage > capacity && state.tail >= 0 && state.tail != index {
                let victim = state.tail
                state.unlink(victim)
                let old = state.nodes[Int(victim)]
                state.map[old.key] = nil
                state.usage -= old.charge
                state.nodes[Int(victim)].block = nil
                state.free.append(victim)
            }
        }
    }
}
