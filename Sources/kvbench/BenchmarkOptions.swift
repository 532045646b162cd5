import KVResults
import ArgumentParser
import Foundation
import KVStore
import KVWorkbench
import KVWorkloads
import StorageIO
import Synchronization

extension Durability: ExpressibleByArgument {}

/// The parameters of skewed key distributions, shared by `run`, `compare` and `keys`.
struct SkewOptions: ParsableArguments {
    @Option(name: .customLong("zipf-theta"), parsing: .unconditional, help: "Zipfian exponent.")
    var zipfTheta: Double = 0.99
    @Option(name: .customLong("hot-fraction"), parsing: .unconditional, help: "hotspot: fraction of the key space that is hot.")
    var hotFraction: Double = 0.2
    @Option(name: .customLong("hot-op-fraction"), parsing: .unconditional, help: "hotspot: fraction of operations that go to hot keys.")
    var hotOperationFraction: Double = 0.8

    /// Checks the distribution parameters against their ranges (whichever distribution uses them).
    func checkRanges() throws(WorkloadError) {
        try ParameterRanges.zipfTheta.check(zipfTheta)
        try ParameterRanges.hotFraction.check(hotFraction)
        try ParameterRanges.hotOperationFraction.check(hotOperationFraction)
    }

    /// The named distribution with these parameters (with `ycsb`, YCSB's generators for zipfian, latest
    /// and hotspot); an unknown name and a parameter out of range get different messages.
    func distribution(named name: String, ycsb: Bool = false) throws -> KeyDistribution {
        do {
            try checkRanges()
        } catch {
            throw ValidationError(error.description)
        }
        guard let parsed = KeyDistribution.parse(name, theta: zipfTheta, hotFraction: hotFraction,
                                                 hotOperationFraction: hotOperationFraction, ycsb: ycsb) else {
            throw ValidationError("unknown distribution '\(name)'; choose one of: \(KeyDistribution.names.joined(separator: ", "))")
        }
        return parsed
    }
}

/// `--format`: how `run` and `compare` print their results.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, ycsb
}

/// The workload and measurement options shared by `run` and `compare`.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Built-in workload name (see `kvbench list`) or path to a YCSB workload property file.")
    var workload: String = "fillrandom"
    @Option(parsing: .unconditional, help: "Records inserted by the load phase (default 100000, or recordcount from a YCSB file).")
    var records: Int?
    @Option(parsing: .unconditional, help: "Run-phase operations across all threads (default: --records, or operationcount from a YCSB file).")
    var operations: Int?
    @Option(parsing: .unconditional, help: "Run phase length in seconds, instead of --operations.")
    var duration: Double?
    @Option(parsing: .unconditional, help: "Warm-up before the run phase, excluded from the figures: an operation count (10000) or seconds (5s).")
    var warmup: String?
    @Option(parsing: .unconditional, help: "Benchmark threads (closed loop: each issues its next operation when the last returns).")
    var threads: Int = 1
    @Option(name: .customLong("target-rate"), parsing: .unconditional, help: "Open loop: operations per second across all threads; latency counts from each operation's intended start.")
    var targetRate: Double?
    @Option(name: .customLong("key-size"), parsing: .unconditional, help: "Key size in bytes (keys sort in record order; default 16; not in YCSB mode).")
    var givenKeySize: Int?
    @Option(name: .customLong("value-size"), parsing: .unconditional, help: "Value size in bytes (default 100; not in YCSB mode, where records are fieldcount × fieldlength).")
    var givenValueSize: Int?
    @Option(name: .customLong("scan-length"), parsing: .unconditional, help: "Entries read after each seek by seekrandom.")
    var scanLength: Int = 10
    @Option(help: "Key distribution, overriding the workload's: \(KeyDistribution.names.joined(separator: ", ")) (zipfian, latest and hotspot are YCSB's generators in YCSB mode).")
    var distribution: String?
    @Flag(name: .customLong("ycsb-mode"), inversion: .prefixedNo, help: "YCSB files and ycsb-* workloads run as YCSB runs them: YCSB's key names, records of fieldcount × fieldlength, YCSB's generators and accounting (--no-ycsb-mode: KVBench's record-order keys, one --value-size value, exact Zipf).")
    var ycsbMode = true
    @Option(name: .customShort("p"), help: "A YCSB property name=value, overriding the workload file's (repeatable; YCSB files and ycsb-* workloads).")
    var properties: [String] = []
    @Option(help: "Output: text (tables) or ycsb (YCSB's [OVERALL]/[READ] … summary of the run phase).")
    var format: OutputFormat = .text
    @OptionGroup var skew: SkewOptions
    @Option(name: .customLong("writer-rate"), parsing: .unconditional, help: "readwhilewriting: updates per second of the single writer.")
    var writerRate: Double = 10_000
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives every engine the same operation stream.")
    var seed: UInt64 = 1
    @Option(help: "Durability of acknowledged writes: none, os (survives a process crash), fsync (survives power loss).")
    var durability: Durability = .os
    @Option(name: .customLong("memory-budget"), parsing: .unconditional, help: "Memory for engine caches and write buffers, e.g. 64MiB.")
    var memoryBudget: String = "64MiB"
    @Option(name: .customLong("setting"), help: "Engine setting name=value (repeatable), e.g. lmdb.map_size=1099511627776.")
    var settings: [String] = []
    @Option(help: "Database directory to use and keep (default: a temporary directory, removed at the end).")
    var dir: String?
    @Option(help: "Write the results as JSON to this file.")
    var json: String?
    @Flag(help: "No progress line.")
    var quiet = false
    @Option(name: .customLong("repeat"), help: "Repetitions of each engine, interleaved in rounds with the engine order rotated; figures are medians with a 95 % interval.")
    var repetitions: Int = 1
    @Option(name: .customLong("memory-limit"), help: "Memory cgroup limit of each run's process, page cache included: auto (memory budget + \(MemoryLimitPlan.harnessAllowance >> 20) MiB harness allowance, or none where cgroups are unavailable), off, or a size such as 256MiB.")
    var memoryLimit: String = "auto"
    @Flag(name: .customLong("allow-errors"), help: "Exit 0 even when operations failed (the default is exit status 3).")
    var allowErrors = false

    /// `--key-size` (default 16).
    var keySize: Int { givenKeySize ?? 16 }
    /// `--value-size` (default 100).
    var valueSize: Int { givenValueSize ?? 100 }

    /// True when the workload is a YCSB one: a `ycsb-*` built-in or a property file.
    var isYCSBWorkload: Bool {
        WorkloadDefinition.ycsbBuiltInProperties(workload) != nil || !WorkloadDefinition.builtInNames.contains(workload)
    }

    /// True when this run is in YCSB mode.
    var runsInYCSBMode: Bool { ycsbMode && isYCSBWorkload }

    func validate() throws {
        guard let budget = Self.parseBytes(memoryBudget) else {
            throw ValidationError("cannot read --memory-budget '\(memoryBudget)'; write a byte count such as 67108864, 64MiB or 1GiB")
        }
        if let distribution { _ = try skew.distribution(named: distribution, ycsb: runsInYCSBMode) }
        if !properties.isEmpty && !isYCSBWorkload {
            throw ValidationError("-p sets YCSB properties, and \(workload) is not a YCSB workload; use -p with a YCSB workload file or a ycsb-* workload")
        }
        if runsInYCSBMode {
            for (given, flag, instead) in [(givenKeySize != nil, "--key-size", "-p zeropadding=N"), (givenValueSize != nil, "--value-size", "-p fieldcount=N -p fieldlength=N")] where given {
                throw ValidationError("\(flag) does not apply in YCSB mode, where keys are YCSB's names and records are fieldcount × fieldlength bytes; use \(instead), or --no-ycsb-mode for KVBench's fixed-size keys and values")
            }
        }
        if let warmup, Self.parseWarmup(warmup) == nil {
            throw ValidationError("cannot read --warmup '\(warmup)'; write an operation count (10000) or seconds (5s)")
        }
        for setting in settings where !setting.contains("=") {
            throw ValidationError("--setting '\(setting)' must be name=value")
        }
        if operations != nil && duration != nil {
            throw ValidationError("give --operations or --duration, not both")
        }
        guard (1...1000).contains(repetitions) else { throw ValidationError("--repeat must be between 1 and 1000") }
        guard memoryLimit == "auto" || memoryLimit == "off" || Self.parseBytes(memoryLimit) != nil else {
            throw ValidationError("cannot read --memory-limit '\(memoryLimit)'; write auto, off, or a size such as 256MiB")
        }
        do {
            try skew.checkRanges()
            try ParameterRanges.checkMemoryBudget(budget, physical: SystemManifest.memoryBytes())
            if WorkloadDefinition.builtInNames.contains(workload) { try configuration(directory: "").validate() }
        } catch let error as WorkloadError {
            throw ValidationError(error.description)
        } catch let failure as CommandFailure where failure.status == .usage {
            throw ValidationError(failure.description)
        }
    }

    /// Resolves the workload (built-in or YCSB file, in YCSB mode unless `--no-ycsb-mode`); prints the file's warnings.
    func resolveWorkload() throws -> WorkloadDefinition {
        let ycsb = runsInYCSBMode
        let override = try distribution.map { try skew.distribution(named: $0, ycsb: ycsb) }
        if !ycsb, var definition = WorkloadDefinition.builtIn(workload, scanLength: scanLength, distribution: override) {
            if override == nil { definition.requestDistribution = Self.withTheta(definition.requestDistribution, skew.zipfTheta) }
            return definition
        }
        var parsed = try parseYCSBWorkload()
        if !ycsb {
            let plain = parsed.definition.withoutYCSBMode()
            parsed = (plain.definition, parsed.warnings + plain.warnings)
        }
        for warning in parsed.warnings { Self.warnOnce(warning) }
        var definition = parsed.definition
        if let override { definition.requestDistribution = override }
        if ycsb && skew.zipfTheta != YCSBZipfian.constant {
            switch definition.requestDistribution {
            case .ycsbZipfian, .ycsbLatest:
                throw CommandFailure("--zipf-theta \(skew.zipfTheta) does not apply to YCSB's zipfian and latest generators, which use YCSB's constant 0.99 (its precomputed zeta); use --distribution zipfian-exact or latest-exact for another exponent", status: .usage)
            default: break
            }
        }
        return definition
    }

    /// Workload warnings already printed by this process; a child-run process prints none (its parent did).
    static let printedWarnings = Mutex<Set<String>>([])
    static let silenceWarnings = Atomic<Bool>(false)

    /// Prints a workload warning on standard error, once per process.
    static func warnOnce(_ warning: String) {
        guard !silenceWarnings.load(ordering: .relaxed), printedWarnings.withLock({ $0.insert(warning).inserted }) else { return }
        writeStandardError("warning: \(warning)\n")
    }

    /// The YCSB built-in or property file with the `-p` overrides; a bad `-p` is a usage error, a bad file bad input.
    private func parseYCSBWorkload() throws -> (definition: WorkloadDefinition, warnings: [String]) {
        let builtIn: (definition: WorkloadDefinition, warnings: [String])?
        do {
            builtIn = try WorkloadDefinition.ycsbBuiltIn(workload, overrides: properties)
        } catch {
            throw CommandFailure(error.description, status: .usage)
        }
        if let builtIn { return builtIn }
        let file = try WorkloadFile.read(workload)
        do {
            return try WorkloadDefinition.parseYCSB(file.text, name: file.name, overrides: properties)
        } catch {
            if error.description.hasPrefix("-p ") { throw CommandFailure(error.description, status: .usage) }
            throw CommandFailure("\(error.description) (workload file \(workload))", status: .badInput)
        }
    }

    private static func withTheta(_ distribution: KeyDistribution, _ theta: Double) -> KeyDistribution {
        switch distribution {
        case .zipfian: return .zipfian(theta: theta)
        case .latest: return .latest(theta: theta)
        default: return distribution
        }
    }

    /// Refuses, before anything runs, a setting one of `engines` would refuse when its run
    /// opens it (each engine is given the settings meant for it, as its run is).
    func checkSettings(engines: [String]) throws {
        let budget = Self.parseBytes(memoryBudget) ?? StoreOptions.defaultMemoryBudget
        for engine in engines {
            var given: [String: String] = [:]
            for setting in settings where Self.setting(setting, appliesTo: engine) {
                let (name, value) = EngineSettings.split(setting)
                given[name] = value
            }
            if let reason = EngineTable.refusedSettings(engine: engine, given, durability: durability, memoryBudget: budget) {
                throw ValidationError(reason)
            }
        }
    }

    /// Builds the configuration for one engine run in `directory`, without checking it.
    func configuration(directory: String) throws -> BenchmarkConfiguration {
        let definition = try resolveWorkload()
        let recordCount = records ?? definition.recordCount ?? 100_000
        var engineSettings: [String: String] = [:]
        for setting in settings {
            let (name, value) = EngineSettings.split(setting)
            engineSettings[name] = value
        }
        var warmupOperations = 0
        var warmupSeconds: Double?
        if let warmup, let parsed = Self.parseWarmup(warmup) {
            switch parsed {
            case .operations(let count): warmupOperations = count
            case .seconds(let seconds): warmupSeconds = seconds
            }
        }
        if !definition.hasRunPhase {
            for (given, flag) in [(operations != nil, "--operations"), (duration != nil, "--duration"), (warmup != nil, "--warmup")] where given {
                throw ValidationError("\(definition.name) is a load-only workload and has no run phase, so \(flag) would be ignored; drop \(flag) or choose a workload with a run phase (see `kvbench list`)")
            }
        }
        return BenchmarkConfiguration(
            workload: definition, records: recordCount,
            operations: operations ?? definition.operationCount ?? recordCount,
            durationSeconds: duration, warmupOperations: warmupOperations, warmupSeconds: warmupSeconds,
            threads: threads, targetRate: targetRate, keySize: keySize, valueSize: valueSize, scanLength: scanLength,
            zipfTheta: skew.zipfTheta, hotFraction: skew.hotFraction, hotOperationFraction: skew.hotOperationFraction, seed: seed,
            durability: durability, memoryBudget: Self.parseBytes(memoryBudget) ?? 0,
            directory: directory, engineSettings: engineSettings, writerRate: writerRate, showProgress: !quiet
        )
    }

    /// The configuration for `directory`, checked against every range; a value out of range is a usage error.
    func checkedConfiguration(directory: String) throws -> BenchmarkConfiguration {
        let configuration: BenchmarkConfiguration
        do {
            configuration = try self.configuration(directory: directory)
        } catch let error as ValidationError {
            throw CommandFailure(error.message, status: .usage)
        }
        do {
            try configuration.validate()
        } catch {
            throw CommandFailure(error.description, status: .usage)
        }
        return configuration
    }

    enum Warmup { case operations(Int), seconds(Double) }

    static func parseWarmup(_ text: String) -> Warmup? {
        if text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0 { return .seconds(seconds) }
        if let count = Int(text), count >= 0 { return .operations(count) }
        return nil
    }

    /// Reads 67108864, 64MiB, 64M, 1GiB, 512KiB.
    static func parseBytes(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number > 0, number * Double(scale) < 0x1p62 else { return nil }
            return Int(number * Double(scale))
        }
        return Int(text).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Prepares the database directory of one engine: a fresh temporary one, or `base` (which must be new or empty).
    /// The directory is claimed before it is checked, and the claim is held until the run ends.
    func prepareDirectory(engine: String, shared: Bool) throws -> PreparedDirectory {
        if let dir {
            let path = shared ? dir + "/" + engine : dir
            let claim = try Self.claim(path)
            guard try FileSystem.list(path).isEmpty else {
                throw CommandFailure("\(path) is not empty; give a new or empty directory so that no data is overwritten", status: .usage)
            }
            return PreparedDirectory(path: path, temporary: false, claim: claim)
        }
        let path = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-\(engine)")
        return PreparedDirectory(path: path, temporary: true, claim: nil)
    }

    /// Claims `path` (created when missing), or says in a line that another kvbench holds it.
    static func claim(_ path: String) throws -> DirectoryClaim {
        do {
            return try DirectoryClaim(directory: path)
        } catch .alreadyOpen {
            throw CommandFailure("\(path) is in use by another kvbench process; wait for it to finish or give another directory", status: .usage)
        } catch {
            throw CommandFailure("cannot use \(path) as a directory: \(error)", status: .usage)
        }
    }

    /// Checks everything a run needs before anything is created: the workload, every range, and the output paths.
    func preflight(out: String?) throws {
        _ = try checkedConfiguration(directory: dir ?? "")
        if let json { try OutputPaths.checkFile(json, option: "--json") }
        if let out { try OutputPaths.checkDirectory(out, option: "--out") }
    }

    /// Writes results as JSON.
    func writeJSON(_ results: ResultsFile) throws {
        guard let json else { return }
        try OutputPaths.writeJSON(results, to: json)
        let message = "results written to \(json)\(results.partial ? " (partial: interrupted)" : "")"
        if format == .ycsb { writeStandardError(message + "\n") } else { print(message) }
    }
}

/// A run's database directory as `prepareDirectory` made it: a temporary one, removed when the
/// run is done, or one under `--dir`, kept (its pages dropped from the cache) and claimed until then.
struct PreparedDirectory {
    let path: String
    let temporary: Bool
    let claim: DirectoryClaim?

    /// Removes a temporary directory; keeps one under `--dir`, its pages written back and dropped
    /// so that the next run starts cold; then releases the claim.
    func finish() {
        if temporary { try? FileSystem.removeTree(path) } else { IsolatedRun.dropPages(of: path) }
        claim?.release()
    }
}
