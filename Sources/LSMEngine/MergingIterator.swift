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
struct MergingIterator {
    private var memories: [MemTableIterator]
    private var levels: [LevelIterator]
    private var current = -1
    private let lastKey = KeyBuffer()

    init(memories: [MemTableIterator], levels: [LevelIterator]) {
        self.memories = memories
        self.levels = levels
    }

    var isValid: Bool { current >= 0 }

    @inline(__always)
    private func sourceValid(_ i: Int) -> Bool {
        i < memories.count ? memories[i].isValid : levels[i - memories.count].isValid
    }

    @inline(__always)
    private func sourceKey(_ i: Int) -> UnsafeRawBufferPointer {
        i < memories.count ? memories[i].key : levels[i - memories.count].key
    }

    var key: UnsafeRawBufferPointer { sourceKey(current) }

    var value: UnsafeRawBufferPointer {
        current < memories.count ? memories[current].value : levels[current - memories.count].value
    }

    var kind: EntryKind {
        current < memories.count ? memories[current].kind : levels[current - memories.count].kind
    }

    private var sourceCount: Int { memories.count + levels.count }

    private mutating func pickSmallest() {
        var best = -1
        for i in 0..<sourceCount where sourceValid(i) {
            if best < 0 || compareKeys(sourceKey(i), sourceKey(best)) < 0 { best = i }
        }
        current = best
    }

    mutating func seekToFirst() throws(StoreError) {
        for i in memories.indices { memories[i].seekToFirst() }
        for i in levels.indices { try levels[i].seekToFirst() }
        pickSmallest()
    }

    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StoreError) {
        for i in memories.indices { memories[i].seek(target) }
        for i in levels.indices { try levels[i].seek(target) }
        pickSmallest()
    }

    /// Moves past the current key in every source.
    mutating func next() throws(StoreError) {
        guard current >= 0 else { return }
        lastKey.set(sourceKey(current))
        let passed = lastKey.bytes
        for i in memories.indices where memories[i].isValid && compareKeys(memories[i].key, passed) == 0 {
            memories[i].next()
        }
        for i in levels.indices where levels[i].isValid && compareKeys(levels[i].key, passed) == 0 {
            try levels[i].next()
        }
        pickSmallest()
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
