import KVStore
import StorageIO

/// One logical operation of a logged commit.
enum LoggedOperation {
    case put(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)
    case delete(key: ArraySlice<UInt8>)
}

/// The redo log between checkpoints: two files used in turn.
///
/// Record: `u32 crc, u32 payloadLength, u64 lsn, payload`, the CRC32C covering
/// everything after itself. Payload: operations `u8 kind (1 put, 2 delete),
/// u32 keyLength, [u32 valueLength], key, [value]`. One record is one commit,
/// and its LSN is the commit's transaction id. After checkpoint number `s`
/// (whose meta page covers every commit up to its LSN) records go to file
/// `s % 2`, truncated first; the other file keeps the commits between the
/// previous checkpoint and this one, so a fall-back to the older meta page
/// still finds every commit after it.
final class WriteAheadLog {
    static let fileNames = ["btree.wal.0", "btree.wal.1"]
    static let recordHeader = 16

    let files: [StorageFile]
    private(set) var active: Int
    private(set) var tail: Int
    private var buffer: Bytes = []
    private(set) var bytesWritten: UInt64 = 0

    init(files: [StorageFile], active: Int, tail: Int) {
        self.files = files
        self.active = active
        self.tail = tail
        buffer.reserveCapacity(4096)
    }

    /// Bytes in the active file.
    var activeBytes: Int { tail }

    /// Starts an empty log in file `index` (truncating it).
    func restart(in index: Int) throws(StoreError) {
        try files[index].truncate(to: 0)
        active = index
        tail = 0
    }

    /// Begins encoding the record of commit `lsn`.
    func begin(lsn: UInt64) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: repeatElement(0, count: 8))
        appendInteger(lsn)
    }

    func appendPut(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        buffer.append(1)
        appendInteger(UInt32(key.count))
        appendInteger(UInt32(value.count))
        buffer.append(contentsOf: key)
        buffer.append(contentsOf: value)
    }

    func appendDelete(key: UnsafeRawBufferPointer) {
        buffer.append(2)
        appendInteger(UInt32(key.count))
        buffer.append(contentsOf: key)
    }

    private func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// Seals and writes the record begun with `begin`; the record reaches the OS before this returns.
    func write() throws(StoreError) {
        let payloadLength = buffer.count - Self.recordHeader
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[4...]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
        }
        try files[active].write(at: tail, buffer)
        tail += buffer.count
        bytesWritten += UInt64(buffer.count)
    }

    /// Syncs the active file.
    func sync() throws(StoreError) { try files[active].sync() }

    /// A valid record read back from a log file.
    struct Record {
        var lsn: UInt64
        var payload: ArraySlice<UInt8>
    }

    /// The records of `file` from its start while checksums hold and LSNs are consecutive.
    static func readRecords(_ file: StorageFile) throws(StoreError) -> [Record] {
        let size = try file.size()
        guard size > 0 else { return [] }
        let bytes = try file.read(at: 0, count: size)
        var records: [Record] = []
        var offset = 0
        while offset + recordHeader <= bytes.count {
            let (crc, length, lsn) = bytes.withUnsafeBytes { raw in
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
            }
            let end = offset + recordHeader + length
            guard end <= bytes.count else { break }
            let actual = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<end]))
            }
            guard actual == crc else { break }
            if let last = records.last, last.lsn + 1 != lsn { break }
            records.append(Record(lsn: lsn, payload: bytes[(offset + recordHeader)..<end]))
            offset = end
        }
        return records
    }

    /// Decodes the operations of a record payload; nil when the payload is malformed.
    static func decode(_ payload: ArraySlice<UInt8>) -> [LoggedOperation]? {
        var operations: [LoggedOperation] = []
        var index = payload.startIndex
        func integer(_ at: Int) -> Int {
            Int(UInt32(payload[at]) | UInt32(payload[at + 1]) << 8 | UInt32(payload[at + 2]) << 16 | UInt32(payload[at + 3]) << 24)
        }
        while index < payload.endIndex {
            let kind = payload[index]
            switch kind {
            case 1:
                guard index + 9 <= payload.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let valueLength = integer(index + 5)
                let keyStart = index + 9
                guard keyStart + keyLength + valueLength <= payload.endIndex else { return nil }
                operations.append(.put(key: payload[keyStart..<(keyStart + keyLength)],
                                       value: payload[(keyStart + keyLength)..<(keyStart + keyLength + valueLength)]))
                index = keyStart + keyLength + valueLength
            case 2:
                guard index + 5 <= payload.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let keyStart = index + 5
                guard keyStart + keyLength <= payload.endIndex else { return nil }
                operations.append(.delete(key: payload[keyStart..<(keyStart + keyLength)]))
                index = keyStart + keyLength
            default:
                return nil
            }
        }
        return operations
    }
}
