#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KVStore

/// The shape of a YCSB record: `fieldcount` fields named `fieldnameprefix` + index, each of a length
/// drawn from `fieldlengthdistribution`, and whether reads and updates touch all fields.
///
/// A record is stored as one value, encoded as YCSB's key-value bindings (RocksDB's among them) encode
/// a record: for each field in index order, a 4-byte big-endian name length, the name, a 4-byte
/// big-endian data length, the data. Ten fields of 100 bytes named field0…field9 are 1,000 bytes of
/// field data in a 1,140-byte value.
public struct YCSBRecordLayout: Sendable, Hashable {
    /// `fieldlengthdistribution`.
    public enum FieldLengthDistribution: String, Sendable, Hashable, CaseIterable {
        case constant, uniform, zipfian
    }

    /// `fieldcount` (YCSB's default 10).
    public var fieldCount: Int
    /// `fieldlength`: the length of every field (constant), or the longest (uniform, zipfian). Default 100.
    public var fieldLength: Int
    /// `minfieldlength`: the shortest field for uniform and zipfian (default 1).
    public var minFieldLength: Int
    /// `fieldlengthdistribution` (default constant).
    public var fieldLengthDistribution: FieldLengthDistribution
    /// `fieldnameprefix` (default "field").
    public var fieldNamePrefix: String
    /// `readallfields` (default true): false reads one random field.
    public var readAllFields: Bool
    /// `writeallfields` (default false): false updates one random field (a read of the record, then a
    /// write of the whole record with that field changed, as YCSB's key-value bindings do it).
    public var writeAllFields: Bool

    /// YCSB's defaults: 10 fields of 100 bytes, constant, all fields read, one field written.
    public init(fieldCount: Int = 10, fieldLength: Int = 100, minFieldLength: Int = 1,
                fieldLengthDistribution: FieldLengthDistribution = .constant, fieldNamePrefix: String = "field",
                readAllFields: Bool = true, writeAllFields: Bool = false) {
        self.fieldCount = fieldCount
        self.fieldLength = fieldLength
        self.minFieldLength = minFieldLength
        self.fieldLengthDistribution = fieldLengthDistribution
        self.fieldNamePrefix = fieldNamePrefix
        self.readAllFields = readAllFields
        self.writeAllFields = writeAllFields
    }

    /// The name of field `index`.
    public func fieldName(_ index: Int) -> String { fieldNamePrefix + String(index) }

    /// Bytes of framing and names in one record (everything but the field data).
    public var overheadBytes: Int {
        (0..<fieldCount).reduce(0) { $0 + 8 + fieldName($1).utf8.count }
    }

    /// The expected length of one field.
    public var meanFieldLength: Double {
        switch fieldLengthDistribution {
        case .constant: return Double(fieldLength)
        case .uniform: return Double(minFieldLength + fieldLength) / 2
        case .zipfian:
            // Zipf law with YCSB's constant over min...max, the most likely length the shortest.
            var weights = 0.0
            var total = 0.0
            for (rank, length) in (minFieldLength...fieldLength).enumerated() {
                let weight = 1 / pow(Double(rank + 1), YCSBZipfian.constant)
                weights += weight
                total += weight * Double(length)
            }
            return total / weights
        }
    }

    /// Field data of one record: `fieldcount × fieldlength` when constant, the expected total otherwise.
    public var recordBytes: Double { Double(fieldCount) * meanFieldLength }

    /// The stored value's length: field data plus the encoding's names and lengths.
    public var valueBytes: Double { recordBytes + Double(overheadBytes) }

    /// The longest value a record can take.
    public var maximumValueBytes: Int { overheadBytes + fieldCount * fieldLength }

    /// One line for reports, e.g. `records of 10 fields × 100 B = 1,000 B (stored as 1,140-byte values)`.
    public var summary: String {
        let lengths = fieldLengthDistribution == .constant
            ? "\(fieldLength) B" : "\(minFieldLength)–\(fieldLength) B \(fieldLengthDistribution.rawValue)"
        return "records of \(fieldCount) fields × \(lengths) = \(Int(recordBytes.rounded())) B (stored as \(Int(valueBytes.rounded()))-byte values)"
    }
}

/// Builds and changes YCSB records in a caller-owned buffer: deterministic data (windows of
/// `ValueGenerator`'s random pool, one window per record and version), no allocation per record once
/// the buffer has `layout.maximumValueBytes` capacity.
public struct YCSBRecordBuilder: Sendable {
    public let layout: YCSBRecordLayout
    @usableFromInline let data: ValueGenerator
    /// Per field: the name length (big-endian) and the name bytes.
    @usableFromInline let headers: [[UInt8]]
    @usableFromInline let constant: Bool
    @usableFromInline let fixedLength: Int
    @usableFromInline var lengths: YCSBZipfian?

    /// A builder for `layout`; `seed` chooses the data.
    public init(layout: YCSBRecordLayout, seed: UInt64) {
        self.layout = layout
        data = ValueGenerator(valueSize: layout.fieldCount * layout.fieldLength, seed: seed)
        headers = (0..<layout.fieldCount).map { index in
            let name = Array(layout.fieldName(index).utf8)
            return withUnsafeBytes(of: UInt32(name.count).bigEndian) { Array($0) } + name
        }
        constant = layout.fieldLengthDistribution == .constant
        fixedLength = layout.maximumValueBytes
        lengths = layout.fieldLengthDistribution == .zipfian
            ? YCSBZipfian(min: Int64(layout.minFieldLength), max: Int64(layout.fieldLength)) : nil
    }

    /// A value buffer with room for the longest record.
    public func makeBuffer() -> Bytes {
        var value = Bytes()
        value.reserveCapacity(layout.maximumValueBytes)
        return value
    }

    /// The next field length (`fieldlengthgenerator.nextValue()`).
    @inlinable
    public mutating func nextFieldLength(random: inout WorkloadRandom) -> Int {
        switch layout.fieldLengthDistribution {
        case .constant: return layout.fieldLength
        case .uniform:
            let span = UInt64(layout.fieldLength - layout.minFieldLength + 1)
            return layout.minFieldLength + Int(random.next(below: span))
        case .zipfian:
            return Int(lengths!.next(uniform: random.nextDouble()))
        }
    }

    /// Writes the whole record of (recordID, version) into `value` (YCSB's `buildValues`).
    @inlinable
    public mutating func build(_ value: inout Bytes, recordID: UInt64, version: UInt64, random: inout WorkloadRandom) {
        let from = data.offset(recordID: recordID, version: version)
        if constant {
            if value.count != fixedLength { value.resizeKeepingStorage(to: fixedLength) }
            let fieldLength = layout.fieldLength
            value.withUnsafeMutableBytes { buffer in
                data.pool.withUnsafeBytes { pool in
                    var target = buffer.baseAddress.unsafelyUnwrapped
                    var source = pool.baseAddress.unsafelyUnwrapped + from
                    for header in headers {
                        header.withUnsafeBytes { target.copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: $0.count) }
                        target += header.count
                        target.storeBytes(of: UInt32(fieldLength).bigEndian, as: UInt32.self)
                        (target + 4).copyMemory(from: source, byteCount: fieldLength)
                        target += 4 + fieldLength
                        source += fieldLength
                    }
                }
            }
            return
        }
        value.removeAll(keepingCapacity: true)
        var dataOffset = from
        for header in headers {
            let length = nextFieldLength(random: &random)
            value.append(contentsOf: header)
            withUnsafeBytes(of: UInt32(length).bigEndian) { value.append(contentsOf: $0) }
            data.pool.withUnsafeBytes { value.append(contentsOf: $0[dataOffset..<(dataOffset + length)]) }
            dataOffset += length
        }
    }

    /// Turns `value`, a copy of a stored record, into that record with field `field` given new data
    /// (YCSB's `buildSingleValue` merged into the record, as its key-value bindings do). A value that is
    /// not a record of this layout is rebuilt whole.
    @inlinable
    public mutating func changeField(_ field: Int, in value: inout Bytes, recordID: UInt64, version: UInt64,
                                     random: inout WorkloadRandom) {
        let length = nextFieldLength(random: &random)
        guard let range = Self.fieldRange(field, in: value), constant ? value.count == fixedLength : true else {
            build(&value, recordID: recordID, version: version, random: &random)
            return
        }
        let from = data.offset(recordID: recordID, version: version)
        if range.count == length {
            value.withUnsafeMutableBytes { buffer in
                data.pool.withUnsafeBytes { pool in
                    (buffer.baseAddress.unsafelyUnwrapped + range.lowerBound)
                        .copyMemory(from: pool.baseAddress.unsafelyUnwrapped + from, byteCount: length)
                }
            }
            return
        }
        value.withUnsafeMutableBytes { buffer in
            buffer.storeBytes(of: UInt32(length).bigEndian, toByteOffset: range.lowerBound - 4, as: UInt32.self)
        }
        data.pool.withUnsafeBytes { value.replaceSubrange(range, with: $0[from..<(from + length)]) }
    }

    /// The bytes of field `field`'s data in an encoded record, or nil when `value` is not one.
    @inlinable
    public static func fieldRange(_ field: Int, in value: Bytes) -> Range<Int>? {
        value.withUnsafeBytes { fieldRange(field, in: $0) }
    }

    /// The bytes of field `field`'s data in an encoded record, or nil when `value` is not one.
    @inlinable
    public static func fieldRange(_ field: Int, in value: UnsafeRawBufferPointer) -> Range<Int>? {
        var offset = 0
        var index = 0
        while offset + 4 <= value.count {
            let nameLength = Int(UInt32(bigEndian: value.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4 + nameLength
            guard offset + 4 <= value.count else { return nil }
            let dataLength = Int(UInt32(bigEndian: value.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            guard offset + dataLength <= value.count else { return nil }
            if index == field { return offset..<(offset + dataLength) }
            offset += dataLength
            index += 1
        }
        return nil
    }
}
