/// The spread of one figure over repetitions: the median, the extremes and a
/// distribution-free confidence interval of the median from order statistics
/// (the sorted values x(k) and x(n+1-k), k the largest index whose binomial
/// coverage 1 − 2·P(Bin(n, ½) ≤ k−1) is at least 95 %). Below six repetitions
/// no such k exists: the interval is [min, max] and `ciCoverage` its actual coverage.
public struct Spread: Codable, Sendable, Hashable {
    public var n: Int
    public var median: Double
    public var min: Double
    public var max: Double
    public var ciLow: Double
    public var ciHigh: Double
    /// The probability that [ciLow, ciHigh] holds the true median (≥ 0.95 from six repetitions on).
    public var ciCoverage: Double

    enum CodingKeys: String, CodingKey {
        case n, median, min, max
        case ciLow = "ci_low"
        case ciHigh = "ci_high"
        case ciCoverage = "ci_coverage"
    }

    /// The spread of `values`; nil when there are none.
    public init?(_ values: [Double]) {
        let sorted = values.filter(\.isFinite).sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        n = sorted.count
        let middle = n / 2
        median = n % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = first
        max = last
        let (k, coverage) = Self.orderStatistic(n: n)
        ciLow = sorted[k - 1]
        ciHigh = sorted[n - k]
        ciCoverage = coverage
    }

    /// The largest k (1-based) with coverage ≥ 0.95, or 1 with its coverage when none reaches it.
    public static func orderStatistic(n: Int, level: Double = 0.95) -> (k: Int, coverage: Double) {
        guard n > 1 else { return (1, 0) }
        // P(B ≤ j) for B ~ Bin(n, 1/2): C(n, j) / 2^n built up term by term (exact enough up to n ≈ 1000).
        var cumulative: [Double] = []
        var term = 1.0, total = 0.0
        for _ in 0..<n { term *= 0.5 }
        for j in 0...(n / 2) {
            if j > 0 { term *= Double(n - j + 1) / Double(j) }
            total += term
            cumulative.append(total)
        }
        var best = (k: 1, coverage: 1 - 2 * cumulative[0])
        var k = 2
        while k <= n / 2 {
            let coverage = 1 - 2 * cumulative[k - 1]
            if coverage < level { break }
            best = (k, coverage)
            k += 1
        }
        return best
    }

    /// True when this interval and `other`'s share no value.
    public func disjoint(from other: Spread) -> Bool { ciHigh < other.ciLow || other.ciHigh < ciLow }
}

/// The figures of one engine over its repetitions: per phase, per metric, a `Spread`.
public struct EngineSummary: Codable, Sendable {
    public var engine: String
    public var repetitions: Int
    public var phases: [String: [String: Spread]]

    public init(engine: String, repetitions: Int, phases: [String: [String: Spread]]) {
        self.engine = engine
        self.repetitions = repetitions
        self.phases = phases
    }

    /// One summary per engine (in first-seen order) over every run of that engine.
    public static func summarize(_ runs: [RunResult]) -> [EngineSummary] {
        var order: [String] = []
        var byEngine: [String: [RunResult]] = [:]
        for run in runs {
            if byEngine[run.engine] == nil { order.append(run.engine) }
            byEngine[run.engine, default: []].append(run)
        }
        return order.map { engine in
            let group = byEngine[engine]!
            var phases: [String: [String: Spread]] = [:]
            for name in Set(group.flatMap { $0.phases.map(\.name) }) {
                let phaseResults = group.compactMap { run in run.phases.first { $0.name == name } }
                var metrics: [String: [Double]] = [:]
                for phase in phaseResults {
                    for (metric, value) in PhaseMetrics.values(of: phase) { metrics[metric, default: []].append(value) }
                }
                phases[name] = metrics.compactMapValues { Spread($0) }
            }
            return EngineSummary(engine: engine, repetitions: group.count, phases: phases)
        }
    }
}

/// The figures of a phase that are summarized over repetitions, by the names used in `summary`.
public enum PhaseMetrics {
    public static func values(of phase: PhaseResult) -> [(String, Double)] {
        var values: [(String, Double)] = [("throughput_ops_s", phase.throughputOpsS), ("elapsed_s", phase.elapsedS)]
        for (kind, result) in phase.ops.sorted(by: { $0.key < $1.key }) where result.count > 0 {
            values += [("\(kind).p50_us", result.latencyUs.p50), ("\(kind).p99_us", result.latencyUs.p99),
                       ("\(kind).p999_us", result.latencyUs.p999), ("\(kind).max_us", result.latencyUs.max),
                       ("\(kind).errors", Double(result.errors))]
        }
        let optional: [(String, Double?)] = [
            ("write_amp_engine", phase.writeAmpEngine), ("write_amp_os", phase.writeAmpOS), ("read_amp", phase.readAmp),
            ("space_amp", phase.spaceAmp), ("peak_rss_bytes", phase.peakRSSBytes.map(Double.init)), ("cpu_s", phase.cpuS),
        ]
        for (name, value) in optional { if let value { values.append((name, value)) } }
        return values
    }
}

/// A run that produced no result: its child process crashed, was killed or failed.
public struct FailedRun: Codable, Sendable {
    public var engine: String
    public var repetition: Int
    /// "killed by signal 6 (SIGABRT)", "exited with status 1", …
    public var termination: String
    public var signal: Int32?
    public var exitStatus: Int32?
    /// The last lines the child wrote to standard error.
    public var stderrTail: [String]
    public var memoryLimit: MemoryLimitResult?

    public init(engine: String, repetition: Int, termination: String, signal: Int32?, exitStatus: Int32?, stderrTail: [String], memoryLimit: MemoryLimitResult?) {
        self.engine = engine
        self.repetition = repetition
        self.termination = termination
        self.signal = signal
        self.exitStatus = exitStatus
        self.stderrTail = stderrTail
        self.memoryLimit = memoryLimit
    }

    enum CodingKeys: String, CodingKey {
        case engine, repetition, termination, signal
        case exitStatus = "exit_status"
        case stderrTail = "stderr_tail"
        case memoryLimit = "memory_limit"
    }
}

/// The memory limit one run ran under, and what its cgroup recorded.
public struct MemoryLimitResult: Codable, Sendable, Hashable {
    /// The limit in bytes; nil when none was enforced.
    public var limitBytes: UInt64?
    public var enforced: Bool
    /// One sentence: "enforced by cgroup v1 …" or "memory limit not enforced: …".
    public var note: String
    /// "v1" or "v2" when enforced.
    public var cgroup: String?
    /// The cgroup's recorded peak (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`): heap and page cache.
    public var peakBytes: UInt64?
    /// Anonymous and file-backed memory (v1 `rss`/`cache`, v2 `anon`/`file` of `memory.stat`) at the highest sampled usage.
    public var anonymousBytesAtPeak: UInt64?
    public var fileBytesAtPeak: UInt64?
    /// How often the limit was reached (reclaim was forced), and OOM kills.
    public var limitHits: UInt64?
    public var oomKills: UInt64?

    public init(limitBytes: UInt64?, enforced: Bool, note: String, cgroup: String? = nil, peakBytes: UInt64? = nil,
                anonymousBytesAtPeak: UInt64? = nil, fileBytesAtPeak: UInt64? = nil, limitHits: UInt64? = nil, oomKills: UInt64? = nil) {
        self.limitBytes = limitBytes
        self.enforced = enforced
        self.note = note
        self.cgroup = cgroup
        self.peakBytes = peakBytes
        self.anonymousBytesAtPeak = anonymousBytesAtPeak
        self.fileBytesAtPeak = fileBytesAtPeak
        self.limitHits = limitHits
        self.oomKills = oomKills
    }

    enum CodingKeys: String, CodingKey {
        case enforced, note, cgroup
        case limitBytes = "limit_bytes"
        case peakBytes = "peak_bytes"
        case anonymousBytesAtPeak = "anonymous_bytes_at_peak"
        case fileBytesAtPeak = "file_bytes_at_peak"
        case limitHits = "limit_hits"
        case oomKills = "oom_kills"
    }
}
