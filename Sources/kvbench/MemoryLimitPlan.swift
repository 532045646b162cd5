import KVProcess
import KVResults

/// What `--memory-limit` resolves to on this machine, decided once before the runs.
enum MemoryLimitPlan {
    case off
    case notEnforced(reason: String)
    case enforce(parent: String, version: MemoryCgroup.Version, bytes: UInt64, explicit: Bool)

    /// Memory allowed for the harness itself on top of the memory budget under `auto`:
    /// the Swift runtime and the kvbench binary's own data, latency histograms, the time
    /// series and the key generator (the null engine's whole process peaks at about 20 MiB).
    static let harnessAllowance = 64 << 20

    /// `auto`, `off` or a size, against what this process may do with cgroups.
    static func resolve(_ option: String, memoryBudget: Int) throws -> MemoryLimitPlan {
        if option == "off" { return .off }
        let explicit = option != "auto"
        let bytes = explicit ? BenchmarkOptions.parseBytes(option)! : memoryBudget + harnessAllowance
        switch MemoryCgroup.availability() {
        case .available(let parent, let version):
            return .enforce(parent: parent, version: version, bytes: UInt64(bytes), explicit: explicit)
        case .unavailable(let reason):
            if explicit {
                throw CommandFailure("--memory-limit \(option) cannot be enforced: \(reason); run as a user who may create memory cgroups, or use --memory-limit auto or off")
            }
            return .notEnforced(reason: reason)
        }
    }

    /// The manifest's sentence on the limit.
    var description: String {
        switch self {
        case .off: return "memory limit not enforced: --memory-limit off"
        case .notEnforced(let reason): return "memory limit not enforced: \(reason)"
        case .enforce(let parent, let version, let bytes, let explicit):
            return "memory limit \(bytes >> 20) MiB (\(explicit ? "--memory-limit" : "memory budget + \(Self.harnessAllowance >> 20) MiB harness allowance")) per run, enforced by a cgroup \(version.rawValue) memory group below \(parent); page cache counts against it"
        }
    }
}
