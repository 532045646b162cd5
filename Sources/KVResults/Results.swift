/// The JSON written by `kvbench run --json` and `kvbench compare --json`:
/// one manifest, one entry per engine run. Field names are a contract
/// (documented in docs/results.md); a figure that cannot be known is `null`.
public struct ResultsFile: Codable, Sendable {
    public var manifest: Manifest
    /// Every repetition of every engine, each with its own figures.
    public var runs: [RunResult]
    /// Per engine, every figure over its repetitions (median, min, max, CI); absent in files from before repetitions.
    public var summary: [EngineSummary]?
    /// Runs whose child process crashed or failed: no figures, only how they ended.
    public var failedRuns: [FailedRun]?
    /// True when the command was interrupted (SIGINT, SIGTERM): `runs` holds what finished, and the last run is partial.
    public var partial: Bool

    public init(manifest: Manifest, runs: [RunResult], summary: [EngineSummary]? = nil, failedRuns: [FailedRun]? = nil, partial: Bool = false) {
        self.manifest = manifest
        self.runs = runs
        self.summary = summary
        self.failedRuns = failedRuns
        self.partial = partial
    }

    enum CodingKeys: String, CodingKey {
        case manifest, runs, summary, partial
        case failedRuns = "failed_runs"
    }

    /// Files written before `partial`, `summary` or `failed_runs` existed read as complete, without them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        manifest = try container.decode(Manifest.self, forKey: .manifest)
        runs = try container.decode([RunResult].self, forKey: .runs)
        summary = try container.decodeIfPresent([EngineSummary].self, forKey: .summary)
        failedRuns = try container.decodeIfPresent([FailedRun].self, forKey: .failedRuns)
        partial = try container.decodeIfPresent(Bool.self, forKey: .partial) ?? false
    }
}

/// Where and with what a result was produced.
public struct Manifest: Codable, Sendable {
    public var tool: String
    public var toolVersion: String
    public var gitCommit: String
    public var engineVersions: [String: String]
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var kernel: String
    public var dataFilesystem: String
    public var startTime: String
    public var command: String
    /// In words: the memory limit the runs ran under, or "memory limit not enforced: <why>".
    public var memoryLimit: String?

    public init(tool: String, toolVersion: String, gitCommit: String, engineVersions: [String: String], cpuModel: String, cores: Int, memoryBytes: UInt64, kernel: String, dataFilesystem: String, startTime: String, command: String) {
        self.tool = tool
        self.toolVersion = toolVersion
        self.gitCommit = gitCommit
        self.engineVersions = engineVersions
        self.cpuModel = cpuModel
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.kernel = kernel
        self.dataFilesystem = dataFilesystem
        self.startTime = startTime
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case tool, command, cores, kernel
        case toolVersion = "tool_version"
        case gitCommit = "git_commit"
        case engineVersions = "engine_versions"
        case cpuModel = "cpu_model"
        case memoryBytes = "memory_bytes"
        case dataFilesystem = "data_filesystem"
        case startTime = "start_time"
        case memoryLimit = "memory_limit"
    }
}

/// One engine's run: its parameters and its phases.
public struct RunResult: Codable, Sendable {
    public var engine: String
    public var engineVersion: String
    public var engineSettings: [String: String]
    public var parameters: RunParameters
    public var phases: [PhaseResult]
    /// 1-based repetition of this engine (nil in files from before repetitions).
    public var repetition: Int?
    /// The memory limit the run's process ran under and its cgroup's figures.
    public var memoryLimit: MemoryLimitResult?
    /// Peak resident set of the run's own process over its whole life (`wait4` `ru_maxrss`).
    public var processPeakRSSBytes: UInt64?

    /// True when the run was interrupted: its last phase stopped early and later phases are missing.
    public var partial: Bool

    public init(engine: String, engineVersion: String, engineSettings: [String: String], parameters: RunParameters, phases: [PhaseResult],
                partial: Bool = false, repetition: Int? = nil, memoryLimit: MemoryLimitResult? = nil, processPeakRSSBytes: UInt64? = nil) {
        self.engine = engine
        self.engineVersion = engineVersion
        self.engineSettings = engineSettings
        self.parameters = parameters
        self.phases = phases
        self.repetition = repetition
        self.memoryLimit = memoryLimit
        self.processPeakRSSBytes = processPeakRSSBytes
        self.partial = partial
    }

    /// Failed operations over every phase.
    public var errors: UInt64 { phases.reduce(0) { $0 + $1.errors } }

    enum CodingKeys: String, CodingKey {
        case engine, parameters, phases, partial, repetition
        case engineVersion = "engine_version"
        case engineSettings = "engine_settings"
        case memoryLimit = "memory_limit"
        case processPeakRSSBytes = "process_peak_rss_bytes"
    }

    /// Files written before `partial` existed read as complete runs.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        engine = try container.decode(String.self, forKey: .engine)
        engineVersion = try container.decode(String.self, forKey: .engineVersion)
        engineSettings = try container.decode([String: String].self, forKey: .engineSettings)
        parameters = try container.decode(RunParameters.self, forKey: .parameters)
        phases = try container.decode([PhaseResult].self, forKey: .phases)
        partial = try container.decodeIfPresent(Bool.self, forKey: .partial) ?? false
        repetition = try container.decodeIfPresent(Int.self, forKey: .repetition)
        memoryLimit = try container.decodeIfPresent(MemoryLimitResult.self, forKey: .memoryLimit)
        processPeakRSSBytes = try container.decodeIfPresent(UInt64.self, forKey: .processPeakRSSBytes)
    }
}

/// Every load parameter, stated in every result.
public struct RunParameters: Codable, Sendable, Hashable {
    public var workload: String
    public var records: Int
    public var operations: Int?
    public var durationSeconds: Double?
    public var warmupOperations: Int?
    public var warmupSeconds: Double?
    public var threads: Int
    public var targetRate: Double?
    public var loop: String
    public var keySize: Int
    public var valueSize: Int
    public var scanLength: Int
    public var distribution: String
    public var zipfTheta: Double
    public var hotFraction: Double
    public var hotOperationFraction: Double
    public var seed: UInt64
    public var durability: String
    public var memoryBudgetBytes: Int
    public var datasetBytes: Int
    public var mix: [String: Double]
    public var writerRate: Double?
    /// How keys are named: `record-order` (KVBench: the id big-endian, padded), `ycsb-hashed` or `ycsb-ordered`.
    public var keyScheme: String? = nil
    /// The generator that drew the request keys, e.g. `ScrambledZipfianGenerator (YCSB)`.
    public var keyGenerator: String? = nil
    /// `ycsb` (READ-MODIFY-WRITE's read and update also counted under READ and UPDATE) or `kvbench`.
    public var accounting: String? = nil
    /// YCSB mode: the record layout (`value_size` is then the stored value's mean length).
    public var record: RecordParameters? = nil
    /// Workloads with scans: the scan length's range and distribution (`scan_length` is seekrandom's `--scan-length`).
    public var minScanLength: Int? = nil
    public var maxScanLength: Int? = nil
    public var scanLengthDistribution: String? = nil
    /// `load-only` or `run-on-loaded` (no load phase: the run opened a database loaded by another process); absent for a run that loads and runs.
    public var phases: String? = nil

    public init(workload: String, records: Int, operations: Int?, durationSeconds: Double?, warmupOperations: Int?, warmupSeconds: Double?, threads: Int, targetRate: Double?, loop: String, keySize: Int, valueSize: Int, scanLength: Int, distribution: String, zipfTheta: Double, hotFraction: Double, hotOperationFraction: Double, seed: UInt64, durability: String, memoryBudgetBytes: Int, datasetBytes: Int, mix: [String: Double], writerRate: Double?) {
        self.workload = workload
        self.records = records
        self.operations = operations
        self.durationSeconds = durationSeconds
        self.warmupOperations = warmupOperations
        self.warmupSeconds = warmupSeconds
        self.threads = threads
        self.targetRate = targetRate
        self.loop = loop
        self.keySize = keySize
        self.valueSize = valueSize
        self.scanLength = scanLength
        self.distribution = distribution
        self.zipfTheta = zipfTheta
        self.hotFraction = hotFraction
        self.hotOperationFraction = hotOperationFraction
        self.seed = seed
        self.durability = durability
        self.memoryBudgetBytes = memoryBudgetBytes
        self.datasetBytes = datasetBytes
        self.mix = mix
        self.writerRate = writerRate
    }

    enum CodingKeys: String, CodingKey {
        case workload, records, operations, threads, loop, distribution, seed, durability, mix
        case durationSeconds = "duration_s"
        case warmupOperations = "warmup_operations"
        case warmupSeconds = "warmup_s"
        case targetRate = "target_rate"
        case keySize = "key_size"
        case valueSize = "value_size"
        case scanLength = "scan_length"
        case zipfTheta = "zipf_theta"
        case hotFraction = "hot_fraction"
        case hotOperationFraction = "hot_op_fraction"
        case memoryBudgetBytes = "memory_budget_bytes"
        case datasetBytes = "dataset_bytes"
        case writerRate = "writer_rate"
        case keyScheme = "key_scheme"
        case keyGenerator = "key_generator"
        case accounting, record
        case minScanLength = "min_scan_length"
        case maxScanLength = "max_scan_length"
        case scanLengthDistribution = "scan_length_distribution"
        case phases
    }
}

/// Latency percentiles of one operation type, in microseconds.
public struct LatencySummary: Codable, Sendable, Hashable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var p9999: Double
    public var max: Double
    public var mean: Double
    public init(p50: Double, p90: Double, p99: Double, p999: Double, p9999: Double, max: Double, mean: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.p9999 = p9999
        self.max = max
        self.mean = mean
    }

}

/// Counts and latencies of one operation type in one phase.
public struct OperationResult: Codable, Sendable {
    public var count: UInt64
    public var errors: UInt64
    public var notFound: UInt64
    /// Closed loop: service time. Open loop: from each request's intended start.
    public var latencyUs: LatencySummary
    /// Open loop only: from the actual start.
    public var serviceUs: LatencySummary?
    /// Latency at each percentile of a fixed ladder (for charts), in microseconds.
    public var percentileCurve: [PercentilePoint]

    public init(count: UInt64, errors: UInt64, notFound: UInt64, latencyUs: LatencySummary, serviceUs: LatencySummary?, percentileCurve: [PercentilePoint]) {
        self.count = count
        self.errors = errors
        self.notFound = notFound
        self.latencyUs = latencyUs
        self.serviceUs = serviceUs
        self.percentileCurve = percentileCurve
    }

    enum CodingKeys: String, CodingKey {
        case count, errors
        case notFound = "not_found"
        case latencyUs = "latency_us"
        case serviceUs = "service_us"
        case percentileCurve = "percentile_curve"
    }
}

/// One point of a latency-by-percentile curve.
public struct PercentilePoint: Codable, Sendable, Hashable {
    public var percentile: Double
    public var us: Double
    public init(percentile: Double, us: Double) {
        self.percentile = percentile
        self.us = us
    }

}

/// Cumulative compaction work within a phase.
public struct CompactionResult: Codable, Sendable {
    public var count: UInt64
    public var bytesRead: UInt64
    public var bytesWritten: UInt64
    public var wallS: Double
    public var cpuS: Double
    public var stallS: Double

    public init(count: UInt64, bytesRead: UInt64, bytesWritten: UInt64, wallS: Double, cpuS: Double, stallS: Double) {
        self.count = count
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.wallS = wallS
        self.cpuS = cpuS
        self.stallS = stallS
    }

    enum CodingKeys: String, CodingKey {
        case count
        case bytesRead = "bytes_read"
        case bytesWritten = "bytes_written"
        case wallS = "wall_s"
        case cpuS = "cpu_s"
        case stallS = "stall_s"
    }
}

/// One second of a phase.
public struct TimeSeriesPoint: Codable, Sendable {
    public var tS: Double
    public var ops: UInt64
    public var p99Us: Double?
    public var compactions: UInt64?
    public var stallS: Double?

    public init(tS: Double, ops: UInt64, p99Us: Double?, compactions: UInt64?, stallS: Double?) {
        self.tS = tS
        self.ops = ops
        self.p99Us = p99Us
        self.compactions = compactions
        self.stallS = stallS
    }

    enum CodingKeys: String, CodingKey {
        case ops, compactions
        case tS = "t_s"
        case p99Us = "p99_us"
        case stallS = "stall_s"
    }
}

/// Everything measured in one phase (`load` or `run`).
public struct PhaseResult: Codable, Sendable {
    public var name: String
    public var elapsedS: Double
    public var operations: UInt64
    public var throughputOpsS: Double
    public var ops: [String: OperationResult]
    public var userBytesWritten: UInt64
    public var engineBytesWritten: UInt64?
    public var osWriteBytes: UInt64?
    public var osReadBytes: UInt64?
    public var wchar: UInt64?
    public var writeAmpEngine: Double?
    public var writeAmpOS: Double?
    public var readAmp: Double?
    public var readAmpBytes: Double?
    public var spaceAmp: Double?
    public var diskBytes: UInt64
    public var liveBytes: UInt64
    public var compaction: CompactionResult?
    public var peakRSSBytes: UInt64?
    public var cpuS: Double?
    public var timeseries: [TimeSeriesPoint]
    public var engineCounters: [String: Double]
    /// "cold" when the phase started with none of its files in the OS page cache, "warm" when it follows a phase that left them there.
    public var pageCache: String?
    /// Where the engine view came from: `engine` (its own counters), `wchar` (no counter: the issued view), or nil.
    public var engineWriteSource: String?
    /// `wchar / user_bytes_written`: the issued view.
    public var writeAmpIssued: Double?
    /// Sectors written on the data directory's block device × 512 over the phase (machine-wide), or nil.
    public var deviceWriteBytes: UInt64?
    /// `device_write_bytes / user_bytes_written`: the device view.
    public var writeAmpDevice: Double?
    /// The block device `device_write_bytes` was read from, or nil.
    public var deviceName: String?
    /// The phase as YCSB reports it, by YCSB's operation names (`READ`, `UPDATE`, `READ-MODIFY-WRITE`, …).
    public var ycsbOperations: [String: YCSBOperationResult]?

    /// Failed operations of every kind (the sum of `ops[].errors`); `throughputOpsS` leaves them out.
    public var errors: UInt64 { ops.values.reduce(0) { $0 + $1.errors } }

    public init(name: String, elapsedS: Double, operations: UInt64, throughputOpsS: Double, ops: [String: OperationResult], userBytesWritten: UInt64, engineBytesWritten: UInt64?, osWriteBytes: UInt64?, osReadBytes: UInt64?, wchar: UInt64?, writeAmpEngine: Double?, writeAmpOS: Double?, readAmp: Double?, readAmpBytes: Double?, spaceAmp: Double?, diskBytes: UInt64, liveBytes: UInt64, compaction: CompactionResult?, peakRSSBytes: UInt64?, cpuS: Double?, timeseries: [TimeSeriesPoint], engineCounters: [String: Double]) {
        self.name = name
        self.elapsedS = elapsedS
        self.operations = operations
        self.throughputOpsS = throughputOpsS
        self.ops = ops
        self.userBytesWritten = userBytesWritten
        self.engineBytesWritten = engineBytesWritten
        self.osWriteBytes = osWriteBytes
        self.osReadBytes = osReadBytes
        self.wchar = wchar
        self.writeAmpEngine = writeAmpEngine
        self.writeAmpOS = writeAmpOS
        self.readAmp = readAmp
        self.readAmpBytes = readAmpBytes
        self.spaceAmp = spaceAmp
        self.diskBytes = diskBytes
        self.liveBytes = liveBytes
        self.compaction = compaction
        self.peakRSSBytes = peakRSSBytes
        self.cpuS = cpuS
        self.timeseries = timeseries
        self.engineCounters = engineCounters
        pageCache = nil
        ycsbOperations = nil
    }

    enum CodingKeys: String, CodingKey {
        case name, operations, ops, wchar, compaction, timeseries
        case elapsedS = "elapsed_s"
        case throughputOpsS = "throughput_ops_s"
        case userBytesWritten = "user_bytes_written"
        case engineBytesWritten = "engine_bytes_written"
        case osWriteBytes = "os_write_bytes"
        case osReadBytes = "os_read_bytes"
        case writeAmpEngine = "write_amp_engine"
        case writeAmpOS = "write_amp_os"
        case readAmp = "read_amp"
        case readAmpBytes = "read_amp_bytes"
        case spaceAmp = "space_amp"
        case diskBytes = "disk_bytes"
        case liveBytes = "live_bytes"
        case peakRSSBytes = "peak_rss_bytes"
        case cpuS = "cpu_s"
        case engineCounters = "engine_counters"
        case pageCache = "page_cache"
        case engineWriteSource = "engine_write_source"
        case writeAmpIssued = "write_amp_issued"
        case deviceWriteBytes = "device_write_bytes"
        case writeAmpDevice = "write_amp_device"
        case deviceName = "device_name"
        case ycsbOperations = "ycsb_operations"
    }

    /// Fields written for readers but computed from others (not decoded).
    enum DerivedKeys: String, CodingKey { case errors }

    /// Encodes optionals as explicit `null`, so a reader sees "unknown" rather than a missing field.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(elapsedS, forKey: .elapsedS)
        try container.encode(operations, forKey: .operations)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(errors, forKey: .errors)
        try container.encode(throughputOpsS, forKey: .throughputOpsS)
        try container.encode(ops, forKey: .ops)
        try container.encode(userBytesWritten, forKey: .userBytesWritten)
        try container.encode(engineBytesWritten, forKey: .engineBytesWritten)
        try container.encode(osWriteBytes, forKey: .osWriteBytes)
        try container.encode(osReadBytes, forKey: .osReadBytes)
        try container.encode(wchar, forKey: .wchar)
        try container.encode(writeAmpEngine, forKey: .writeAmpEngine)
        try container.encode(writeAmpOS, forKey: .writeAmpOS)
        try container.encode(readAmp, forKey: .readAmp)
        try container.encode(readAmpBytes, forKey: .readAmpBytes)
        try container.encode(spaceAmp, forKey: .spaceAmp)
        try container.encode(diskBytes, forKey: .diskBytes)
        try container.encode(liveBytes, forKey: .liveBytes)
        try container.encode(compaction, forKey: .compaction)
        try container.encode(peakRSSBytes, forKey: .peakRSSBytes)
        try container.encode(cpuS, forKey: .cpuS)
        try container.encode(timeseries, forKey: .timeseries)
        try container.encode(engineCounters, forKey: .engineCounters)
        try container.encode(pageCache, forKey: .pageCache)
        try container.encode(engineWriteSource, forKey: .engineWriteSource)
        try container.encode(writeAmpIssued, forKey: .writeAmpIssued)
        try container.encode(deviceWriteBytes, forKey: .deviceWriteBytes)
        try container.encode(writeAmpDevice, forKey: .writeAmpDevice)
        try container.encode(deviceName, forKey: .deviceName)
        try container.encode(ycsbOperations, forKey: .ycsbOperations)
    }
}
