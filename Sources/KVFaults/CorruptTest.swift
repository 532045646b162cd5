#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVProcess
import KVStore
import StorageIO

/// One damage done to one file of a closed database.
public struct CorruptionCase: Sendable, Codable, Equatable {
    /// What is damaged, for example `log: bit flip in the middle`.
    public var name: String
    /// The file, relative to the database directory.
    public var file: String
    public var action: Action
    /// The case damages a log (so it is applied to the copy abandoned without close, whose log holds the last writes).
    public var targetsLog = false
    /// The damaged copy is of the database abandoned without close (killed), not of the closed one.
    public var fromCrashedCopy = false

    /// The damage.
    public enum Action: Sendable, Codable, Equatable, CustomStringConvertible {
        /// Inverts the bits of `mask` in the byte at `offset`.
        case flip(offset: Int, mask: UInt8)
        /// Cuts the file to `length` bytes.
        case truncate(length: Int)
        /// Appends `count` zero bytes.
        case appendZeros(count: Int)
        /// Appends `count` pseudo-random bytes.
        case appendGarbage(count: Int)

        public var description: String {
            switch self {
            case .flip(let offset, let mask): return "flip bits 0x\(String(mask, radix: 16)) at offset \(offset)"
            case .truncate(let length): return "truncate to \(length) bytes"
            case .appendZeros(let count): return "append \(count) zero bytes"
            case .appendGarbage(let count): return "append \(count) garbage bytes"
            }
        }
    }

    public init(name: String, file: String, action: Action, targetsLog: Bool = false) {
        self.name = name
        self.file = file
        self.action = action
        self.targetsLog = targetsLog
    }

    /// Applies the damage to `directory/file`.
    func apply(in directory: String) throws(StoreError) {
        let path = directory + "/" + file
        let handle = try StorageFile(path: path, mode: .readWrite)
        let size = try handle.size()
        switch action {
        case .flip(let offset, let mask):
            guard offset < size else { throw .invalidOption(name: "corruption offset", reason: "\(offset) is past the end of \(file) (\(size) bytes)") }
            var byte = try handle.read(at: offset, count: 1)
            byte[0] ^= mask
            try handle.write(at: offset, byte)
        case .truncate(let length):
            try handle.truncate(to: length)
        case .appendZeros(let count):
            try handle.write(at: size, Bytes(repeating: 0, count: count))
        case .appendGarbage(let count):
            var random = SplitMix64(seed: UInt64(count) &* 7919)
            try handle.write(at: size, (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }
}

/// What reading a damaged database gave.
public struct CorruptionOutcome: Sendable, Codable, Equatable {
    public var name: String
    public var file: String
    public var action: String
    /// `detected` (a clear error), `recovered_correct`, `recovered_with_loss` (no error, no wrong
    /// value, some keys silently missing), `wrong_values` or `crash`.
    public var outcome: String
    public var detail: String
}

/// The outcome of `kvbench corrupt-test` for one engine.
public struct CorruptTestReport: Sendable, Codable, Equatable {
    public var engine: String
    public var injected = 0
    public var detected = 0
    public var recoveredCorrect = 0
    public var recoveredWithLoss = 0
    public var wrongValues = 0
    public var crashes = 0
    /// `pass`, `FAIL`, or for an engine without checksums `undetected corruption (no checksums)`.
    public var status = "pass"
    public var notes: [String] = []
    public var cases: [CorruptionOutcome] = []

    enum CodingKeys: String, CodingKey {
        case engine, injected, detected
        case recoveredCorrect = "recovered_correct"
        case recoveredWithLoss = "recovered_with_loss"
        case wrongValues = "wrong_values"
        case crashes, status, notes, cases
    }

    public init(engine: String) { self.engine = engine }

    /// The report as text: the totals, then one line per case.
    public var text: String {
        var lines = [
            "corrupt-test \(engine)",
            "  injected             \(injected)",
            "  detected             \(detected)",
            "  recovered_correct    \(recoveredCorrect)",
            "  recovered_with_loss  \(recoveredWithLoss)",
            "  wrong_values         \(wrongValues)",
            "  crashes              \(crashes)",
            "  status               \(status)",
        ]
        for note in notes { lines.append("  note: \(note)") }
        lines.append("  cases:")
        for item in cases {
            let padded = item.outcome + String(repeating: " ", count: max(0, 19 - item.outcome.count))
            lines.append("    \(padded) \(item.name) [\(item.file): \(item.action)] \(item.detail)")
        }
        return lines.joined(separator: "\n")
    }
}

/// `kvbench corrupt-test`: build a database, then for each case damage a fresh copy
/// and read everything back in a child process.
public enum CorruptTest {
    /// The history of writes that built a corruption test database, so a reader's view can be
    /// checked against every prefix of it: a damaged log may lose its tail, never reorder it.
    public struct Expectation: Sendable {
        /// Each step is one atomic write (a put, a delete or a batch); a put's value carries
        /// sequence number = step index + 1.
        public private(set) var steps: [[(key: Int, isPut: Bool)]] = []
        public let keySpace: Int

        init(keySpace: Int) { self.keySpace = keySpace }

        mutating func append(_ step: [(key: Int, isPut: Bool)]) { steps.append(step) }

        var nextSequence: UInt64 { UInt64(steps.count + 1) }

        /// The contents after all steps.
        public var final: [Int: UInt64] {
            var state: [Int: UInt64] = [:]
            for (index, step) in steps.enumerated() {
                for write in step { state[write.key] = write.isPut ? UInt64(index + 1) : nil }
            }
            return state
        }

        /// The numbers of steps `c` (0...steps.count) such that the first `c` steps give exactly `present`.
        /// Keys in `ignoring` (their reads failed loudly) are not constrained.
        func consistentPrefixes(present: [Int: UInt64], ignoring: Set<Int> = []) -> [Int] {
            let count = steps.count
            var allowed = [Bool](repeating: true, count: count + 1)
            var positions: [Int: [(step: Int, isPut: Bool)]] = [:]
            for (index, step) in steps.enumerated() {
                for write in step { positions[write.key, default: []].append((index, write.isPut)) }
            }
            for key in Set(positions.keys).union(present.keys).subtracting(ignoring) {
                var keyAllowed = [Bool](repeating: false, count: count + 1)
                let writes = positions[key] ?? []
                func allow(_ range: ClosedRange<Int>) { for cut in range where cut <= count { keyAllowed[cut] = true } }
                if let sequence = present[key] {
                    let step = Int(sequence) - 1
                    if let index = writes.firstIndex(where: { $0.step == step && $0.isPut }) {
                        let next = index + 1 < writes.count ? writes[index + 1].step : count
                        allow((step + 1)...next)
                    }
                } else {
                    allow(0...(writes.first?.step ?? count))
                    for (index, write) in writes.enumerated() where !write.isPut {
                        let next = index + 1 < writes.count ? writes[index + 1].step : count
                        allow((write.step + 1)...next)
                    }
                }
                for cut in 0...count where !keyAllowed[cut] { allowed[cut] = false }
            }
            return (0...count).filter { allowed[$0] }
        }
    }

    /// Builds the database every corruption case starts from: keys 0..<keySpace put in batches
    /// of 50, synced and compacted (so tables exist), then every third key overwritten and every
    /// seventh deleted one at a time (left in the log). Returns the history. With `abandon`, the
    /// process kills itself (SIGKILL) instead of closing the store, so the log keeps the last
    /// writes (an engine that checkpoints at close would otherwise leave an empty log).
    /// `beforeClose` sees the store after the last write (a test can abandon it there, in process).
    /// `settings` are the engine settings the store is opened with.
    public static func build<Store: KeyValueStore>(_ type: Store.Type, directory: String, keySpace: Int, memoryBudget: Int,
                                                   settings: [String: String] = [:], abandon: Bool = false,
                                                   beforeClose: (Store) -> Void = { _ in }) throws(StoreError) -> Expectation {
        try FileSystem.removeTree(directory)
        let store = try Store.open(StoreOptions(directory: directory, durability: .fsync, memoryBudget: memoryBudget, settings: settings))
        var expectation = Expectation(keySpace: keySpace)
        var batch = WriteBatch()
        var writes: [(key: Int, isPut: Bool)] = []
        for key in 0..<keySpace {
            batch.put(CrashValues.key(key), CrashValues.value(key: key, sequence: expectation.nextSequence))
            writes.append((key, true))
            if batch.count == 50 || key == keySpace - 1 {
                try store.write(batch)
                expectation.append(writes)
                batch = WriteBatch()
                writes = []
            }
        }
        try store.sync()
        _ = try store.compactAll()
        for key in stride(from: 0, to: keySpace, by: 3) {
            try store.put(CrashValues.key(key), CrashValues.value(key: key, sequence: expectation.nextSequence))
            expectation.append([(key, true)])
        }
        for key in stride(from: 0, to: keySpace, by: 7) {
            try store.delete(CrashValues.key(key))
            expectation.append([(key, false)])
        }
        beforeClose(store)
        if abandon { kill(getpid(), SIGKILL) }
        try store.close()
        return expectation
    }

    /// Settings of one corruption test.
    public struct Configuration: Sendable {
        public var engine: String
        public var workDirectory: String
        public var executable: String
        public var keySpace = 3000
        /// The memory budget every store of the test is opened with.
        public static let defaultMemoryBudget = 4 << 20
        public var memoryBudget = defaultMemoryBudget
        /// Engine settings (`--setting name=value`) for the build and every reader.
        public var settings: [String: String] = [:]
        /// Set for engines whose format has no checksums (LMDB 0.9): silent wrong values are then
        /// reported as undetected, not as a failure of the test harness.
        public var hasChecksums = true

        public init(engine: String, workDirectory: String, executable: String) {
            self.engine = engine
            self.workDirectory = workDirectory
            self.executable = executable
        }
    }

    /// Runs every case against copies of the database in `pristine` (built by `build` and closed)
    /// or, for cases marked `fromCrashedCopy`, in `crashed` (built with `abandon`).
    public static func run(_ configuration: Configuration, pristine: String, crashed: String?, expected: Expectation,
                           cases: [CorruptionCase]) throws(StoreError) -> CorruptTestReport {
        var report = CorruptTestReport(engine: configuration.engine)
        let errors = configuration.workDirectory + "/children.stderr"
        let crashConfiguration = CrashTestConfiguration(
            engine: configuration.engine, durability: .fsync, mode: .process, method: .none, crashes: 1, seed: 0,
            workDirectory: configuration.workDirectory, executable: configuration.executable)
        var verifier = crashConfiguration
        verifier.keySpace = configuration.keySpace
        verifier.memoryBudget = configuration.memoryBudget
        verifier.settings = configuration.settings

        // The undamaged copies must read back exactly, or the comparison means nothing.
        let control = configuration.workDirectory + "/control"
        for source in [pristine] + (crashed.map { [$0] } ?? []) {
            try copyDirectory(source, to: control)
            let baseline = try CrashTest.verify(verifier, directory: control, create: false, errors: errors)
            let controlOutcome = classify(baseline, expected: expected)
            guard controlOutcome.outcome == "recovered_correct" else {
                report.status = "FAIL"
                report.notes.append("the undamaged database \(source) does not read back correctly (\(controlOutcome.outcome): \(controlOutcome.detail)); no case was run")
                return report
            }
        }

        for item in cases {
            let copy = configuration.workDirectory + "/case"
            try copyDirectory(item.fromCrashedCopy ? (crashed ?? pristine) : pristine, to: copy)
            try item.apply(in: copy)
            let verification = try CrashTest.verify(verifier, directory: copy, create: false, errors: errors)
            var (outcome, detail) = classify(verification, expected: expected)
            if outcome == "wrong_values" && !configuration.hasChecksums { detail += " (undetected: the format has no checksums)" }
            report.injected += 1
            switch outcome {
            case "crash": report.crashes += 1
            case "wrong_values": report.wrongValues += 1
            case "detected": report.detected += 1
            case "recovered_with_loss": report.recoveredWithLoss += 1
            default: report.recoveredCorrect += 1
            }
            let name = item.name + (item.fromCrashedCopy ? " (copy abandoned without close)" : "")
            report.cases.append(CorruptionOutcome(name: name, file: item.file, action: item.action.description, outcome: outcome, detail: detail))
        }
        try FileSystem.removeTree(configuration.workDirectory + "/case")
        try FileSystem.removeTree(control)
        if report.crashes > 0 || (report.wrongValues > 0 && configuration.hasChecksums) {
            report.status = "FAIL"
        } else if report.wrongValues > 0 {
            report.status = "undetected corruption (no checksums)"
        }
        return report
    }

    /// Builds the database in a child process (`executable corrupt-build ...`) that kills itself
    /// instead of closing the store (`build` with `abandon`). Returns a note when that did not happen.
    public static func buildAbandoned(_ configuration: Configuration, directory: String) throws(StoreError) -> String? {
        let arguments = [configuration.executable, "corrupt-build", "--engine", configuration.engine, "--dir", directory,
                         "--key-space", String(configuration.keySpace), "--memory-budget", String(configuration.memoryBudget)]
            + CrashTestConfiguration.settingArguments(configuration.settings)
        let child = try ChildProcess(arguments: arguments, standardError: configuration.workDirectory + "/children.stderr")
        child.readToEnd()
        let termination = child.wait()
        return termination == .signaled(SIGKILL) ? nil : "the abandoned build \(termination) instead of being killed"
    }

    /// Compares what a reader saw with the build history: correct means the whole history,
    /// a loss means some prefix of it, wrong means no prefix gives what was read.
    static func classify(_ verification: CrashTest.Verification, expected: Expectation) -> (outcome: String, detail: String) {
        if let signal = verification.crashSignal { return ("crash", "the reader died with signal \(signal)") }
        let bad = verification.wrongKeys.count + verification.unexpectedEntries
        if bad > 0 { return ("wrong_values", "\(bad) keys read back bytes that were never written to them") }
        if verification.openKind != "ok" { return ("detected", "open failed: \(verification.openMessage)") }
        let prefixes = expected.consistentPrefixes(present: verification.present, ignoring: verification.unreadableKeys)
        if prefixes.isEmpty {
            let final = expected.final
            let differing = Set(final.keys).union(verification.present.keys).filter { final[$0] != verification.present[$0] }.count
            return ("wrong_values", "\(differing) keys differ from the last write, and the state is no prefix of the write history (stale or resurrected values)")
        }
        if verification.corruptReads > 0 {
            return ("detected", "\(verification.corruptReads) reads failed: \(verification.problems.first ?? "")")
        }
        let steps = expected.steps.count
        if prefixes.contains(steps) { return ("recovered_correct", "all \(expected.final.count) keys correct") }
        return ("recovered_with_loss", "opened without an error; holds the first \(prefixes.max()!) of \(steps) writes (a consistent prefix)")
    }

    /// Replaces `destination` with a copy of the files of `source` (one level, as databases are laid out).
    static func copyDirectory(_ source: String, to destination: String) throws(StoreError) {
        try FileSystem.removeTree(destination)
        try FileSystem.createDirectory(destination)
        for name in try FileSystem.list(source) where !FileSystem.isDirectory(source + "/" + name) {
            let input = try StorageFile(path: source + "/" + name, mode: .readOnly)
            let output = try StorageFile(path: destination + "/" + name, mode: .createNew)
            let size = try input.size()
            if size > 0 { try output.write(at: 0, try input.read(at: 0, count: size)) }
        }
    }
}
