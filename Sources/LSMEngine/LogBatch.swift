import KVStore
import StorageIO

/// The write-ahead log's record payload: one atomic batch of writes.
/// `sequence u64 | count varint | (kind u8 | key | [value])*`, lengths as varints.
/// A put or a delete is a batch of one (`LogBatch.Entry`), a `WriteBatch` a batch
/// of many; both reach the log and the memtable through `Engine.write`.
enum LogBatch {
    static let recordType: UInt8 = 1
    /// The most bytes an entry adds to its key and value: the kind byte and two varint lengths.
    static let maxEntryOverhead = 1 + 2 * 10

    /// One put or delete, over borrowed bytes.
    struct Entry: LogBatchEntries {
        var kind: EntryKind
        var key: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer

        @inline(__always) var count: Int { 1 }
        @inline(__always) var userBytes: UInt64 { UInt64(key.count + value.count) }

        @inline(__always)
        func encode(into out: inout Bytes) { LogBatch.appendEntry(kind: kind, key: key, value: value, into: &out) }

        @inline(__always)
        func insert(into memory: MemTable, first: UInt64) {
            memory.insert(sequence: first, kind: kind, key: key, value: value)
        }
    }

    /// Appends one entry in the payload's format; a tombstone has no value.
    @inline(__always)
    static func appendEntry(kind: EntryKind, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(kind.rawValue)
        out.appendLengthPrefixed(key)
        if kind == .value { out.appendLengthPrefixed(value) }
    }

    /// Decodes a batch payload and calls `apply` for each operation in order.
    static func decode(_ payload: UnsafeRawBufferPointer, path: String,
                       _ apply: (UInt64, EntryKind, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) throws(StoreError) -> (first: UInt64, count: Int) {
        var reader = ByteReader(payload)
        let sequence = reader.fixed64()
        let count = reader.length()
        var index = 0
        while index < count && !reader.failed {
            let kindByte = reader.byte()
            let keyLength = reader.length()
            let key = reader.slice(keyLength)
            var value = UnsafeRawBufferPointer(start: nil, count: 0)
            if kindByte == EntryKind.value.rawValue {
                let valueLength = reader.length()
                value = reader.slice(valueLength)
            } else if kindByte != EntryKind.tombstone.rawValue {
                reader.failed = true
            }
            if reader.failed { break }
            apply(sequence + UInt64(index), kindByte == 0 ? .value : .tombstone, key, value)
            index += 1
        }
        if reader.failed || !reader.isAtEnd {
            throw .corruption(path: path, reason: "log record with a valid checksum does not decode as a write batch")
        }
        return (sequence, count)
    }
}

/// The operations of one atomic write, as the log record and the memtable take them.
protocol LogBatchEntries {
    /// Operations in the batch; each takes one sequence number.
    var count: Int { get }
    /// User bytes as `docs/measurement.md` defines them.
    var userBytes: UInt64 { get }
    /// Appends the entries (after the batch header) in `LogBatch`'s format.
    func encode(into out: inout Bytes)
    /// Inserts the entries into `memory`, numbered from `first`.
    func insert(into memory: MemTable, first: UInt64)
}

extension WriteBatch: LogBatchEntries {
    func encode(into out: inout Bytes) {
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                key.withUnsafeBytes { k in
                    value.withUnsafeBytes { v in LogBatch.appendEntry(kind: .value, key: k, value: v, into: &out) }
                }
            case .delete(let key):
                key.withUnsafeBytes { k in
                    LogBatch.appendEntry(kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
                }
            }
        }
    }

    func insert(into memory: MemTable, first: UInt64) {
        var sequence = first
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                key.withUnsafeBytes { k in
                    value.withUnsafeBytes { v in memory.insert(sequence: sequence, kind: .value, key: k, value: v) }
                }
            case .delete(let key):
                key.withUnsafeBytes { k in
                    memory.insert(sequence: sequence, kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
            sequence += 1
        }
    }
}
