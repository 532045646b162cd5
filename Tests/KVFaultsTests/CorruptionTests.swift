import KVStore
import StorageIO
import Testing
@testable import KVFaults

struct CorruptionTests {
    private func history() -> CorruptTest.Expectation {
        var expectation = CorruptTest.Expectation(keySpace: 4)
        expectation.append([(0, true), (1, true)])   // step 1: batch
        expectation.append([(2, true)])             // step 2
        expectation.append([(0, true)])             // step 3: overwrite
        expectation.append([(1, false)])            // step 4: delete
        return expectation
    }

    @Test func finalStateAndPrefixes() {
        let expectation = history()
        #expect(expectation.final == [0: 3, 2: 2])
        #expect(expectation.consistentPrefixes(present: [0: 3, 2: 2]) == [4])
        // The last two steps lost: a prefix of two.
        #expect(expectation.consistentPrefixes(present: [0: 1, 1: 1, 2: 2]) == [2])
        // Empty store: the empty prefix.
        #expect(expectation.consistentPrefixes(present: [:]) == [0])
        // Key 0 new but key 2 missing: no prefix gives that.
        #expect(expectation.consistentPrefixes(present: [0: 3]).isEmpty)
        // Half a batch: no prefix.
        #expect(expectation.consistentPrefixes(present: [0: 1]).isEmpty)
        // A key whose read failed loudly is not held against the store.
        #expect(expectation.consistentPrefixes(present: [0: 3], ignoring: [2]) == [4])
    }

    @Test func classification() {
        let expectation = history()
        var seen = CrashTest.Verification()
        seen.openKind = "ok"
        seen.present = [0: 3, 2: 2]
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "recovered_correct")
        seen.present = [0: 1, 1: 1, 2: 2]
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "recovered_with_loss")
        seen.present = [0: 1, 2: 2]
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "wrong_values")
        seen.present = [0: 3]
        seen.unreadableKeys = [2]
        seen.corruptReads = 1
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "detected")
        seen.wrongKeys = [0]
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "wrong_values")
        seen.crashSignal = 11
        #expect(CorruptTest.classify(seen, expected: expectation).outcome == "crash")
        var failed = CrashTest.Verification()
        failed.openKind = "corruption"
        #expect(CorruptTest.classify(failed, expected: expectation).outcome == "detected")
    }

    @Test func framedLogRecordsAndDamage() throws {
        // Three framed records (FramedRecords: crc u32 | length u32 | type u8 | payload).
        var bytes: Bytes = []
        for length in [5, 9, 3] {
            FramedRecords.frame(type: 1, into: &bytes) { $0 += Bytes(repeating: 7, count: length) }
        }
        let scan = try bytes.withUnsafeBytes { try FramedRecords.scan($0, types: 1...1, path: "log") }
        #expect(scan.records.map(\.start) == [0, 14, 32])
        let cases = CorruptionPlans.logCases(file: "000001.log", size: bytes.count, records: [0, 14, 32], label: "log")
        #expect(cases.contains { $0.action == .truncate(length: 14) })
        #expect(cases.contains { $0.action == .truncate(length: 24) })

        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-damage")
        defer { try? FileSystem.removeTree(directory) }
        let file = try StorageFile(path: directory + "/000001.log", mode: .createNew)
        try file.write(at: 0, bytes)
        try CorruptionCase(name: "flip", file: "000001.log", action: .flip(offset: 9, mask: 0xFF)).apply(in: directory)
        try CorruptionCase(name: "zeros", file: "000001.log", action: .appendZeros(count: 10)).apply(in: directory)
        let damaged = try StorageFile(path: directory + "/000001.log", mode: .readOnly)
        #expect(try damaged.size() == bytes.count + 10)
        #expect(try damaged.read(at: 9, count: 1) == [7 ^ 0xFF])
        try CorruptionCase(name: "cut", file: "000001.log", action: .truncate(length: 14)).apply(in: directory)
        #expect(try damaged.size() == 14)
    }

    @Test func levelDBLogRecords() {
        // Two records with 7-byte headers (crc u32 | length u16 | type u8), then zero padding.
        var bytes: Bytes = []
        for length in [10, 4] {
            bytes += [0, 0, 0, 0]
            withUnsafeBytes(of: UInt16(length).littleEndian) { bytes += $0 }
            bytes.append(1)
            bytes += Bytes(repeating: 1, count: length)
        }
        bytes += Bytes(repeating: 0, count: 20)
        #expect(CorruptionPlans.logRecordOffsets(bytes) == [0, 17])
    }
}
