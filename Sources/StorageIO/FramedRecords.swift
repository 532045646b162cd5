import KVStore

/// The one record framing of KVBench's hand-written engines (the LSM's log and
/// manifest, the B+tree's redo log; `docs/record-format.md`):
/// `crc32c u32 | length u32 | type u8 | payload[length]`, little-endian, the
/// CRC-32C covering the length, type and payload bytes.
///
/// Reading (`scan`) follows one rule. A record that is incomplete, has a bad
/// checksum, a zero or oversized length or a type the reader does not expect is
/// *damaged*. If no intact record of the same log starts anywhere after it, the
/// log has a torn tail: the scan stops there and reports the length of the valid
/// prefix, which the caller truncates to (or replaces the file) before it
/// appends again. If an intact record of the log does follow, the log is
/// corrupt: `StoreError.corruption`.
public enum FramedRecords {
    /// Bytes before the payload.
    public static let headerSize = 9
    /// Offset of the `length` field in the header.
    public static let lengthOffset = 4
    /// Offset of the `type` field in the header.
    public static let typeOffset = 8
    /// Largest payload accepted when reading (a larger length is damage).
    public static let maxPayload = 1 << 30

    /// One intact record: where it starts, its type, and its payload's bytes in the scanned buffer.
    public struct Record: Sendable, Equatable {
        public var start: Int
        public var type: UInt8
        public var payload: Range<Int>

        /// Where the next record starts.
        public var end: Int { payload.upperBound }
    }

    /// The intact records of a log, in order, and where its valid prefix ends
    /// (the buffer's length unless the log has a torn tail).
    public struct Scan: Sendable {
        public var records: [Record]
        public var validEnd: Int
    }

    /// The record starting at `offset`, when it is complete, its checksum holds and its type is in `types`.
    public static func record(in buffer: UnsafeRawBufferPointer, at offset: Int, types: ClosedRange<UInt8>) -> Record? {
        guard offset >= 0, offset + headerSize <= buffer.count else { return nil }
        let crc = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + lengthOffset, as: UInt32.self)))
        let type = buffer[offset + typeOffset]
        guard length > 0, length <= maxPayload, types.contains(type) else { return nil }
        let end = offset + headerSize + length
        guard end <= buffer.count else { return nil }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[(offset + lengthOffset)..<end])) == crc else { return nil }
        return Record(start: offset, type: type, payload: (offset + headerSize)..<end)
    }

    /// Splits `buffer[start...]` into records by the rule above. `sameLog(first, candidate)`
    /// tells, for a log file that is reused (the B+tree's), whether an intact record
    /// belongs to the log begun by the first record (both given as payloads); a record
    /// that does not ends the log like a torn tail. `path` names the file in errors.
    public static func scan(_ buffer: UnsafeRawBufferPointer, from start: Int = 0, types: ClosedRange<UInt8>, path: String,
                            sameLog: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool)? = nil) throws(StoreError) -> Scan
    {
        var records: [Record] = []
        func belongs(_ record: Record) -> Bool {
            guard let sameLog, let first = records.first else { return true }
            return sameLog(UnsafeRawBufferPointer(rebasing: buffer[first.payload]), UnsafeRawBufferPointer(rebasing: buffer[record.payload]))
        }
        var offset = start
        while offset < buffer.count {
            if let record = record(in: buffer, at: offset, types: types) {
                guard belongs(record) else { break }
                records.append(record)
                offset = record.end
                continue
            }
            var probe = offset + 1
            while probe + headerSize < buffer.count {
                if let later = record(in: buffer, at: probe, types: types), belongs(later) {
                    throw .corruption(path: path, reason: "damaged record at offset \(offset) followed by intact records at offset \(probe)")
                }
                probe += 1
            }
            break
        }
        return Scan(records: records, validEnd: offset)
    }

    /// Appends one framed record to `output`; `payload` appends the payload bytes.
    public static func frame(type: UInt8, into output: inout Bytes, payload: (inout Bytes) -> Void) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: headerSize))
        output[start + typeOffset] = type
        payload(&output)
        let length = output.count - start - headerSize
        output.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(length).littleEndian, toByteOffset: start + lengthOffset, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + lengthOffset)...]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start, as: UInt32.self)
        }
    }
}

/// Appends framed records (`FramedRecords`) to one file, one `pwrite` per record.
/// Owned by one thread at a time (the caller serializes appends), so its state skips the
/// runtime exclusivity checks (`@exclusivity(unchecked)`).
public final class FramedRecordWriter {
    public let file: StorageFile
    /// Where the next record goes.
    @exclusivity(unchecked) public private(set) var offset: Int
    /// Bytes written through this writer.
    @exclusivity(unchecked) public private(set) var bytesWritten: UInt64 = 0
    @exclusivity(unchecked) private var scratch: Bytes = []

    public init(file: StorageFile, offset: Int) {
        self.file = file
        self.offset = offset
        scratch.reserveCapacity(4096)
    }

    /// Writes one record with `write()` (no sync); returns the bytes written.
    @discardableResult
    public func append(type: UInt8, payload: (inout Bytes) -> Void) throws(StoreError) -> Int {
        scratch.removeAll(keepingCapacity: true)
        FramedRecords.frame(type: type, into: &scratch, payload: payload)
        try file.write(at: offset, scratch)
        offset += scratch.count
        bytesWritten += UInt64(scratch.count)
        return scratch.count
    }

    /// Writes raw bytes (a file header) at the current end.
    public func appendRaw(_ bytes: Bytes) throws(StoreError) {
        try file.write(at: offset, bytes)
        offset += bytes.count
        bytesWritten += UInt64(bytes.count)
    }

    /// Cuts the file to `length` (a torn tail, or 0 to reuse the file); later records go there.
    public func truncate(to length: Int) throws(StoreError) {
        try file.truncate(to: length)
        offset = length
    }

    /// Makes what was written durable (`fdatasync`).
    public func sync() throws(StoreError) { try file.sync() }
}
