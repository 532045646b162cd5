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
    @Option(name: .customLong("zipf-theta"), help: "Zipfian exponent.")
    var zipfTheta: Double = 0.99
    @Option(name: .customLong("hot-fraction"), help: "hotspot: fraction of the key space that is hot.")
    var hotFraction: Double = 0.2
    @Option(name: .customLong("hot-op-fraction"), help: "hotspot: fraction of operations that go to hot keys.")
    var hotOperationFraction: Double = 0.8

    /// The named distribution with these parameters, or a one-line error naming the valid choices.
    func distribution(named name: String) throws -> KeyDistribution {
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
    @Option(help: "Records inserted by the load phase (default 100000, or recordcount from a YCSB file).")
    var records: Int?
    @Option(help: "Run-phase operations across all threads (default: --records, or operationcount from a YCSB file).")
    var operations: Int?
    @Option(help: "Run phase length in seconds, instead of --operations.")
    var duration: Double?
    @Option(help: "Warm-up before the run phase, excluded from the figures: an operation count (10000) or seconds (5s).")
    var warmup: String?
    @Option(help: "Benchmark threads (closed loop: each issues its next operation when the last returns).")
    var threads: Int = 1
    @Option(name: .customLong("target-rate"), help: "Open loop: operations per second across all threads; latency counts from each operation's intended start.")
    var targetRate: Double?
    @Option(name: .customLong("key-size"), help: "Key size in bytes (keys sort in record order).")
    var keySize: Int = 16
    @Option(name: .customLong("value-size"), help: "Value size in bytes.")
    var valueSize: Int = 100
    @Option(name: .customLong("scan-length"), help: "Entries read after each seek by seekrandom.")
    var scanLength: Int = 10
    @Option(help: "Key distribution, overriding the workload's: uniform, zipfian, latest, sequential, hotspot.")
    var distribution: String?
    @OptionGroup var skew: SkewOptions
    @Option(name: .customLong("writer-rate"), help: "readwhilewriting: updates per second of the single writer.")
    var writerRate: Double = 10_000
    @Option(help: "Random seed: the same seed gives every engine the same operation stream.")
    var seed: UInt64 = 1
    @Option(help: "Durability of acknowledged writes: none, os (survives a process crash), fsync (survives power loss).")
    var durability: Durability = .os
    @Option(name: .customLong("memory-budget"), help: "Memory for engine caches and write buffers, e.g. 64MiB.")
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

    func validate() throws {
        guard Self.parseBytes(memoryBudget) != nil else {
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
        if keySize < 8 || keySize > 1024 { throw ValidationError("--key-size must be between 8 and 1024 bytes") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("--repeat must be between 1 and 1000") }
        guard memoryLimit == "auto" || memoryLimit == "off" || Self.parseBytes(memoryLimit) != nil else {
            throw ValidationError("cannot read --memory-limit '\(memoryLimit)'; write auto, off, or a size such as 256MiB")
        }
    }

    /// Resolves the workload (built-in or YCSB file); prints the file's warnings.
    func resolveWorkload() throws -> WorkloadDefinition {
        let override = try distribution.map { try skew.distribution(named: $0) }
        if var definition = WorkloadDefinition.builtIn(workload, scanLength: scanLength, distribution: override) {
            if override == nil { definition.requestDistribution = Self.withTheta(definition.requestDistribution, skew.zipfTheta) }
            return definition
        }
        guard FileManager.default.fileExists(atPath: workload) else {
            throw CommandFailure("unknown workload '\(workload)'; choose one of: \(WorkloadDefinition.builtInNames.joined(separator: ", ")), or give the path of a YCSB workload file")
        }
        let text = try String(contentsOfFile: workload, encoding: .utf8)
        let name = URL(fileURLWithPath: workload).lastPathComponent
        let parsed = try WorkloadDefinition.parseYCSB(text, name: name)
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

    /// Builds the configuration for one engine run in `directory`.
    func configuration(directory: String) throws -> BenchmarkConfiguration {
        let definition = try resolveWorkload()
        let recordCount = records ?? definition.recordCount ?? 100_000
        var engineSettings: [String: String] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1)
            engineSettings[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        var warmupOperations = 0
        var warmupSeconds: Double?
        if let warmup, let parsed = Self.parseWarmup(warmup) {
            switch parsed {
            case .operations(let count): warmupOperations = count
            case .seconds(let seconds): warmupSeconds = seconds
            }
        }
        let configuration = BenchmarkConfiguration(
            workload: definition, records: recordCount,
            operations: operations ?? definition.operationCount ?? recordCount,
            durationSeconds: duration, warmupOperations: warmupOperations, warmupSeconds: warmupSeconds,
            threads: threads, targetRate: targetRate, keySize: keySize, valueSize: valueSize, scanLength: scanLength,
            zipfTheta: skew.zipfTheta, hotFraction: skew.hotFraction, hotOperationFraction: skew.hotOperationFraction, seed: seed,
            durability: durability, memoryBudget: Self.parseBytes(memoryBudget)!,
            directory: directory, engineSettings: engineSettings, writerRate: writerRate, showProgress: !quiet
        )
        do {
            try configuration.validate()
        } catch {
            throw CommandFailure(error.description)
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
            guard let number = Double(text.dropLast(suffix.count)), number > 0 else { return nil }
            return Int(number * Double(scale))
        }
        return Int(text).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Prepares the database directory of one engine: a fresh temporary one, or `base` (which must be new or empty).
    func prepareDirectory(engine: String, shared: Bool) throws -> (path: String, temporary: Bool) {
        if let dir {
            let path = shared ? dir + "/" + engine : dir
            if FileSystem.exists(path) {
                let entries = try FileSystem.list(path)
                guard entries.isEmpty else {
                    throw CommandFailure("\(path) is not empty; give a new or empty directory so that no data is overwritten")
                }
            } else {
                try FileSystem.createDirectory(path)
            }
            return (path, false)
        }
        let path = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-\(engine)")
        return (path, true)
    }

    /// Writes results as JSON.
    func writeJSON(_ results: ResultsFile) throws {
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(results)
        try data.write(to: URL(fileURLWithPath: json))
        print("results written to \(json)")
    }
}

