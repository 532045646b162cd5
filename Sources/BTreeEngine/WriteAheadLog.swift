import KVStore
import StorageIO

/// One logical operation of a logged commit.
enum LoggedOperation {
    case put(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)
    case delete(key: ArraySlice<UInt8>)
}

/// The redo log between checkpoints: two files used in turn, each a log of framed
/// records (`FramedRecords`, `docs/record-format.md`).
///
/// One record (type 1) is one commit. Payload: `u64 lsn, u32 salt, operations`, where
/// the LSN is the commit's transaction id and an operation is `u8 kind (1 put, 2 delete),
/// u32 keyLength, [u32 valueLength], key, [value]`. After checkpoint number `s` (whose
/// meta page covers every commit up to its LSN) records go to file `s % 2`, truncated
/// first and given a new random salt; the other file keeps the commits between the
/// previous checkpoint and this one, so a fall-back to the older meta page still finds
/// every commit after it. The salt tells this use of a file from an earlier one: a power
/// loss can undo the truncation while keeping later bytes, and records of the earlier
/// use (another salt) end the log like a torn tail instead of reading as damage.
final class WriteAheadLog {
    static let fileNames = ["btree.wal.0", "btree.wal.1"]
    static let recordType: UInt8 = 1
    /// Payload bytes before the operations: the LSN and the salt.
    static let payloadHeader = 12

    let files: [StorageFile]
    private let writers: [FramedRecordWriter]
    private(set) var active: Int
    private var salt: UInt32

    init(files: [StorageFile], active: Int) {
        self.files = files
        self.writers = files.map { FramedRecordWriter(file: $0, offset: 0) }
        self.active = active
        self.salt = UInt32.random(in: .min ... .max)
    }

    /// Bytes in the active file.
    var activeBytes: Int { writers[active].offset }

    /// Bytes written to both files.
    var bytesWritten: UInt64 { writers.reduce(0) { $0 + $1.bytesWritten } }

    /// Starts an empty log for the commits after checkpoint `seq`: file `seq % 2`, truncated, with a new salt.
    func restart(afterCheckpoint seq: UInt64) throws(StoreError) {
        let index = Int(seq % 2)
        try writers[index].truncate(to: 0)
        active = index
        salt = UInt32.random(in: .min ... .max)
    }

    /// Writes the record of commit `lsn`, whose operations `encode` appends
    /// (`appendPut`, `appendDelete`); the record reaches the OS before this returns.
    func append(lsn: UInt64, _ encode: (inout Bytes) -> Void) throws(StoreError) {
        try writers[active].append(type: Self.recordType) { out in
            Self.appendInteger(lsn, to: &out)
            Self.appendInteger(salt, to: &out)
            encode(&out)
        }
    }

    static func appendPut(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(1)
        appendInteger(UInt32(key.count), to: &out)
        appendInteger(UInt32(value.count), to: &out)
        out.append(contentsOf: key)
        out.append(contentsOf: value)
    }

    static func appendDelete(key: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(2)
        appendInteger(UInt32(key.count), to: &out)
        out.append(contentsOf: key)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout Bytes) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Syncs the active file.
    func sync() throws(StoreError) { try writers[active].sync() }

    /// A commit read back from a log file.
    struct Record {
        var lsn: UInt64
        /// Where the framed record starts in the file.
        var offset: Int
        /// The commit's operations (the payload after the LSN and the salt).
        var operations: ArraySlice<UInt8>
    }

    /// The commits of `file`, read by the framing's torn-tail rule (records of another salt
    /// end the log). A damaged record before intact ones, or commits that are not
    /// consecutive, are corruption.
    static func readRecords(_ file: StorageFile) throws(StoreError) -> [Record] {
        let size = try file.size()
        guard size > 0 else { return [] }
        let bytes = try file.read(at: 0, count: size)
        return try bytes.withBorrowedBytes { (raw) throws(StoreError) -> [Record] in
            func integer<T: FixedWidthInteger>(_ payload: UnsafeRawBufferPointer, _ offset: Int, as type: T.Type) -> T {
                T(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            let scan = try FramedRecords.scan(raw, types: recordType...recordType, path: file.path) { first, candidate in
                first.count >= payloadHeader && candidate.count >= payloadHeader
                    && integer(first, 8, as: UInt32.self) == integer(candidate, 8, as: UInt32.self)
            }
            var records: [Record] = []
            for record in scan.records {
                let payload = UnsafeRawBufferPointer(rebasing: raw[record.payload])
                guard payload.count >= payloadHeader else {
                    throw .corruption(path: file.path, reason: "log record at offset \(record.start) is shorter than its LSN and salt")
                }
                let lsn = integer(payload, 0, as: UInt64.self)
                if let last = records.last, last.lsn + 1 != lsn {
                    throw .corruption(path: file.path, reason: "log record at offset \(record.start) holds commit \(lsn) after commit \(last.lsn)")
                }
                records.append(Record(lsn: lsn, offset: record.start, operations: bytes[(record.payload.lowerBound + payloadHeader)..<record.payload.upperBound]))
            }
            return records
        }
    }

    /// Decodes the operations of a record; nil when they are malformed.
    static func decode(_ operations: ArraySlice<UInt8>) -> [LoggedOperation]? {
        var decoded: [LoggedOperation] = []
        var index = operations.startIndex
        func integer(_ at: Int) -> Int {
            operations.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at - operations.startIndex, as: UInt32.self))) }
        }
        while index < operations.endIndex {
            switch operations[index] {
            case 1:
                guard index + 9 <= operations.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let valueLength = integer(index + 5)
                let keyStart = index + 9
                guard keyStart + keyLength + valueLength <= operations.endIndex else { return nil }
                decoded.append(.put(key: operations[keyStart..<(keyStart + keyLength)],
                                    value: operations[(keyStart + keyLength)..<(keyStart + keyLength + valueLength)]))
                index = keyStart + keyLength + valueLength
            case 2:
                guard index + 5 <= operations.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let keyStart = index + 5
                guard keyStart + keyLength <= operations.endIndex else { return nil }
                decoded.append(.delete(key: operations[keyStart..<(keyStart + keyLength)]))
                index = keyStart + keyLength
            default:
                return nil
            }
        }
        return decoded
    }
}
