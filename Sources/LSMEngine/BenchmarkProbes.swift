import KVStore
import StorageIO

/// Handles on the LSM engine's internal structures for microbenchmarks
/// (`Benchmarks/`), exposed only as SPI: `@_spi(Benchmarks) import LSMEngine`.
@_spi(Benchmarks)
public enum LSMBenchmarkProbes {
    /// A memtable to insert into.
    public final class MemTableProbe {
        let table = MemTable(logNumber: 1)
        var sequence: UInt64 = 0

        public init() {}

        /// Inserts one entry, as a put does after its log record is written.
        @inline(never)
        public func insert(key: Bytes, value: Bytes) {
            sequence &+= 1
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in table.insert(sequence: sequence, kind: .value, key: k, value: v) } }
        }
    }

    /// A bloom filter built over `keys`, to probe.
    public struct BloomProbe {
        let filter: Bytes

        public init(keys: [Bytes], bitsPerKey: Int = 10) {
            filter = BloomFilter.build(hashes: keys.map { key in key.withUnsafeBytes { KeyHash.hash($0) } }, bitsPerKey: bitsPerKey)
        }

        /// False when `key` is certainly not among the keys.
        @inline(never)
        public func mayContain(_ key: Bytes) -> Bool {
            let hash = key.withUnsafeBytes { KeyHash.hash($0) }
            return filter.withUnsafeBytes { BloomFilter.mayContain($0, hash: hash) }
        }
    }

    /// One data block of about 4 KiB built from sorted `entries`, to seek in.
    public struct BlockProbe {
        let block: Block

        public init(sortedEntries: [(key: Bytes, value: Bytes)]) throws(StoreError) {
            let builder = BlockBuilder()
            for entry in sortedEntries {
                entry.key.withUnsafeBytes { k in entry.value.withUnsafeBytes { v in builder.add(key: k, kind: .value, value: v) } }
            }
            var bytes = builder.finish { Bytes($0) }
            let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
            bytes.appendFixed32(crc)
            block = try Block(storage: bytes.withUnsafeBytes { OwnedBuffer(copying: $0) }, path: "benchmark", offset: 0)
        }

        /// Looks `key` up the way a point read does (binary search over restart
        /// points, then a scan comparing only suffixes); returns the value's length, or nil.
        @inline(never)
        public func find(_ key: Bytes) throws(StoreError) -> Int? {
            try key.withBorrowedBytes { (target) throws(StoreError) in try block.find(target)?.value.count }
        }
    }

    /// A write-ahead log being appended to (no sync), in `directory`.
    public final class LogProbe {
        let writer: FramedRecordWriter

        public init(directory: String) throws(StoreError) {
            let file = try StorageFile(path: directory + "/benchmark.log", mode: .createOrOpen)
            writer = FramedRecordWriter(file: file, offset: 0)
        }

        /// Appends one checksummed record holding `key` and `value` with `write()`.
        @inline(never)
        public func append(key: Bytes, value: Bytes) throws(StoreError) {
            try writer.append(type: 1) { payload in
                payload.append(contentsOf: key)
                payload.append(contentsOf: value)
            }
        }
    }

    /// `runs` flushed L0 tables of `entriesPerRun` keys each (random keys, so every run
    /// spans the key space, as in an L0 → L1 merge under uniform writes), merged on
    /// each call by the compaction merge (one key range, tombstones kept); the outputs
    /// are deleted after each merge and the inputs stay.
    public final class MergeProbe {
        let store: LSMStore
        let groups: [[TableFile]]

        public init(directory: String, runs: Int, entriesPerRun: Int, valueSize: Int) throws(StoreError) {
            precondition(runs >= 1 && runs <= 64, "MergeProbe takes 1 to 64 runs")
            let options = StoreOptions(directory: directory, durability: .none, memoryBudget: 256 << 20, settings: [
                "lsm.memtable_bytes": String(1 << 30), "lsm.l0_compaction_trigger": "64",
                "lsm.l0_slowdown_trigger": "256", "lsm.l0_stop_trigger": "256",
            ])
            store = try LSMStore.open(options)
            let value = Bytes(repeating: 5, count: valueSize)
            var key = Bytes(repeating: 0, count: 16)
            var random = SplitMix64(seed: 1)
            for _ in 0..<runs {
                for _ in 0..<entriesPerRun {
                    let word = random.next()
                    key.withUnsafeMutableBytes { $0.storeBytes(of: word.bigEndian, as: UInt64.self) }
                    try store.put(key, value)
                }
                try store.flushMemtable()
            }
            let engine = store.engine
            groups = engine.monitor.withLock { engine.control.version.levels[0].map(\.tables) }
            precondition(groups.count == runs, "MergeProbe: L0 holds \(groups.count) runs, not \(runs)")
        }

        deinit { try? store.close() }

        /// Merges every run into new tables, as one compaction range does; returns the bytes written.
        @inline(never)
        public func merge() throws(StoreError) -> Int {
            guard let merged = try store.engine.merge(groups: groups, dropTombstones: false, ranges: [KeyRange()]) else { return 0 }
            for table in merged.tables { table.markObsolete() }
            return merged.tables.reduce(0) { $0 + $1.meta.size }
        }
    }
}
