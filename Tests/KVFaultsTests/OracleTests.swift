import KVStore
import LSMEngine
import StorageIO
import Testing
@testable import KVFaults

struct OracleTests {
    private func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

    @Test func valuesNameTheirWrite() {
        let value = CrashValues.value(key: 42, sequence: 9001)
        #expect(value.withUnsafeBytes { CrashValues.decode($0, key: 42) } == .intact(sequence: 9001))
        if case .wrong = value.withUnsafeBytes({ CrashValues.decode($0, key: 43) }) {} else { Issue.record("another key's value was accepted") }
        var torn = value
        torn[torn.count - 1] ^= 1
        if case .wrong = torn.withUnsafeBytes({ CrashValues.decode($0, key: 42) }) {} else { Issue.record("a flipped byte was accepted") }
        #expect(CrashValues.key(42).withUnsafeBytes { CrashValues.keyIndex($0) } == 42)
    }

    @Test func acknowledgedWritesMustSurvive() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("R\nI 1 P 5\nA 1\nI 2 P 6\nA 2\nI 3 P 5\nA 3\nI 4 P 7\n"))
        // Key 5 shows sequence 1 although 3 was acknowledged; key 7's unacknowledged put may be missing.
        let findings = oracle.check(present: [5: 1, 6: 2], wrongKeys: [], promised: true)
        #expect(findings.lost == 1)
        #expect(findings.wrongValues == 0)
        #expect(findings.holes == 0)
        #expect(findings.acknowledgedChecked == 3)
    }

    @Test func laterIntendedValueAndUnacknowledgedWriteAreAccepted() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("I 1 P 5\nA 1\nI 2 P 5\n"))
        let findings = oracle.check(present: [5: 2], wrongKeys: [], promised: true)
        #expect(findings.lost == 0)
        #expect(findings.wrongValues == 0)
        #expect(oracle.baseline == [5: 2])
    }

    @Test func holesAndNeverWrittenValuesAreFound() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("I 10 P 1\nA 10\nI 11 P 2\nA 11\nI 12 D 3\nA 12\n"))
        // Key 1 lost write 10 while later write 11 survived: a hole. Key 4 holds a value never written.
        let findings = oracle.check(present: [2: 11, 4: 3], wrongKeys: [], promised: false)
        #expect(findings.holes == 1)
        #expect(findings.lost == 1)
        #expect(findings.wrongValues == 1)
    }

    /// With two writer threads (thread = key mod 2), a later sequence number of the other thread
    /// surviving proves nothing about commit order, so only a later write of the same thread makes a hole.
    @Test func holesAreJudgedWithinEachWriterThread() {
        var oracle = CrashOracle(threads: 2)
        // Thread 0 (keys 2, 4) wrote 10 and 12; thread 1 (key 3) wrote 11 and 13.
        _ = oracle.apply(workerLines: lines("I 10 P 2\nI 11 P 3\nA 10\nA 11\nI 12 P 4\nI 13 P 3\nA 13\nA 12\n"))
        // Key 2 lost write 10 and key 4 lost 12, while thread 1's 13 survived: lost, but no hole.
        let crossThread = oracle.check(present: [3: 13], wrongKeys: [], promised: false)
        #expect(crossThread.lost == 2)
        #expect(crossThread.holes == 0)
        _ = oracle.apply(workerLines: lines("I 20 P 2\nA 20\nI 22 P 4\nA 22\n"))
        // Thread 0's write 20 lost while its own later write 22 survived: a hole.
        let sameThread = oracle.check(present: [3: 13, 4: 22], wrongKeys: [], promised: false)
        #expect(sameThread.holes == 1)
        #expect(sameThread.lost == 1)
    }

    /// Each thread of a threaded mix writes only its own keys, numbers its operations apart
    /// from the others', and steps its sequence numbers by the thread count.
    @Test func threadedMixesKeepToTheirKeysAndSequenceNumbers() throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-mix-test")
        defer { try? FileSystem.removeTree(directory) }
        let store = try LSMStore.open(StoreOptions(directory: directory + "/db", durability: .none))
        defer { try? store.close() }
        for thread in 0..<3 {
            var mix = CrashMix(seed: 7, startSequence: 100, keySpace: 60, thread: thread, threads: 3)
            var emitted: [String] = []
            for _ in 0..<200 { try mix.step(store, emit: { emitted.append($0) }) }
            #expect(mix.sequence == 100 + UInt64(thread) + 3 * 200)
            var oracle = CrashOracle(threads: 3)
            _ = oracle.apply(workerLines: emitted.joined().split(separator: "\n"))
            #expect(oracle.operations.count == 200)
            for operation in oracle.operations {
                #expect(operation.sequence % 3 == (100 + UInt64(thread)) % 3)
                for write in operation.writes { #expect(write.key % 3 == thread && write.key < 60, "thread \(thread) wrote key \(write.key)") }
            }
        }
    }

    @Test func deletesAndBaselinesAreTracked() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("I 1 P 1\nA 1\nI 2 P 2\nA 2\n"))
        _ = oracle.check(present: [1: 1, 2: 2], wrongKeys: [], promised: true)
        _ = oracle.apply(workerLines: lines("I 3 D 1\nA 3\n"))
        // The acknowledged delete of key 1 was lost; key 2 disappeared without any delete.
        let findings = oracle.check(present: [1: 1], wrongKeys: [], promised: true)
        #expect(findings.lost == 2)
        #expect(oracle.highestSequence == 3)
    }

    @Test func partlyAppliedBatchIsTorn() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("I 1 B P1,P2,D3\n"))
        let whole = oracle.check(present: [1: 1, 2: 1], wrongKeys: [], promised: true)
        #expect(whole.tornBatches == 0)
        _ = oracle.apply(workerLines: lines("I 2 B P4,P5\n"))
        let torn = oracle.check(present: [1: 1, 2: 1, 4: 2], wrongKeys: [], promised: true)
        #expect(torn.tornBatches == 1)
    }

    @Test func lostBatchOverwrittenLaterIsAHoleNotATornBatch() {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines("I 1 B P1,P2\nA 1\nI 2 P 1\nA 2\n"))
        // Batch 1 was lost entirely; key 1's later write survived.
        let findings = oracle.check(present: [1: 2], wrongKeys: [], promised: false)
        #expect(findings.tornBatches == 0)
        #expect(findings.holes == 1)
    }

    @Test func workerFailuresAreReported() {
        var oracle = CrashOracle()
        let result = oracle.apply(workerLines: lines("O corruption bad block\n"))
        #expect(result.openFailure?.kind == "corruption")
        let failed = oracle.apply(workerLines: lines("R\nI 1 P 1\nF 1 disk full\n"))
        #expect(failed.failure == "F 1 disk full")
    }
}
