import KVStore
import StorageIO
import Testing

/// The one framed-record rule (docs/record-format.md): a damaged last record is a torn tail
/// (the scan stops and reports the valid prefix), a damaged record before an intact one is
/// corruption, and a record of another use of the file ends the log.
@Suite struct FramedRecordsTests {
    /// Ten records of type 2; record `i` has `i + 3` bytes of payload, the first byte its use `use`.
    func log(use: UInt8) -> (bytes: Bytes, starts: [Int]) {
        var bytes: Bytes = []
        var starts: [Int] = []
        for index in 0..<10 {
            starts.append(bytes.count)
            FramedRecords.frame(type: 2, into: &bytes) { $0 += [use] + Bytes(repeating: UInt8(index), count: index + 2) }
        }
        return (bytes, starts)
    }

    func scan(_ bytes: Bytes, sameLog: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool)? = nil) throws(StoreError) -> FramedRecords.Scan {
        try bytes.withBorrowedBytes { (raw) throws(StoreError) in try FramedRecords.scan(raw, types: 2...2, path: "log", sameLog: sameLog) }
    }

    @Test func recordsRoundTrip() throws {
        let (bytes, starts) = log(use: 1)
        let result = try scan(bytes)
        #expect(result.records.map(\.start) == starts)
        #expect(result.validEnd == bytes.count)
        #expect(result.records.map(\.payload.count) == (0..<10).map { $0 + 3 })
        #expect(result.records.allSatisfy { $0.type == 2 })
    }

    @Test func tornTailStopsAtTheValidPrefix() throws {
        let (bytes, starts) = log(use: 1)
        let cut = try scan(Bytes(bytes.dropLast(2)))
        #expect(cut.records.count == 9 && cut.validEnd == starts[9])
        let zeros = try scan(bytes + Bytes(repeating: 0, count: 64))
        #expect(zeros.records.count == 10 && zeros.validEnd == bytes.count)
        var lastDamaged = bytes
        lastDamaged[starts[9] + FramedRecords.headerSize] ^= 0x01
        #expect(try scan(lastDamaged).validEnd == starts[9])
    }

    @Test func damageBeforeIntactRecordsIsCorruption() throws {
        let (bytes, starts) = log(use: 1)
        for offset in [starts[4], starts[4] + FramedRecords.lengthOffset, starts[4] + FramedRecords.typeOffset, starts[4] + FramedRecords.headerSize] {
            var damaged = bytes
            damaged[offset] ^= 0x04
            #expect(throws: StoreError.self) { try scan(damaged) }
        }
    }

    @Test func recordsOfAnotherUseEndTheLog() throws {
        let first = log(use: 1)
        let second = log(use: 2)
        // The first use, then the second use's bytes from inside its first record.
        let mixed = first.bytes + Bytes(second.bytes[5...])
        let sameUse: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool = { $0.first == $1.first }
        let result = try scan(mixed, sameLog: sameUse)
        #expect(result.records.count == 10 && result.validEnd == first.bytes.count)
        // Without telling the uses apart, the same bytes read as a damaged log.
        #expect(throws: StoreError.self) { try scan(mixed) }
        // Intact records of another use right after the last one end the log as well.
        #expect(try scan(first.bytes + second.bytes, sameLog: sameUse).records.count == 10)
    }
}
