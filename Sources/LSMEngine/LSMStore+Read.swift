import KVStore

// The read path of a get: `LSMStore.withValue` hands the borrowed key to
// `Engine.lookup`, which checks the active and the immutable memtable, then
// level by level each sorted run, newest first (a flushed L0 table is a run of
// its own; a leveled level has one run, a tiered level several): in each run the
// one table whose range holds the key (binary search on the run's key ranges),
// past its bloom filter; a table finds the key through its index, the block
// cache and one data block (`Table.swift`).

extension LSMStore {
    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try withValue(forKey: key) { Bytes($0) }
    }

    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        return try key.withBorrowedBytes { (k) throws(StoreError) -> Result? in try engine.lookup(k, body) }
    }
}

extension Engine {
    /// The memtables and version readers see now (published by `publishReadState`).
    @inline(__always)
    func currentReadState() -> ReadState { readState.withLock { $0 } }

    /// Finds the newest version of `key`; calls `body` with its value.
    @inline(__always)
    func lookup<Result>(_ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        counters.pointLookups.add(1, ordering: .relaxed)
        let sequence = visibleSequence.load(ordering: .acquiring)
        let state = currentReadState()
        if let node = state.memory.find(key, sequence: sequence) {
            counters.memtableHits.add(1, ordering: .relaxed)
            return MemTable.kind(node) == .tombstone ? nil : body(MemTable.value(node))
        }
        if let immutable = state.immutable, let node = immutable.find(key, sequence: sequence) {
            counters.memtableHits.add(1, ordering: .relaxed)
            return MemTable.kind(node) == .tombstone ? nil : body(MemTable.value(node))
        }
        let hash = KeyHash.hash(key)
        var probes: UInt64 = 0
        var negatives: UInt64 = 0
        defer {
            counters.tableProbes.add(probes, ordering: .relaxed)
            if negatives > 0 { counters.bloomNegatives.add(negatives, ordering: .relaxed) }
        }
        for runs in state.version.levels {
            for run in runs {
                let tables = run.tables
                var low = 0, high = tables.count
                while low < high {
                    let middle = (low + high) >> 1
                    if tables[middle].largest.withUnsafeBytes({ compareKeys($0, key) < 0 }) { low = middle + 1 } else { high = middle }
                }
                guard low < tables.count else { continue }
                let table = tables[low]
                guard table.smallest.withUnsafeBytes({ compareKeys($0, key) <= 0 }) else { continue }
                if let hit = try probe(table, key, hash: hash, probes: &probes, negatives: &negatives) { return hit.value(body) }
            }
        }
        return nil
    }

    /// Looks `key` up in one table whose key range holds it, past its bloom filter.
    @inline(__always)
    private func probe(_ table: TableFile, _ key: UnsafeRawBufferPointer, hash: UInt64,
                       probes: inout UInt64, negatives: inout UInt64) throws(StoreError) -> TableHit? {
        probes += 1
        guard table.mayContain(hash: hash) else {
            negatives += 1
            return nil
        }
        if let hit = try table.find(key, cache: cache, counters: counters) {
            return TableHit(block: hit.block, kind: hit.kind, range: hit.value)
        }
        counters.bloomFalsePositives.add(1, ordering: .relaxed)
        return nil
    }
}

/// The newest entry for a key in one table: a value or a tombstone, inside a cached block.
struct TableHit {
    var block: Block
    var kind: EntryKind
    var range: Range<Int>

    /// `body` applied to the value, or nil for a tombstone.
    @inline(__always)
    func value<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        kind == .tombstone ? nil : withExtendedLifetime(block) { body(UnsafeRawBufferPointer(rebasing: block.bytes[range])) }
    }
}
