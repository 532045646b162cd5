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
    /// Shortest scan (YCSB minscanlength), for uniform and zipfian scan lengths.
    public var minScanLength: Int = 1
    /// Scan lengths from YCSB's `ZipfianGenerator(minscanlength, maxscanlength)` (favouring short scans).
    public var scanLengthZipfian: Bool = false
    /// YCSB mode: YCSB's keys, records, generators and accounting (nil: KVBench's record-order keys and one value).
    public var ycsb: YCSBSettings?

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
        default: break
        }
        return copy
    }

    /// The scan-length distribution's name as YCSB names it (`constant` for KVBench's fixed length).
    public var scanLengthDistributionName: String {
        scanLengthZipfian ? "zipfian" : (scanLengthUniform ? "uniform" : "constant")
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

/// What YCSB mode adds to a workload: the record layout, the key names, and the raw
/// `insertproportion` YCSB's zipfian predicts inserts from.
public struct YCSBSettings: Sendable, Hashable {
    /// Fields, their lengths, and which operations touch all of them.
    public var layout: YCSBRecordLayout
    /// `"user" + FNV-64(id)` (hashed) or `"user" + id` (ordered), zero-padded.
    public var keys: YCSBKeyBuilder
    /// `insertproportion` as given (not normalised), as CoreWorkload reads it for the zipfian key space.
    public var insertProportion: Double

    /// Creates settings.
    public init(layout: YCSBRecordLayout = YCSBRecordLayout(), keys: YCSBKeyBuilder = YCSBKeyBuilder(hashed: true, zeroPadding: 1),
                insertProportion: Double = 0) {
        self.layout = layout
        self.keys = keys
        self.insertProportion = insertProportion
    }

    /// CoreWorkload's `expectednewkeys`: `(int)(operationcount × insertproportion × 2.0)`.
    public func expectedInserts(operationCount: Int) -> UInt64 {
        let expected = Double(operationCount) * insertProportion * 2
        return expected >= 1 ? UInt64(min(expected, 2_147_483_647)) : 0
    }

    /// How keys are named, for reports: `ycsb-hashed` or `ycsb-ordered`.
    public var keyScheme: String { keys.hashed ? "ycsb-hashed" : "ycsb-ordered" }
}

extension WorkloadDefinition {
    /// The workload without YCSB mode (`--no-ycsb-mode`): KVBench's record-order keys and one value per
    /// record, exact Zipf for zipfian and latest, hashed insert order read as a random load order.
    /// Returns a note when YCSB-only properties thereby lose their effect.
    public func withoutYCSBMode() -> (definition: WorkloadDefinition, warnings: [String]) {
        guard let settings = ycsb else { return (self, []) }
        var copy = self
        copy.ycsb = nil
        copy.loadOrder = settings.keys.hashed ? .random : .sequential
        switch requestDistribution {
        case .ycsbZipfian: copy.requestDistribution = .zipfian(theta: KeyDistribution.defaultTheta)
        case .ycsbLatest: copy.requestDistribution = .latest(theta: KeyDistribution.defaultTheta)
        case .ycsbHotspot(let data, let operations):
            copy.requestDistribution = .hotspot(hotFraction: data, hotOperationFraction: operations)
        default: break
        }
        var warnings: [String] = []
        if settings.layout != YCSBRecordLayout() || settings.keys.zeroPadding != 1 {
            warnings.append("\(name): with --no-ycsb-mode each record is one value of --value-size bytes under a record-order key, so fieldcount, fieldlength, fieldlengthdistribution, readallfields, writeallfields and zeropadding have no effect.")
        }
        return (copy, warnings)
    }

    /// The property text of YCSB's own `workloads/workloada` … `workloadf` (mix, distribution, scans;
    /// record and operation counts left to `--records` and `--operations`), for the `ycsb-*` built-ins.
    public static func ycsbBuiltInProperties(_ name: String) -> String? {
        switch name {
        case "ycsb-a": return "readallfields=true\nreadproportion=0.5\nupdateproportion=0.5\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n"
        case "ycsb-b": return "readallfields=true\nreadproportion=0.95\nupdateproportion=0.05\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n"
        case "ycsb-c": return "readallfields=true\nreadproportion=1\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n"
        case "ycsb-d": return "readallfields=true\nreadproportion=0.95\nupdateproportion=0\nscanproportion=0\ninsertproportion=0.05\nrequestdistribution=latest\n"
        case "ycsb-e": return "readallfields=true\nreadproportion=0\nupdateproportion=0\nscanproportion=0.95\ninsertproportion=0.05\nrequestdistribution=zipfian\nmaxscanlength=100\nscanlengthdistribution=uniform\n"
        case "ycsb-f": return "readallfields=true\nreadproportion=0.5\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nreadmodifywriteproportion=0.5\nrequestdistribution=zipfian\n"
        default: return nil
        }
    }

    /// The `ycsb-*` built-in `name` in YCSB mode (its YCSB property text with `overrides` applied), or nil.
    public static func ycsbBuiltIn(_ name: String, overrides: [String] = []) throws(WorkloadError)
        -> (definition: WorkloadDefinition, warnings: [String])?
    {
        guard let text = ycsbBuiltInProperties(name) else { return nil }
        return try parseYCSB(text, name: name, overrides: overrides)
    }
}
