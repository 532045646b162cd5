/// One entry of a run-phase operation mix.
public struct OperationWeight: Sendable, Hashable {
    /// The operation.
    public var kind: OperationKind
    /// Its share of the mix (weights are normalized by their sum).
    public var weight: Double

    /// Creates a mix entry.
    public init(kind: OperationKind, weight: Double) {
        self.kind = kind
        self.weight = weight
    }
}

/// What a workload does: load order, run-phase mix, request distribution, scans.
/// Built-in ones by name, or from a YCSB property file.
public struct WorkloadDefinition: Sendable, Hashable {
    /// The order of the load phase.
    public enum LoadOrder: String, Sendable, Hashable { case sequential, random }

    /// How the runner treats a workload beyond its mix.
    public enum Special: String, Sendable, Hashable {
        case none
        /// `readseq`: one cursor walks the records in order.
        case readSequential
        /// `readwhilewriting`: readers on all threads but one, one writer at a steady rate.
        case readWhileWriting
        /// `deleterandom`: deletes of uniformly chosen records.
        case deleteRandom
    }

    /// The workload's name (a built-in name, or the one given to `parseYCSB`).
    public var name: String
    /// fillseq: sequential; everything else: random.
    public var loadOrder: LoadOrder
    /// False for fillseq and fillrandom (load only).
    public var hasRunPhase: Bool
    /// Run-phase mix, in a fixed order; zero weights are allowed and never drawn.
    public var proportions: [OperationWeight]
    /// Which records the run phase touches.
    public var requestDistribution: KeyDistribution
    /// Longest scan (YCSB maxscanlength); the constant length when `scanLengthUniform` is false.
    public var maxScanLength: Int
    /// Scan lengths uniform in 1...maxScanLength (true) or constant maxScanLength (false).
    public var scanLengthUniform: Bool
    /// `recordcount` from a property file, if given.
    public var recordCount: Int?
    /// `operationcount` from a property file, if given.
    public var operationCount: Int?
    /// How the runner treats it.
    public var special: Special
    /// `fieldcount` from a property file, if given (KVBench writes one value of `--value-size` bytes).
    public var fieldCount: Int?
    /// `fieldlength` from a property file, if given (KVBench writes one value of `--value-size` bytes).
    public var fieldLength: Int?

    /// Creates a definition.
    public init(name: String, loadOrder: LoadOrder, hasRunPhase: Bool, proportions: [OperationWeight],
                requestDistribution: KeyDistribution, maxScanLength: Int, scanLengthUniform: Bool,
                recordCount: Int? = nil, operationCount: Int? = nil, special: Special = .none,
                fieldCount: Int? = nil, fieldLength: Int? = nil) {
        self.name = name
        self.loadOrder = loadOrder
        self.hasRunPhase = hasRunPhase
        self.proportions = proportions
        self.requestDistribution = requestDistribution
        self.maxScanLength = maxScanLength
        self.scanLengthUniform = scanLengthUniform
        self.recordCount = recordCount
        self.operationCount = operationCount
        self.special = special
        self.fieldCount = fieldCount
        self.fieldLength = fieldLength
    }

    /// The same workload with `theta` as the exponent of a zipfian or latest request distribution
    /// (for `--zipf-theta` with a property file; other distributions are returned unchanged).
    public func withZipfTheta(_ theta: Double) -> WorkloadDefinition {
        var copy = self
        switch requestDistribution {
        case .zipfian: copy.requestDistribution = .zipfian(theta: theta)
        case .latest: copy.requestDistribution = .latest(theta: theta)
        case .uniform, .sequential, .hotspot: break
        }
        return copy
    }

    /// True when the run phase inserts new records.
    public var insertsRecords: Bool {
        proportions.contains { $0.kind == .insert && $0.weight > 0 }
    }

    /// Every built-in workload name, in the order `kvbench list` shows them.
    public static let builtInNames: [String] = [
        "fillseq", "fillrandom", "overwrite", "readrandom", "readseq", "seekrandom", "deleterandom",
        "readwhilewriting", "ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f",
    ]

    /// The built-in workload `name`, or nil. `scanLength` is `--scan-length` (default 10), used by
    /// seekrandom; `distribution` (from `--distribution`) overrides the request distribution.
    public static func builtIn(_ name: String, scanLength: Int, distribution: KeyDistribution?) -> WorkloadDefinition? {
        let zipfian = KeyDistribution.zipfian(theta: KeyDistribution.defaultTheta)
        func mix(_ entries: (OperationKind, Double)...) -> [OperationWeight] {
            entries.map { OperationWeight(kind: $0.0, weight: $0.1) }
        }
        var definition: WorkloadDefinition
        switch name {
        case "fillseq", "fillrandom":
            definition = WorkloadDefinition(
                name: name, loadOrder: name == "fillseq" ? .sequential : .random, hasRunPhase: false,
                proportions: [], requestDistribution: .uniform, maxScanLength: scanLength, scanLengthUniform: false)
        case "overwrite":
            definition = simple(name, mix((.update, 1)), .uniform, scanLength)
        case "readrandom":
            definition = simple(name, mix((.read, 1)), .uniform, scanLength)
        case "readseq":
            definition = simple(name, mix((.read, 1)), .sequential, scanLength)
            definition.special = .readSequential
        case "seekrandom":
            definition = simple(name, mix((.scan, 1)), .uniform, scanLength)
        case "deleterandom":
            definition = simple(name, mix((.delete, 1)), .uniform, scanLength)
            definition.special = .deleteRandom
        case "readwhilewriting":
            definition = simple(name, mix((.read, 1)), .uniform, scanLength)
            definition.special = .readWhileWriting
        case "ycsb-a":
            definition = simple(name, mix((.read, 0.5), (.update, 0.5)), zipfian, 100)
        case "ycsb-b":
            definition = simple(name, mix((.read, 0.95), (.update, 0.05)), zipfian, 100)
        case "ycsb-c":
            definition = simple(name, mix((.read, 1)), zipfian, 100)
        case "ycsb-d":
            definition = simple(name, mix((.read, 0.95), (.insert, 0.05)),
                                .latest(theta: KeyDistribution.defaultTheta), 100)
        case "ycsb-e":
            definition = simple(name, mix((.scan, 0.95), (.insert, 0.05)), zipfian, 100)
            definition.scanLengthUniform = true
        case "ycsb-f":
            definition = simple(name, mix((.read, 0.5), (.readModifyWrite, 0.5)), zipfian, 100)
        default:
            return nil
        }
        if let distribution { definition.requestDistribution = distribution }
        return definition
    }

    private static func simple(_ name: String, _ proportions: [OperationWeight], _ distribution: KeyDistribution,
                               _ scanLength: Int) -> WorkloadDefinition {
        WorkloadDefinition(name: name, loadOrder: .random, hasRunPhase: true, proportions: proportions,
                           requestDistribution: distribution, maxScanLength: scanLength, scanLengthUniform: false)
    }
}
