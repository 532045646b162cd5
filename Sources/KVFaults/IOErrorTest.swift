import KVStore
import StorageFaults
import StorageIO

/// I/O errors injected through StorageIO's fault layer (ENOSPC or EIO on write,
/// EIO on fsync) into an engine whose file I/O goes through StorageIO, with
/// `fsync` durability. The failing write must not be acknowledged, a failed
/// fsync must never be retried and trusted, and after a power loss and a reopen
/// every acknowledged write must be there.
public enum IOErrorTest {
    /// What one scenario showed.
    public struct Outcome: Sendable, Equatable, CustomStringConvertible {
        public var fault: String
        public var acknowledged = 0
        public var failedOperations = 0
        public var injected = 0
        public var reopened = false
        public var lost = 0
        public var wrongValues = 0
        public var notes: [String] = []

        /// No acknowledged write lost, nothing wrong, the store reopened, and the fault really fired.
        public var passed: Bool { reopened && lost == 0 && wrongValues == 0 && injected > 0 && failedOperations > 0 }

        public var description: String {
            "\(fault): injected \(injected), failed operations \(failedOperations), acknowledged \(acknowledged), reopened \(reopened), lost \(lost), wrong \(wrongValues)"
                + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")")
        }
    }

    /// Runs `operations` steps of the crash mix with `fault` armed, then a power loss,
    /// a reopen without faults and the oracle's check.
    public static func run<Store: KeyValueStore>(_ type: Store.Type, directory: String, fault: FaultInjection.Fault,
                                                 operations: Int = 300, keySpace: Int = 100, seed: UInt64 = 5) throws(StoreError) -> Outcome {
        var outcome = Outcome(fault: "\(fault.operation) errno \(fault.errno) after \(fault.skip) calls")
        try FileSystem.removeTree(directory)
        // Start from a durable, empty store.
        try Store.open(StoreOptions(directory: directory, durability: .fsync)).close()
        try FaultInjection.enable(root: directory, graveyard: directory + ".graveyard")
        FaultInjection.inject(fault)
        var lines: [String] = []
        var mix = CrashMix(seed: seed, startSequence: 1, keySpace: keySpace)
        do {
            let store = try Store.open(StoreOptions(directory: directory, durability: .fsync))
            withExtendedLifetime(store) {
                for _ in 0..<operations {
                    do throws(StoreError) { try mix.step(store, emit: { lines.append($0) }) } catch { outcome.failedOperations += 1 }
                }
                outcome.injected = FaultInjection.injectedFailures
                FaultInjection.simulatePowerLoss()
            }
        } catch {
            outcome.injected = FaultInjection.injectedFailures
            outcome.notes.append("open with the fault armed failed: \(error)")
            outcome.failedOperations += 1
            FaultInjection.simulatePowerLoss()
        }
        FaultInjection.disable()
        check(type, directory: directory, lines: lines, keySpace: keySpace, into: &outcome)
        return outcome
    }

    /// A disk that stays full: `operations` steps of the crash mix with every write matching
    /// `fault` failing (ENOSPC) after its first `skip` calls, the store closed (which may fail),
    /// then an open while the disk is still full, which may fail but must not destroy anything
    /// (the open that truncated a log it could not rewrite lost acknowledged commits), and last
    /// an open after space is freed, which must find every acknowledged write. No power loss:
    /// the process lives on, so a file changed or truncated by the failed open stays changed.
    public static func fullDisk<Store: KeyValueStore>(_ type: Store.Type, directory: String, fault: FaultInjection.Fault,
                                                      settings: [String: String] = [:], operations: Int = 600,
                                                      keySpace: Int = 200, seed: UInt64 = 9) throws(StoreError) -> Outcome {
        var outcome = Outcome(fault: "disk full: \(fault.operation) errno \(fault.errno) after \(fault.skip) calls" + (fault.pathContains.map { " on \($0)" } ?? ""))
        try FileSystem.removeTree(directory)
        let options = StoreOptions(directory: directory, durability: .fsync, memoryBudget: 1 << 20, settings: settings)
        try Store.open(options).close()
        try FaultInjection.enable(root: directory, graveyard: directory + ".graveyard")
        FaultInjection.inject(fault)
        var lines: [String] = []
        var mix = CrashMix(seed: seed, startSequence: 1, keySpace: keySpace)
        do {
            let store = try Store.open(options)
            for _ in 0..<operations {
                do throws(StoreError) { try mix.step(store, emit: { lines.append($0) }) } catch { outcome.failedOperations += 1 }
            }
            do { try store.close() } catch { outcome.notes.append("close on the full disk failed") }
        } catch {
            outcome.notes.append("open with the disk full failed: \(error)")
            outcome.failedOperations += 1
        }
        do {
            let store = try Store.open(options)
            try? store.close()
            outcome.notes.append("reopened while the disk was full")
        } catch {
            outcome.notes.append("reopen while the disk was full failed (allowed)")
        }
        outcome.injected = FaultInjection.injectedFailures
        FaultInjection.disable()
        try FileSystem.removeTree(directory + ".graveyard")
        check(type, directory: directory, lines: lines, keySpace: keySpace, into: &outcome)
        return outcome
    }

    /// Reopens `directory` without faults and checks what it holds against the operations in `lines`.
    private static func check<Store: KeyValueStore>(_ type: Store.Type, directory: String, lines: [String], keySpace: Int,
                                                    into outcome: inout Outcome) {
        var oracle = CrashOracle()
        _ = oracle.apply(workerLines: lines.joined().split(separator: "\n"))
        outcome.acknowledged = oracle.operations.filter(\.acknowledged).count
        var output: [String] = []
        CrashVerifier.verify(type, directory: directory, durability: .fsync, memoryBudget: StoreOptions.defaultMemoryBudget,
                             keySpace: keySpace, create: false) { output.append($0) }
        let verification = CrashTest.parseVerification(output.joined().split(separator: "\n"), crashSignal: nil)
        guard verification.openKind == "ok" else {
            outcome.notes.append("reopen failed: \(verification.openMessage)")
            return
        }
        outcome.reopened = true
        let findings = oracle.check(present: verification.present, wrongKeys: verification.wrongKeys,
                                    unreadableKeys: verification.unreadableKeys, promised: true)
        outcome.lost = findings.lost
        outcome.wrongValues = findings.wrongValues + verification.unexpectedEntries + findings.tornBatches
        outcome.notes += findings.details.prefix(3)
    }
}
