import KVStore

/// How a crash test crashes the child.
public enum CrashMode: String, Sendable, Codable, CaseIterable {
    /// SIGKILL: the OS page cache survives, so unsynced writes survive too.
    case process
    /// Simulated power loss: everything not synced is dropped.
    case power
}

/// The outcome of `kvbench crash-test` for one engine, durability and mode.
public struct CrashTestReport: Sendable, Codable, Equatable {
    public var engine: String
    public var durability: String
    public var mode: String
    /// How the power loss was simulated (`syscall trace (LD_PRELOAD)`, `fault layer`), or `SIGKILL`.
    public var method: String
    public var seed: UInt64
    /// Whether the durability mode promises that acknowledged writes survive this kind of crash.
    public var promised: Bool
    /// The worker's writer threads.
    public var threads = 1
    public var crashes = 0
    public var recoveries = 0
    public var operationsIssued = 0
    public var acknowledgedChecked = 0
    public var lost = 0
    public var wrongValues = 0
    public var holes = 0
    public var tornBatches = 0
    public var corruptionDetected = 0
    /// Opens that failed with an error other than corruption.
    public var openFailures = 0
    /// Verifying children that crashed instead of reporting.
    public var verifierCrashes = 0
    /// Operations that returned an error in the worker.
    public var workerErrors = 0
    /// Times the store could not be used after a crash and was recreated empty to go on.
    public var restarts = 0
    /// Rounds that ended at a named crash point (fault layer), by point.
    public var crashPoints: [String: Int] = [:]
    /// `pass`, `FAIL`, `not covered`, or `losses allowed` (the mode does not promise survival,
    /// and writes were lost or came back with holes).
    public var status = "pass"
    /// What was seen, in sentences (first failures, coverage limits).
    public var notes: [String] = []

    enum CodingKeys: String, CodingKey {
        case engine, durability, mode, method, seed, promised, threads, crashes, recoveries
        case operationsIssued = "operations_issued"
        case acknowledgedChecked = "acknowledged_checked"
        case lost
        case wrongValues = "wrong_values"
        case holes
        case tornBatches = "torn_batches"
        case corruptionDetected = "corruption_detected"
        case openFailures = "open_failures"
        case verifierCrashes = "verifier_crashes"
        case workerErrors = "worker_errors"
        case restarts
        case crashPoints = "crash_points"
        case status, notes
    }

    public init(engine: String, durability: Durability, mode: CrashMode, method: String, seed: UInt64, promised: Bool) {
        self.engine = engine
        self.durability = durability.rawValue
        self.mode = mode.rawValue
        self.method = method
        self.seed = seed
        self.promised = promised
    }

    /// Decides `status` from the counters.
    mutating func conclude(covered: Bool) {
        let failed = wrongValues > 0 || tornBatches > 0 || verifierCrashes > 0 || openFailures > 0
            || (promised && (lost > 0 || holes > 0 || corruptionDetected > 0))
        if failed {
            status = "FAIL"
        } else if !covered || recoveries == 0 {
            status = "not covered"
        } else if lost > 0 || holes > 0 {
            status = "losses allowed"
        } else {
            status = "pass"
        }
    }

    /// The report as text, one figure per line.
    public var text: String {
        var lines = [
            "crash-test \(engine) durability=\(durability) mode=\(mode) (\(method)), seed \(seed)\(threads > 1 ? ", \(threads) writer threads" : "")",
            "  durability promise covers this crash: \(promised ? "yes" : "no (losses are allowed, counted)")",
            "  crashes               \(crashes)",
            "  recoveries            \(recoveries)",
            "  operations_issued     \(operationsIssued)",
            "  acknowledged_checked  \(acknowledgedChecked)",
            "  lost                  \(lost)",
            "  wrong_values          \(wrongValues)",
            "  holes                 \(holes)",
            "  torn_batches          \(tornBatches)",
            "  corruption_detected   \(corruptionDetected)",
            "  open_failures         \(openFailures)",
            "  verifier_crashes      \(verifierCrashes)",
            "  worker_errors         \(workerErrors)",
            "  restarts              \(restarts)",
            "  status                \(status)",
        ]
        if !crashPoints.isEmpty {
            lines.append("  crash points hit:     " + crashPoints.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
