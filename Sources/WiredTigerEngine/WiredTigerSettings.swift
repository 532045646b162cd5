import KVStore

/// The WiredTiger engines' settings (`--setting wiredtiger.NAME=VALUE`) and the
/// `wiredtiger_open` configuration built from them, the durability and the memory budget.
struct WiredTigerSettings {
    /// `statistics=(fast)` (the default) or `statistics=(none)`; without statistics the
    /// engine-view write bytes are unknown (`null`).
    var statistics = true
    /// Seconds between WiredTiger's background checkpoints (`checkpoint=(wait=N)`; 0: none,
    /// only at `sync` without logging and at close). 60 is MongoDB's interval.
    var checkpointSeconds = 60
    /// `mmap=false` (the adapter's default): WiredTiger 3.2 reads blocks through a memory map
    /// where it can (the LSM tree's finished chunks) and skips their checksums there, so
    /// damaged chunks would be returned as data; with `false` every block read is checked.
    var mmap = false

    static let names = ["wiredtiger.statistics", "wiredtiger.checkpoint_seconds", "wiredtiger.mmap"]

    /// Sessions WiredTiger allows: two per thread (`--threads` goes up to 1024) and its own.
    static let sessionMax = 2 * 1024 + 64

    init(_ settings: [String: String]) throws(StoreError) {
        let given = try EngineSettings(settings, engine: "WiredTiger", known: Self.names)
        statistics = try given.choice("wiredtiger.statistics", of: ["fast", "none"]).map { $0 == "fast" } ?? statistics
        checkpointSeconds = try given.integer("wiredtiger.checkpoint_seconds", in: 0...100_000) ?? checkpointSeconds
        mmap = try given.flag("wiredtiger.mmap") ?? mmap
    }

    /// WiredTiger's `cache_size` for a memory budget: half the budget, as MongoDB gives its
    /// cache about half the machine, because `cache_size` bounds only the cache and what
    /// WiredTiger allocates beside it (glibc's per-thread arenas for its eviction, log and
    /// checkpoint threads, the log buffer) measured another 80 MiB at a 64 MiB cache; never
    /// below 4 MiB (or the whole budget under that), the smallest its LSM table accepts.
    static func cacheBytes(budget: Int) -> Int { max(budget / 2, min(max(budget, 1 << 20), 4 << 20)) }

    /// The size of each log file: a quarter of the memory budget, between 1 MiB and 16 MiB.
    /// WiredTiger preallocates whole log files (the current one and up to a few more, each
    /// fully allocated so a commit's sync never changes a file's size); at its default of
    /// 100 MB, 300 MB of log would sit beside a benchmark's few MiB of data.
    static func logFileBytes(cacheBytes: Int) -> Int { min(max(cacheBytes / 4, 1 << 20), 16 << 20) }

    /// How each durability mode is configured (`docs/durability.md` explains the mapping).
    static func logConfiguration(_ durability: Durability, cacheBytes: Int) -> String {
        let log = "log=(enabled=true,file_max=\(logFileBytes(cacheBytes: cacheBytes)))"
        switch durability {
        case .none: return "log=(enabled=false)"
        case .os: return log + ",transaction_sync=(enabled=true,method=none)"
        case .fsync: return log + ",transaction_sync=(enabled=true,method=fsync)"
        }
    }

    /// The `wiredtiger_open` configuration string.
    static func connectionConfiguration(create: Bool, cacheBytes: Int, durability: Durability, settings: WiredTigerSettings) -> String {
        // The whole configuration is passed on every open: none is read from the environment or
        // from a WiredTiger.basecfg file, and none is written to one.
        var parts = [
            "use_environment=false",
            "config_base=false",
            "mmap=\(settings.mmap)",
            "cache_size=\(cacheBytes)",
            "session_max=\(sessionMax)",
            "statistics=(\(settings.statistics ? "fast" : "none"))",
            "checkpoint=(wait=\(settings.checkpointSeconds))",
            logConfiguration(durability, cacheBytes: cacheBytes),
        ]
        if create { parts.insert("create", at: 0) }
        return parts.joined(separator: ",")
    }

    /// The engine settings as every report states them.
    func report(cacheBytes: Int, durability: Durability) -> [String: String] {
        let log: String
        switch durability {
        case .none: log = "disabled: writes are durable at checkpoints only"
        case .os: log = "enabled; transaction_sync=(enabled=true,method=none): each commit waits until its log record is written to the OS, not synced"
        case .fsync: log = "enabled; transaction_sync=(enabled=true,method=fsync): each commit waits until its log record is synced (fdatasync, shared by concurrent commits)"
        }
        var report: [String: String] = [:]
        if durability != .none { report["log_file_max_bytes"] = String(Self.logFileBytes(cacheBytes: cacheBytes)) + " (preallocated)" }
        return report.merging([
            "cache_size_bytes": String(cacheBytes),
            "log": log,
            "checkpoint": checkpointSeconds == 0 ? "no background checkpoints" : "every \(checkpointSeconds) s (checkpoint=(wait=\(checkpointSeconds)))",
            "compression": "none (block_compressor is not set)",
            "checksum": "uncompressed (the default: every block is checksummed, as none is compressed)",
            "statistics": statistics ? "fast" : "none (engine-view write bytes unknown)",
            "session_max": String(Self.sessionMax),
            "mmap": mmap ? "true (reads of finished LSM chunks through a map skip block checksums)" : "false (every block read is checksummed)",
        ]) { old, _ in old }
    }
}
