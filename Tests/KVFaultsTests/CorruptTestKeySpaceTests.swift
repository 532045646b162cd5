@testable import BTreeEngine
import KVStore
@_spi(Testing) import LSMEngine
import StorageIO
import Testing
import WiredTigerEngine
@testable import KVFaults

/// `kvbench corrupt-test` for the hand-written engines at several key spaces, in process: each case
/// damages a fresh copy of the database and reads it back; no case may give a wrong value.
/// (Key spaces 10,000 and 100,000 run in `.ci/run` with the release build: see docs/durability.md.)
struct CorruptTestKeySpaceTests {
    /// Builds the closed and the abandoned database, damages copies case by case and classifies
    /// what a reader sees; returns the cases that gave wrong values.
    private func wrongCases<Store: KeyValueStore>(_ type: Store.Type, keySpace: Int, plan: (String) throws(StoreError) -> [CorruptionCase],
                                                  abandon: @escaping (Store) -> Void) throws -> (cases: Int, wrong: [String]) {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-corrupt")
        defer { try? FileSystem.removeTree(work) }
        let memoryBudget = 4 << 20
        let expected = try CorruptTest.build(type, directory: work + "/closed", keySpace: keySpace, memoryBudget: memoryBudget)
        _ = try CorruptTest.build(type, directory: work + "/abandoned", keySpace: keySpace, memoryBudget: memoryBudget, beforeClose: abandon)
        var cases = try plan(work + "/closed").filter { !$0.targetsLog }.map { ($0, work + "/closed") }
        cases += try plan(work + "/abandoned").filter(\.targetsLog).map { ($0, work + "/abandoned") }
        var wrong: [String] = []
        for (item, source) in [(CorruptionCase(name: "undamaged", file: "", action: .appendZeros(count: 0)), work + "/closed")] + cases {
            let copy = work + "/case"
            try CorruptTest.copyDirectory(source, to: copy)
            if !item.file.isEmpty { try item.apply(in: copy) }
            var output: [String] = []
            CrashVerifier.verify(type, directory: copy, durability: .fsync, memoryBudget: memoryBudget, keySpace: keySpace,
                                 create: false) { output.append($0) }
            let seen = CrashTest.parseVerification(output.joined().split(separator: "\n"), crashSignal: nil)
            let (outcome, detail) = CorruptTest.classify(seen, expected: expected)
            if outcome == "wrong_values" || (item.file.isEmpty && outcome != "recovered_correct") {
                wrong.append("\(item.name) [\(item.file): \(item.action)] \(outcome): \(detail)")
            }
        }
        return (cases.count, wrong)
    }

    @Test(arguments: [100, 300, 1000, 3000])
    func lsmHasNoWrongValues(keySpace: Int) throws {
        let result = try wrongCases(LSMStore.self, keySpace: keySpace, plan: CorruptionPlans.from(LSMStore.layout)) { $0.simulateCrash() }
        #expect(result.cases >= 15)
        #expect(result.wrong.isEmpty, "\(result.wrong.joined(separator: "\n"))")
    }

    @Test(arguments: [100, 300, 1000, 3000])
    func btreeHasNoWrongValues(keySpace: Int) throws {
        let result = try wrongCases(BTreeStore.self, keySpace: keySpace, plan: CorruptionPlans.from(BTreeStore.layout)) { $0.abandonWithoutClosing() }
        #expect(result.cases >= 12)
        #expect(result.wrong.isEmpty, "\(result.wrong.joined(separator: "\n"))")
    }

    /// WiredTiger checkpoints at close, so the "abandoned" copy is closed too: its log cases find
    /// the records the log still holds (the data is also in the checkpoint).
    @Test func wiredTigerHasNoWrongValues() throws {
        let result = try wrongCases(WiredTigerStore.self, keySpace: 3000, plan: CorruptionPlans.wiredTiger) { _ in }
        #expect(result.cases >= 12)
        #expect(result.wrong.isEmpty, "\(result.wrong.joined(separator: "\n"))")
    }

    @Test func wiredTigerLSMHasNoWrongValues() throws {
        let result = try wrongCases(WiredTigerLSMStore.self, keySpace: 3000, plan: CorruptionPlans.wiredTiger) { _ in }
        #expect(result.cases >= 12)
        #expect(result.wrong.isEmpty, "\(result.wrong.joined(separator: "\n"))")
    }
}
