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
            var builder = BlockBuilder()
            for entry in sortedEntries {
                entry.key.withUnsafeBytes { k in entry.value.withUnsafeBytes { v in builder.add(key: k, kind: .value, value: v) } }
            }
            var bytes = builder.finish()
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
}
