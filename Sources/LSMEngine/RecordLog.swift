import KVStore
import StorageIO

/// Framing shared by the write-ahead log and the manifest:
/// `crc32c u32 | length u32 | type u8 | payload[length]`, little-endian, where
/// the CRC-32C covers the length, type and payload bytes.
enum RecordFormat {
    static let headerSize = 9
    /// Largest payload accepted when reading (a larger length is treated as damage).
    static let maxPayload = 1 << 30

    /// The record starting at `offset`, when it is complete and its checksum holds.
    static func record(in buffer: UnsafeRawBufferPointer, at offset: Int, validTypes: ClosedRange<UInt8>)
        -> (type: UInt8, payload: Range<Int>, end: Int)?
    {
        guard offset + headerSize <= buffer.count else { return nil }
        let crc = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        let type = buffer[offset + 8]
        guard length > 0, length <= maxPayload, validTypes.contains(type) else { return nil }
        let end = offset + headerSize + length
        guard end <= buffer.count else { return nil }
        let covered = UnsafeRawBufferPointer(rebasing: buffer[(offset + 4)..<end])
        guard CRC32C.checksum(covered) == crc else { return nil }
        return (type, (offset + headerSize)..<end, end)
    }

    /// Splits `buffer[start...]` into records. A damaged record with no intact
    /// record anywhere after it is a torn tail: reading stops there and
    /// `validEnd` marks where the intact prefix ends. A damaged record followed
    /// by an intact one is corruption.
    static func readAll(_ buffer: UnsafeRawBufferPointer, from start: Int, validTypes: ClosedRange<UInt8>, path: String)
        throws(StoreError) -> (records: [(type: UInt8, payload: Range<Int>)], validEnd: Int)
    {
        var records: [(type: UInt8, payload: Range<Int>)] = []
        var offset = start
        while offset < buffer.count {
            if let record = record(in: buffer, at: offset, validTypes: validTypes) {
                records.append((record.type, record.payload))
                offset = record.end
                continue
            }
            var probe = offset + 1
            while probe + headerSize < buffer.count {
                if record(in: buffer, at: probe, validTypes: validTypes) != nil {
                    throw .corruption(path: path, reason: "damaged record at offset \(offset) followed by intact records at offset \(probe)")
                }
                probe += 1
            }
            return (records, offset)
        }
        return (records, offset)
    }

    /// Appends one framed record to `output`.
    static func frame(type: UInt8, into output: inout Bytes, payload: (inout Bytes) -> Void) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: headerSize))
        output[start + 8] = type
        payload(&output)
        let length = output.count - start - headerSize
        output.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(length).littleEndian, toByteOffset: start + 4, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 4)...]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start, as: UInt32.self)
        }
    }
}

/// Appends framed records to one file. Owned by one thread at a time (the
/// store's writer under its monitor, or the manifest owner).
final class RecordWriter {
    let file: StorageFile
    /// File number (for logs) used in names and by group commit.
    let number: UInt64
    private(set) var offset: Int
    private var scratch: Bytes = []

    init(file: StorageFile, number: UInt64, offset: Int) {
        self.file = file
        self.number = number
        self.offset = offset
        scratch.reserveCapacity(4096)
    }

    /// Creates the empty log `number` in `directory` and syncs the directory.
    static func createLog(in directory: String, number: UInt64) throws(StoreError) -> RecordWriter {
        let file = try StorageFile(path: LSMFileName.log(number).path(in: directory), mode: .createNew)
        try FileSystem.syncDirectory(directory)
        return RecordWriter(file: file, number: number, offset: 0)
    }

    /// Writes one record with `write()` (no sync); returns the bytes written.
    @discardableResult
    func append(type: UInt8, payload: (inout Bytes) -> Void) throws(StoreError) -> Int {
        scratch.removeAll(keepingCapacity: true)
        RecordFormat.frame(type: type, into: &scratch, payload: payload)
        try file.write(at: offset, scratch)
        offset += scratch.count
        return scratch.count
    }

    /// Writes raw bytes (a file header) at the current end.
    func appendRaw(_ bytes: Bytes) throws(StoreError) {
        try file.write(at: offset, bytes)
        offset += bytes.count
    }

    func sync() throws(StoreError) { try file.sync() }
}
