import KVResults
import KVStore
import KVWorkloads

/// The phases one benchmark run performs.
public enum PhaseSelection: String, Sendable {
    case loadAndRun = "load-and-run"
    /// The load phase only, then the store is closed: a loaded database for `runOnLoaded` runs.
    case loadOnly = "load-only"
    /// No load: opens the database `loadOnly` left in the directory (it must exist) and runs the warm-up and run phases.
    case runOnLoaded = "run-on-loaded"
}

/// Everything that defines one benchmark run of one engine. Two runs with
/// the same configuration (and seed) issue the same operation stream.
public struct BenchmarkConfiguration: Sendable {
    public var workload: WorkloadDefinition
    public var records: Int
    /// Run-phase operations across all threads (ignored when `durationSeconds` is set).
    public var operations: Int
    public var durationSeconds: Double?
    public var warmupOperations: Int
    public var warmupSeconds: Double?
    public var threads: Int
    /// Open loop when set: operations per second across all threads.
    public var targetRate: Double?
    /// With `targetRate`: false runs the load phase in closed loop (as fast as it goes) and paces only the
    /// warm-up and run phases (`capacity` probes, which load a fresh database at every offered rate).
    public var pacesLoad = true
    /// Which phases run: both (the default), the load only (a database to copy for several runs), or the
    /// warm-up and run phases on a database already loaded in `directory` (`sweep --share-load`).
    public var phases: PhaseSelection = .loadAndRun
    public var keySize: Int
    public var valueSize: Int
    public var scanLength: Int
    public var zipfTheta: Double
    public var hotFraction: Double
    public var hotOperationFraction: Double
    public var seed: UInt64
    public var durability: Durability
    public var memoryBudget: Int
    /// The database directory (must not hold another store).
    public var directory: String
    public var engineSettings: [String: String]
    /// Updates per second of the single writer in `readwhilewriting`.
    public var writerRate: Double
    /// Show a live progress line on standard error.
    public var showProgress: Bool

    public init(workload: WorkloadDefinition, records: Int, operations: Int, durationSeconds: Double? = nil,
                warmupOperations: Int = 0, warmupSeconds: Double? = nil, threads: Int = 1, targetRate: Double? = nil,
                keySize: Int = 16, valueSize: Int = 100, scanLength: Int = 10, zipfTheta: Double = 0.99,
                hotFraction: Double = 0.2, hotOperationFraction: Double = 0.8, seed: UInt64 = 1,
                durability: Durability = .os, memoryBudget: Int = StoreOptions.defaultMemoryBudget,
                directory: String, engineSettings: [String: String] = [:], writerRate: Double = 10_000,
                showProgress: Bool = false) {
        self.workload = workload
        self.records = records
        self.operations = operations
        self.durationSeconds = durationSeconds
        self.warmupOperations = warmupOperations
        self.warmupSeconds = warmupSeconds
        self.threads = threads
        self.targetRate = targetRate
        self.keySize = keySize
        self.valueSize = valueSize
        self.scanLength = scanLength
        self.zipfTheta = zipfTheta
        self.hotFraction = hotFraction
        self.hotOperationFraction = hotOperationFraction
        self.seed = seed
        self.durability = durability
        self.memoryBudget = memoryBudget
        self.directory = directory
        self.engineSettings = engineSettings
        self.writerRate = writerRate
        self.showProgress = showProgress
    }

    /// Bytes of one key: `keySize`, or in YCSB mode the mean length of the YCSB key names of the loaded records.
    public var keyBytes: Double {
        guard let ycsb = workload.ycsb else { return Double(keySize) }
        return ycsb.keys.meanLength(records: UInt64(max(0, records)))
    }

    /// Bytes of one stored value: `valueSize`, or in YCSB mode the encoded record's (expected) length.
    public var valueBytes: Double {
        workload.ycsb?.layout.valueBytes ?? Double(valueSize)
    }

    /// The parameters as they appear in results.
    public var parameters: RunParameters {
        var mix: [String: Double] = [:]
        for weight in workload.proportions where weight.weight > 0 { mix[weight.kind.rawValue] = weight.weight }
        let keyLength = Int(keyBytes.rounded())
        let valueLength = Int(valueBytes.rounded())
        var parameters = RunParameters(
            workload: workload.name, records: records,
            operations: workload.hasRunPhase && durationSeconds == nil ? operations : nil,
            durationSeconds: durationSeconds,
            warmupOperations: warmupOperations > 0 ? warmupOperations : nil,
            warmupSeconds: warmupSeconds, threads: threads, targetRate: targetRate,
            loop: targetRate == nil ? "closed" : pacesLoad ? "open" : "open (run phase; closed-loop load)",
            keySize: keyLength, valueSize: valueLength, scanLength: scanLength,
            distribution: workload.requestDistribution.name, zipfTheta: zipfTheta,
            hotFraction: hotFraction, hotOperationFraction: hotOperationFraction, seed: seed,
            durability: durability.rawValue, memoryBudgetBytes: memoryBudget,
            datasetBytes: Int((Double(records) * (keyBytes + valueBytes)).rounded()), mix: mix,
            writerRate: workload.special == .readWhileWriting ? writerRate : nil
        )
        parameters.keyScheme = workload.ycsb?.keyScheme ?? "record-order"
        parameters.keyGenerator = workload.requestDistribution.generator
        parameters.accounting = workload.ycsb == nil ? "kvbench" : "ycsb"
        if phases != .loadAndRun { parameters.phases = phases.rawValue }
        if let layout = workload.ycsb?.layout {
            parameters.record = RecordParameters(
                fieldCount: layout.fieldCount, fieldLength: layout.fieldLength, minFieldLength: layout.minFieldLength,
                fieldLengthDistribution: layout.fieldLengthDistribution.rawValue, fieldNamePrefix: layout.fieldNamePrefix,
                readAllFields: layout.readAllFields, writeAllFields: layout.writeAllFields,
                recordBytes: layout.recordBytes, valueBytes: layout.valueBytes,
                encoding: "one value per record: for each field in order, u32 big-endian name length, name, u32 big-endian data length, data (YCSB's key-value binding encoding)")
        }
        if workload.proportions.contains(where: { $0.kind == .scan && $0.weight > 0 }) {
            parameters.minScanLength = workload.scanLengthUniform || workload.scanLengthZipfian ? workload.minScanLength : workload.maxScanLength
            parameters.maxScanLength = workload.maxScanLength
            parameters.scanLengthDistribution = workload.scanLengthDistributionName
        }
        return parameters
    }

    /// Checks every parameter against its range (`ParameterRanges`) and the combination, before anything is opened;
    /// the message names the value, the rule and what to change.
    public func validate() throws(WorkloadError) {
        try ParameterRanges.records.check(records)
        if durationSeconds == nil && workload.hasRunPhase { try ParameterRanges.operations.check(operations) }
        if let durationSeconds { try ParameterRanges.durationSeconds.check(durationSeconds) }
        try ParameterRanges.warmupOperations.check(warmupOperations)
        if let warmupSeconds { try ParameterRanges.warmupSeconds.check(warmupSeconds) }
        try ParameterRanges.threads.check(threads)
        if workload.special == .readWhileWriting && threads < 2 {
            throw WorkloadError("readwhilewriting needs --threads 2 or more (one writer, the rest readers)")
        }
        if let targetRate { try ParameterRanges.targetRate.check(targetRate) }
        if workload.ycsb == nil {
            try ParameterRanges.keySize.check(keySize)
            try ParameterRanges.valueSize.check(valueSize)
        }
        try ParameterRanges.scanLength.check(scanLength)
        try ParameterRanges.zipfTheta.check(zipfTheta)
        try ParameterRanges.hotFraction.check(hotFraction)
        try ParameterRanges.hotOperationFraction.check(hotOperationFraction)
        if workload.special == .readWhileWriting { try ParameterRanges.writerRate.check(writerRate) }
        try ParameterRanges.checkMemoryBudget(memoryBudget, physical: SystemManifest.memoryBytes())
        try ParameterRanges.checkDataset(records: records, keySize: Int(keyBytes.rounded(.up)), valueSize: Int(valueBytes.rounded(.up)))
    }
}
