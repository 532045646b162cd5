#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVProcess
import KVStore
import StorageFaults
import StorageIO

/// How a power loss is simulated below an engine.
public enum PowerLossMethod: Sendable, Equatable {
    /// No power loss: the child is killed with SIGKILL (`--mode process`).
    case none
    /// The child runs with the `CFaultPreload` library (LD_PRELOAD) at this path, which
    /// records its file system calls; the parent rebuilds the power-loss state from them.
    case syscallTrace(library: String)
    /// The child's own I/O goes through StorageIO's fault layer, which drops what was not
    /// synced and then kills the process (hand-written engines).
    case faultLayer
    /// The engine's power-loss behaviour cannot be simulated; the reason is reported.
    case notCovered(reason: String)

    var label: String {
        switch self {
        case .none: return "SIGKILL"
        case .syscallTrace: return "syscall trace (LD_PRELOAD) + rebuilt power-loss state"
        case .faultLayer: return "StorageIO fault layer"
        case .notCovered: return "not covered"
        }
    }
}

/// Settings of one crash test.
public struct CrashTestConfiguration: Sendable {
    public var engine: String
    public var durability: Durability
    public var mode: CrashMode
    public var method: PowerLossMethod
    public var crashes: Int
    public var seed: UInt64
    /// Holds the database (`db/`), traces and the children's standard error.
    public var workDirectory: String
    /// This program: the children are `executable crash-worker ...` and `executable crash-verify ...`.
    public var executable: String
    public var keySpace = 2000
    /// Writer threads in the worker (`--threads`), each on its own keys; the key space holds
    /// at least `keysPerThread` keys for each.
    public var threads = 1
    public static let keysPerThread = 16
    /// The memory budget every store of the test is opened with.
    public static let defaultMemoryBudget = 4 << 20
    public var memoryBudget = defaultMemoryBudget
    /// Engine settings (`--setting name=value`) the worker and the verifier open the store with.
    public var settings: [String: String] = [:]
    /// Longest time the worker runs after it is ready before it is killed.
    public var maxDelayMilliseconds = 700
    /// Called with one line per round.
    public var progress: @Sendable (String) -> Void = { _ in }

    public init(engine: String, durability: Durability, mode: CrashMode, method: PowerLossMethod,
                crashes: Int, seed: UInt64, workDirectory: String, executable: String) {
        self.engine = engine
        self.durability = durability
        self.mode = mode
        self.method = method
        self.crashes = crashes
        self.seed = seed
        self.workDirectory = workDirectory
        self.executable = executable
    }

    /// Whether `durability` promises that acknowledged writes survive a crash of `mode`.
    public static func promises(_ durability: Durability, _ mode: CrashMode) -> Bool {
        switch durability {
        case .fsync: return true
        case .os: return mode == .process
        case .none: return false
        }
    }

    /// The worker's command line.
    public func workerArguments(directory: String, startSequence: UInt64, seed: UInt64, powerLossAfter: Int?, crashPointOneIn: Int? = nil,
                                tornTails: Bool = false) -> [String] {
        var arguments = [executable, "crash-worker", "--engine", engine, "--dir", directory, "--durability", durability.rawValue,
                         "--memory-budget", String(memoryBudget), "--key-space", String(keySpace),
                         "--start-sequence", String(startSequence), "--seed", String(seed)]
        if let powerLossAfter { arguments += ["--power-loss-after-ms", String(powerLossAfter)] }
        if let crashPointOneIn { arguments += ["--crash-point-one-in", String(crashPointOneIn)] }
        if tornTails { arguments.append("--torn-tails") }
        if threads > 1 { arguments += ["--threads", String(threads)] }
        return arguments + Self.settingArguments(settings)
    }

    /// The verifier's command line.
    public func verifierArguments(directory: String, create: Bool) -> [String] {
        var arguments = [executable, "crash-verify", "--engine", engine, "--dir", directory, "--durability", durability.rawValue,
                         "--memory-budget", String(memoryBudget), "--key-space", String(keySpace)]
        if create { arguments.append("--create") }
        return arguments + Self.settingArguments(settings)
    }

    /// `settings` as command-line arguments (`--setting name=value` each, sorted by name).
    public static func settingArguments(_ settings: [String: String]) -> [String] {
        settings.sorted { $0.key < $1.key }.flatMap { ["--setting", "\($0.key)=\($0.value)"] }
    }
}

/// `kvbench crash-test`: crash a child running a write-heavy mix, verify in a fresh
/// process against the oracle, continue on the same database; repeat.
public enum CrashTest {
    public static func run(_ configuration: CrashTestConfiguration) throws(StoreError) -> CrashTestReport {
        let promised = CrashTestConfiguration.promises(configuration.durability, configuration.mode)
        var report = CrashTestReport(engine: configuration.engine, durability: configuration.durability, mode: configuration.mode,
                                     method: configuration.method.label, seed: configuration.seed, promised: promised)
        report.threads = configuration.threads
        if case .notCovered(let reason) = configuration.method {
            report.notes.append("not covered: \(reason)")
            report.status = "not covered"
            return report
        }
        let work = configuration.workDirectory
        let database = work + "/db"
        let errors = work + "/children.stderr"
        try FileSystem.createDirectory(work)
        try FileSystem.removeTree(database)
        try FileSystem.createDirectory(database)
        let canonicalDatabase = FileSystem.canonicalPath(database)

        // Setup: an empty store, created and closed cleanly; it is the first durable state.
        let setup = try verify(configuration, directory: canonicalDatabase, create: true, errors: errors)
        guard setup.openKind == "ok" else {
            report.openFailures += 1
            report.notes.append("the empty store could not be created: \(setup.openMessage)")
            report.conclude(covered: false)
            return report
        }

        var oracle = CrashOracle(threads: configuration.threads)
        var random = SplitMix64(seed: configuration.seed)
        var covered = true
        // A store that no longer opens (or crashes its reader) is reported, then recreated empty,
        // so that every cell still goes through the requested number of crashes.
        var setupFailed = false
        func startOver(_ round: Int, _ reason: String) throws(StoreError) {
            report.restarts += 1
            if report.restarts <= 5 { report.notes.append("round \(round): \(reason); the store was recreated empty") }
            try FileSystem.removeTree(canonicalDatabase)
            try FileSystem.createDirectory(canonicalDatabase)
            let again = try verify(configuration, directory: canonicalDatabase, create: true, errors: errors)
            if again.openKind != "ok" { setupFailed = true }
            oracle.reset()
        }
        var coverageNotes: Set<String> = []
        for round in 1...max(configuration.crashes, 1) {
            let trace = work + "/trace.bin"
            try FileSystem.removeFile(trace)
            var image: PowerLossImage?
            var environment: [String: String] = [:]
            if case .syscallTrace(let library) = configuration.method {
                image = try PowerLossImage(directory: canonicalDatabase)
                environment = ["LD_PRELOAD": library, "KVFAULTS_DIR": canonicalDatabase, "KVFAULTS_TRACE": trace]
            }
            // Most rounds kill the worker a random time after it is ready; some kill it
            // early, possibly while it is still recovering from the previous crash.
            let early = configuration.method != .faultLayer && random.uniform(100) < 15
            var delay = early ? Int(random.uniform(300)) : Int(random.uniform(UInt64(configuration.maxDelayMilliseconds) + 1))
            // With the fault layer, half the rounds crash at a random I/O call (a named crash
            // point: before/after a log write, fsync, rename, directory fsync...), the timer
            // being only a fallback.
            var crashPointOneIn: Int?
            if configuration.method == .faultLayer && random.uniform(2) == 0 {
                crashPointOneIn = 50 + Int(random.uniform(3000))
                delay = configuration.maxDelayMilliseconds
            }
            let workerSeed = CrashValues.mix(configuration.seed &+ UInt64(round))
            let arguments = configuration.workerArguments(
                directory: canonicalDatabase, startSequence: oracle.highestSequence + 1, seed: workerSeed,
                powerLossAfter: configuration.method == .faultLayer ? delay : nil, crashPointOneIn: crashPointOneIn,
                tornTails: configuration.method == .faultLayer && random.uniform(3) == 0)
            let worker = try ChildProcess(arguments: arguments, environment: environment, standardError: errors)
            let started = Monotonic.nanoseconds()
            var killedByUs = false
            if configuration.method == .faultLayer {
                // The worker simulates the power loss itself and then kills itself.
                let ended = worker.read(until: started + UInt64(delay + 20_000) * 1_000_000)
                if !ended { worker.killNow(); killedByUs = true }
            } else if early {
                worker.read(until: started + UInt64(delay) * 1_000_000)
                worker.killNow()
                killedByUs = true
            } else {
                let ended = worker.read(until: started + 20_000_000_000) { output in Self.hasReadyLine(output) }
                if !ended {
                    worker.read(until: Monotonic.nanoseconds() + UInt64(delay) * 1_000_000)
                    worker.killNow()
                    killedByUs = true
                }
            }
            worker.readToEnd()
            let termination = worker.wait()
            let issuedBefore = oracle.highestSequence
            for line in worker.lines where line.hasPrefix("C ") {
                let point = String(line.dropFirst(2).map { $0.isNumber ? "#" : $0 })
                report.crashPoints[point, default: 0] += 1
            }
            let (failure, openFailure) = oracle.apply(workerLines: worker.lines)
            report.operationsIssued += Int(oracle.highestSequence - issuedBefore)
            if let openFailure {
                if openFailure.kind == "corruption" { report.corruptionDetected += 1 } else { report.openFailures += 1 }
                try startOver(round, "the worker could not open the store: \(openFailure.message)")
                if setupFailed { break }
                continue
            }
            if let failure {
                report.workerErrors += 1
                report.notes.append("round \(round): an operation failed: \(failure)")
            }
            switch termination {
            case .signaled(SIGKILL): break
            case .signaled(let signal):
                report.workerErrors += 1
                report.notes.append("round \(round): the worker crashed by itself with signal \(signal)")
            case .exited(let code):
                if !killedByUs && failure == nil {
                    report.workerErrors += 1
                    report.notes.append("round \(round): the worker exited with status \(code) before it was killed")
                }
            }
            report.crashes += 1

            if var image {
                try image.replay(trace: trace)
                if !image.notCovered.isEmpty {
                    covered = false
                    coverageNotes.formUnion(image.notCovered)
                }
                let choice = random.uniform(4)
                let unsynced: PowerLossImage.Unsynced = choice == 0 ? .prefix : (choice == 1 ? .subset : .dropped)
                let files = image.survivingFiles(unsynced: unsynced, random: &random)
                try PowerLossImage.materialize(files, into: canonicalDatabase)
            }

            let verification = try verify(configuration, directory: canonicalDatabase, create: false, errors: errors)
            if let signal = verification.crashSignal {
                report.verifierCrashes += 1
                try startOver(round, "the verifier crashed with signal \(signal) while opening or reading the store")
                if setupFailed { break }
                continue
            }
            guard verification.openKind == "ok" else {
                if verification.openKind == "corruption" { report.corruptionDetected += 1 } else { report.openFailures += 1 }
                try startOver(round, "the store did not open after the crash: \(verification.openMessage)")
                if setupFailed { break }
                continue
            }
            let findings = record(verification, oracle: &oracle, into: &report, round: round)
            configuration.progress("round \(round): \(early ? "early kill" : "kill") after \(delay) ms, \(oracle.highestSequence - issuedBefore) ops, acknowledged checked \(findings.acknowledgedChecked), lost \(findings.lost), wrong \(findings.wrongValues), holes \(findings.holes)")
        }
        for note in coverageNotes.sorted() { report.notes.append("not covered: \(note)") }
        report.conclude(covered: covered)
        return report
    }

    /// Checks a successful verification against the oracle and adds the findings to the report.
    static func record(_ verification: Verification, oracle: inout CrashOracle, into report: inout CrashTestReport, round: Int) -> CrashOracle.Findings {
        report.recoveries += 1
        if verification.corruptReads > 0 { report.corruptionDetected += 1 }
        for problem in verification.problems.prefix(3) { report.notes.append("round \(round): \(problem)") }
        let findings = oracle.check(present: verification.present, wrongKeys: verification.wrongKeys,
                                    unreadableKeys: verification.unreadableKeys, promised: report.promised)
        report.acknowledgedChecked += findings.acknowledgedChecked
        report.lost += findings.lost
        report.wrongValues += findings.wrongValues + verification.unexpectedEntries
        report.holes += findings.holes
        report.tornBatches += findings.tornBatches
        let interesting = findings.wrongValues > 0 || findings.holes > 0 || findings.tornBatches > 0 || (report.promised && findings.lost > 0)
        if interesting { for detail in findings.details.prefix(5) { report.notes.append("round \(round): \(detail)") } }
        return findings
    }

    /// A crash test without child processes, for engines whose I/O goes through StorageIO:
    /// each round opens the store with the fault layer on, runs a random number (up to
    /// `operationsPerRound`) of the mix's operations, simulates a power loss, abandons the
    /// store, and verifies a fresh instance. Used by the tests; the CLI uses child processes.
    public static func runInProcess<Store: KeyValueStore>(
        _ type: Store.Type, directory: String, durability: Durability, rounds: Int, operationsPerRound: Int,
        seed: UInt64, keySpace: Int = 200, memoryBudget: Int = 4 << 20
    ) throws(StoreError) -> CrashTestReport {
        var report = CrashTestReport(engine: Store.engineName, durability: durability, mode: .power,
                                     method: PowerLossMethod.faultLayer.label + " (in process)", seed: seed,
                                     promised: CrashTestConfiguration.promises(durability, .power))
        try FileSystem.removeTree(directory)
        var oracle = CrashOracle()
        var random = SplitMix64(seed: seed)
        for round in 1...max(rounds, 1) {
            var lines: [String] = []
            try FaultInjection.enable(root: directory, graveyard: directory + ".graveyard")
            let count = Int(random.uniform(UInt64(operationsPerRound) + 1))
            let failure = runAbandoned(type, StoreOptions(directory: directory, durability: durability, memoryBudget: memoryBudget),
                                       operations: count, mix: CrashMix(seed: seed &+ UInt64(round), startSequence: oracle.highestSequence + 1, keySpace: keySpace)) {
                lines.append($0)
            }
            FaultInjection.disable()
            if let failure {
                report.workerErrors += 1
                report.notes.append("round \(round): \(failure)")
            }
            let issuedBefore = oracle.highestSequence
            _ = oracle.apply(workerLines: lines.joined().split(separator: "\n"))
            report.operationsIssued += Int(oracle.highestSequence - issuedBefore)
            report.crashes += 1
            var output: [String] = []
            CrashVerifier.verify(type, directory: directory, durability: durability, memoryBudget: memoryBudget,
                                 keySpace: keySpace, create: false) { output.append($0) }
            let verification = parseVerification(output.joined().split(separator: "\n"), crashSignal: nil)
            guard verification.openKind == "ok" else {
                if verification.openKind == "corruption" { report.corruptionDetected += 1 } else { report.openFailures += 1 }
                report.notes.append("round \(round): the store did not open after the power loss: \(verification.openMessage)")
                break
            }
            _ = record(verification, oracle: &oracle, into: &report, round: round)
        }
        report.conclude(covered: true)
        return report
    }

    /// Opens a store, runs `operations` steps of the mix, simulates a power loss and drops the
    /// store (its close fails: the simulated machine is off). Returns an error message, if any.
    private static func runAbandoned<Store: KeyValueStore>(_ type: Store.Type, _ options: StoreOptions, operations: Int,
                                                           mix: CrashMix, emit: (String) -> Void) -> String? {
        var mix = mix
        let store: Store
        do {
            store = try Store.open(options)
        } catch {
            FaultInjection.simulatePowerLoss()
            return error.description
        }
        var failure: String?
        // The power loss must come while the store is alive: its close would flush.
        withExtendedLifetime(store) {
            for _ in 0..<operations {
                do throws(StoreError) { try mix.step(store, emit: emit) } catch {
                    failure = error.description
                    break
                }
            }
            FaultInjection.simulatePowerLoss()
        }
        return failure
    }

    /// The worker's first line is `R` once its store is open.
    private static func hasReadyLine(_ output: [UInt8]) -> Bool {
        output.count >= 2 && output[0] == UInt8(ascii: "R") && output[1] == UInt8(ascii: "\n")
    }

    /// What the verifier reported.
    struct Verification {
        var openKind = "missing"
        var openMessage = "the verifier reported nothing"
        var present: [Int: UInt64] = [:]
        var wrongKeys: Set<Int> = []
        var unreadableKeys: Set<Int> = []
        var unexpectedEntries = 0
        var corruptReads = 0
        var problems: [String] = []
        var crashSignal: Int32?
    }

    static func verify(_ configuration: CrashTestConfiguration, directory: String, create: Bool, errors: String) throws(StoreError) -> Verification {
        let child = try ChildProcess(arguments: configuration.verifierArguments(directory: directory, create: create), standardError: errors)
        child.readToEnd()
        var crashSignal: Int32?
        if case .signaled(let signal) = child.wait() { crashSignal = signal }
        return parseVerification(child.lines, crashSignal: crashSignal)
    }

    static func parseVerification(_ lines: [Substring], crashSignal: Int32?) -> Verification {
        var result = Verification()
        result.crashSignal = crashSignal
        var ended = false
        for line in lines {
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            switch fields.first {
            case "O":
                result.openKind = fields.count > 1 ? String(fields[1]) : "error"
                result.openMessage = fields.count > 2 ? String(fields[2]) : ""
            case "V":
                if fields.count == 3, let key = Int(fields[1]), let sequence = UInt64(fields[2]) { result.present[key] = sequence }
            case "W":
                if fields.count >= 2, let key = Int(fields[1]), key >= 0 { result.wrongKeys.insert(key) } else { result.unexpectedEntries += 1 }
                result.problems.append("wrong value: " + line)
            case "G":
                result.corruptReads += 1
                if fields.count >= 2, let key = Int(fields[1]), key >= 0 { result.unreadableKeys.insert(key) }
                result.problems.append("read failed: " + line)
            case "E":
                ended = true
            default:
                continue
            }
        }
        if result.openKind == "ok" && !ended && result.crashSignal == nil {
            result.problems.append("the verifier stopped before the end of its report")
        }
        return result
    }
}
