import KVStore

/// Iterates a sequence of tables with disjoint, ordered key ranges (one sorted
/// run), opening one table at a time.
struct LevelIterator {
    private let tables: [TableFile]
    private let cache: BlockCache?
    private let counters: EngineCounters
    private var index = 0
    private var current: TableIterator?

    init(tables: [TableFile], cache: BlockCache?, counters: EngineCounters) {
        self.tables = tables
        self.cache = cache
        self.counters = counters
    }

    var isValid: Bool { current?.isValid ?? false }
    var key: UnsafeRawBufferPointer { current!.key }
    var value: UnsafeRawBufferPointer { current!.value }
    var kind: EntryKind { current!.kind }

    private mutating func open(_ position: Int) {
        index = position
        current = position < tables.count ? TableIterator(table: tables[position], cache: cache, counters: counters) : nil
    }

    private mutating func skipExhausted() throws(StoreError) {
        while current != nil && !current!.isValid {
            open(index + 1)
            if current != nil { try current!.seekToFirst() }
        }
    }

    mutating func seekToFirst() throws(StoreError) {
        open(0)
        if current != nil { try current!.seekToFirst() }
        try skipExhausted()
    }

    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StoreError) {
        var low = 0, high = tables.count
        while low < high {
            let middle = (low + high) >> 1
            let below = tables[middle].largest.withUnsafeBytes { compareKeys($0, target) < 0 }
            if below { low = middle + 1 } else { high = middle }
        }
        open(low)
        if current != nil { try current!.seek(target) }
        try skipExhausted()
    }

    mutating func next() throws(StoreError) {
        try current!.next()
        try skipExhausted()
    }
}

/// Merges memtables and tables into one ordered stream holding, for each key,
/// only the newest version (tombstones included). Sources are given newest
/// first; on equal keys the earlier source wins and the others are skipped.
///
/// The valid sources form a binary min-heap ordered by (key, source index), so
/// the top is the current entry and a step costs O(log n) key comparisons for
/// n sources (an L0 → L1 merge has one source per L0 run, plus L1).
struct MergingIterator {
    private var memories: [MemTableIterator]
    private var levels: [LevelIterator]
    /// Indices of the valid sources (memtables first, then levels), as a heap.
    private var heap: [Int] = []
    /// Each valid source's current key, refreshed whenever that source moves (a
    /// source's key bytes stay in place until it moves), so heap steps compare
    /// without walking down to the block iterators.
    private var keys: [UnsafeRawBufferPointer]
    /// Each valid source's first eight key bytes as a big-endian integer (zero-padded),
    /// so most heap comparisons are one integer comparison.
    private var prefixes: [UInt64]
    private let lastKey = GrowableBytes()

    init(memories: [MemTableIterator], levels: [LevelIterator]) {
        self.memories = memories
        self.levels = levels
        keys = Array(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: memories.count + levels.count)
        prefixes = Array(repeating: 0, count: memories.count + levels.count)
    }

    var isValid: Bool { !heap.isEmpty }

    @inline(__always)
    private func sourceValid(_ i: Int) -> Bool {
        i < memories.count ? memories[i].isValid : levels[i - memories.count].isValid
    }

    @inline(__always)
    private func sourceKey(_ i: Int) -> UnsafeRawBufferPointer {
        i < memories.count ? memories[i].key : levels[i - memories.count].key
    }

    var key: UnsafeRawBufferPointer { keys[heap[0]] }

    var value: UnsafeRawBufferPointer {
        let top = heap[0]
        return top < memories.count ? memories[top].value : levels[top - memories.count].value
    }

    var kind: EntryKind {
        let top = heap[0]
        return top < memories.count ? memories[top].kind : levels[top - memories.count].kind
    }

    /// The first eight bytes of `key` as a big-endian integer, zero-padded: when two
    /// keys' prefixes differ, they order the keys.
    @inline(__always)
    private static func prefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        if key.count >= 8 { return UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) }
        var value: UInt64 = 0
        for byte in key { value = value << 8 | UInt64(byte) }
        return value << (8 * (8 - UInt64(key.count)))
    }

    /// Points source `source`'s cached key and prefix at its current entry.
    @inline(__always)
    private mutating func refresh(_ source: Int) {
        let key = sourceKey(source)
        keys[source] = key
        prefixes[source] = Self.prefix(key)
    }

    /// Whether source `a`'s entry comes before source `b`'s: a smaller key, or the same key from a newer source.
    @inline(__always)
    private static func precedes(_ a: Int, _ b: Int, _ keys: UnsafeBufferPointer<UnsafeRawBufferPointer>, _ prefixes: UnsafeBufferPointer<UInt64>) -> Bool {
        if prefixes[a] != prefixes[b] { return prefixes[a] < prefixes[b] }
        let order = compareKeys(keys[a], keys[b])
        return order < 0 || (order == 0 && a < b)
    }

    /// Moves the source at `start` down to its place (the heap below it is in order).
    private mutating func siftDown(_ start: Int) {
        prefixes.withUnsafeBufferPointer { prefixes in
            keys.withUnsafeBufferPointer { keys in
                heap.withUnsafeMutableBufferPointer { heap in
                    let moving = heap[start]
                    var hole = start
                    while true {
                        var child = 2 * hole + 1
                        if child >= heap.count { break }
                        if child + 1 < heap.count && Self.precedes(heap[child + 1], heap[child], keys, prefixes) { child += 1 }
                        guard Self.precedes(heap[child], moving, keys, prefixes) else { break }
                        heap[hole] = heap[child]
                        hole = child
                    }
                    heap[hole] = moving
                }
            }
        }
    }

    /// Builds the heap from every valid source (after a seek).
    private mutating func buildHeap() {
        heap = (0..<keys.count).filter { sourceValid($0) }
        for source in heap { refresh(source) }
        var parent = heap.count / 2
        while parent > 0 {
            parent -= 1
            siftDown(parent)
        }
        checkHeap()
    }

    /// Moves the top source past its entry and restores the heap (dropping the source when it is exhausted).
    private mutating func advanceTop() throws(StoreError) {
        let top = heap[0]
        if top < memories.count { memories[top].next() } else { try levels[top - memories.count].next() }
        if sourceValid(top) {
            refresh(top)
        } else {
            let last = heap.removeLast()
            if heap.isEmpty { return }
            heap[0] = last
        }
        siftDown(0)
    }

    /// Under `KVBENCH_INTERNAL_CHECKS`: every source in the heap is valid and none precedes its parent.
    private func checkHeap() {
        #if KVBENCH_INTERNAL_CHECKS
        for (position, source) in heap.enumerated() {
            precondition(sourceValid(source), "merging iterator: an exhausted source is in the heap")
            precondition(compareKeys(keys[source], sourceKey(source)) == 0 && prefixes[source] == Self.prefix(keys[source]),
                         "merging iterator: a source's cached key is stale")
            if position > 0 {
                let parent = heap[(position - 1) / 2]
                let below = keys.withUnsafeBufferPointer { keys in prefixes.withUnsafeBufferPointer { Self.precedes(source, parent, keys, $0) } }
                precondition(!below, "merging iterator: the heap order is broken")
            }
        }
        #endif
    }

    mutating func seekToFirst() throws(StoreError) {
        for i in memories.indices { memories[i].seekToFirst() }
        for i in levels.indices { try levels[i].seekToFirst() }
        buildHeap()
    }

    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StoreError) {
        for i in memories.indices { memories[i].seek(target) }
        for i in levels.indices { try levels[i].seek(target) }
        buildHeap()
    }

    /// Moves past the current key in every source: the sources holding it come to
    /// the top one after another, newest first.
    mutating func next() throws(StoreError) {
        guard !heap.isEmpty else { return }
        lastKey.set(keys[heap[0]])
        let passed = lastKey.bytes
        repeat {
            try advanceTop()
        } while !heap.isEmpty && compareKeys(keys[heap[0]], passed) == 0
        checkHeap()
    }
}

/// What a reader sees: the memtables and the version at one moment. Holding
/// it keeps all of them (and their files) alive.
final class ReadState: Sendable {
    let memory: MemTable
    let immutable: MemTable?
    let version: Version

    init(memory: MemTable, immutable: MemTable?, version: Version) {
        self.memory = memory
        self.immutable = immutable
        self.version = version
    }

    /// A merging iterator over everything, as of sequence number `snapshot`.
    func iterator(snapshot: UInt64, cache: BlockCache?, counters: EngineCounters) -> MergingIterator {
        var memories = [MemTableIterator(table: memory, snapshot: snapshot)]
        if let immutable { memories.append(MemTableIterator(table: immutable, snapshot: snapshot)) }
        var levels: [LevelIterator] = []
        for runs in version.levels {
            for run in runs { levels.append(LevelIterator(tables: run.tables, cache: cache, counters: counters)) }
        }
        return MergingIterator(memories: memories, levels: levels)
    }
}

/// A cursor over one consistent snapshot: the memtables and version pinned
/// when it was made, filtered to the sequence number current at that moment.
/// Deleted keys and older versions are hidden.
public final class LSMCursor: KeyValueCursor {
    private let state: ReadState
    private var merge: MergingIterator

    init(state: ReadState, snapshot: UInt64, cache: BlockCache, counters: EngineCounters) {
        self.state = state
        self.merge = state.iterator(snapshot: snapshot, cache: cache, counters: counters)
    }

    private func skipTombstones() throws(StoreError) {
        while merge.isValid && merge.kind == .tombstone { try merge.next() }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        try key.withBorrowedBytes { (raw) throws(StoreError) in try merge.seek(raw) }
        try skipTombstones()
    }

    public func seekToFirst() throws(StoreError) {
        try merge.seekToFirst()
        try skipTombstones()
    }

    public func next() throws(StoreError) {
        precondition(merge.isValid, "cursor is not positioned on an entry")
        try merge.next()
        try skipTombstones()
    }

    public var isValid: Bool { merge.isValid }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(merge.isValid, "cursor is not positioned on an entry")
        return body(merge.key, merge.value)
    }
}
