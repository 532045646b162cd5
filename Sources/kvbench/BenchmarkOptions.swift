import KVResults
import ArgumentParser
import Foundation
import KVStore
import KVWorkbench
import KVWorkloads
import StorageIO

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

    /// The named distribution with these parameters; an unknown name and a parameter out of range get different messages.
    func distribution(named name: String) throws -> KeyDistribution {
        do {
            try checkRanges()
        } catch {
            throw ValidationError(error.description)
        }
        guard let parsed = KeyDistribution.parse(name, theta: zipfTheta, hotFraction: hotFraction, hotOperationFraction: hotOperationFraction) else {
            throw ValidationError("unknown distribution '\(name)'; choose one of: \(KeyDistribution.names.joined(separator: ", "))")
        }
        return parsed
    }
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
    @Option(name: .customLong("key-size"), parsing: .unconditional, help: "Key size in bytes (keys sort in record order).")
    var keySize: Int = 16
    @Option(name: .customLong("value-size"), parsing: .unconditional, help: "Value size in bytes.")
    var valueSize: Int = 100
    @Option(name: .customLong("scan-length"), parsing: .unconditional, help: "Entries read after each seek by seekrandom.")
    var scanLength: Int = 10
    @Option(help: "Key distribution, overriding the workload's: uniform, zipfian, latest, sequential, hotspot.")
    var distribution: String?
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

    func validate() throws {
        guard let budget = Self.parseBytes(memoryBudget) else {
            throw ValidationError("cannot read --memory-budget '\(memoryBudget)'; write a byte count such as 67108864, 64MiB or 1GiB")
        }
        if let distribution { _ = try skew.distribution(named: distribution) }
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
        }
    }

    /// Resolves the workload (built-in or YCSB file); prints the file's warnings.
    func resolveWorkload() throws -> WorkloadDefinition {
        let override = try distribution.map { try skew.distribution(named: $0) }
        if var definition = WorkloadDefinition.builtIn(workload, scanLength: scanLength, distribution: override) {
            if override == nil { definition.requestDistribution = Self.withTheta(definition.requestDistribution, skew.zipfTheta) }
            return definition
        }
        let file = try WorkloadFile.read(workload)
        let parsed: (definition: WorkloadDefinition, warnings: [String])
        do {
            parsed = try WorkloadDefinition.parseYCSB(file.text, name: file.name)
        } catch {
            throw CommandFailure("\(error.description) (workload file \(workload))", status: .badInput)
        }
        for warning in parsed.warnings { writeStandardError("warning: \(warning)\n") }
        var definition = parsed.definition
        if let override { definition.requestDistribution = override }
        return definition
    }

    private static func withTheta(_ distribution: KeyDistribution, _ theta: Double) -> KeyDistribution {
        switch distribution {
        case .zipfian: return .zipfian(theta: theta)
        case .latest: return .latest(theta: theta)
        default: return distribution
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
    func prepareDirectory(engine: String, shared: Bool) throws -> (path: String, temporary: Bool, claim: DirectoryClaim?) {
        if let dir {
            let path = shared ? dir + "/" + engine : dir
            let claim = try Self.claim(path)
            guard try FileSystem.list(path).isEmpty else {
                throw CommandFailure("\(path) is not empty; give a new or empty directory so that no data is overwritten", status: .usage)
            }
            return (path, false, claim)
        }
        let path = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-\(engine)")
        return (path, true, nil)
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
        print("results written to \(json)\(results.partial ? " (partial: interrupted)" : "")")
    }
}
