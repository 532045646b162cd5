#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// The LSM engine's tuning, derived from the memory budget and the
/// `lsm.*` settings of `StoreOptions`.
struct LSMConfiguration: Sendable {
    /// Size at which the active memtable is frozen and flushed. Two memtables
    /// (active + immutable) take half of the budget; the block cache the rest.
    var memtableBytes: Int
    var blockCacheBytes: Int
    var bloomBitsPerKey = 10
    /// How levels are shaped and compactions picked (`lsm.compaction`).
    var compaction = CompactionStyle.leveled
    /// T (`lsm.size_ratio`, also read as `lsm.level_size_ratio`): the growth from one level's
    /// target to the next, and the runs a tiered level holds before it is merged.
    var sizeRatio = 10
    /// Target size of L1; level n holds `baseLevelBytes × ratio^(n-1)`.
    var baseLevelBytes: Int
    /// Compaction output files are cut at about this size.
    var targetFileBytes: Int
    var blockBytes = 4096
    var l0CompactionTrigger = 4
    var l0SlowdownTrigger = 20
    var l0StopTrigger = 36
    /// Compaction threads (`lsm.compaction_threads`); flushes have a thread of their own.
    var compactionThreads: Int
    /// Key ranges a large compaction is split into, each merged by its own thread (`lsm.subcompactions`).
    var subcompactions: Int
    /// User bytes per second writes are paced to at the slowdown point (`lsm.delayed_write_rate`).
    var delayedWriteRate = 16 << 20
    /// Estimated compaction debt at which writes are slowed (`lsm.soft_pending_compaction_bytes`) and stopped (`lsm.hard_...`).
    var softPendingCompactionBytes = 64 << 30
    var hardPendingCompactionBytes = 256 << 30

    /// The default number of compaction threads: the machine's processors, 1 to 4.
    static var defaultCompactionThreads: Int { min(4, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }

    static let settingNames: Set<String> = [
        "lsm.compaction", "lsm.size_ratio", "lsm.bloom_bits_per_key", "lsm.level_size_ratio", "lsm.memtable_bytes", "lsm.base_level_bytes",
        "lsm.target_file_bytes", "lsm.block_bytes", "lsm.l0_compaction_trigger", "lsm.l0_slowdown_trigger",
        "lsm.l0_stop_trigger", "lsm.compaction_threads", "lsm.subcompactions", "lsm.delayed_write_rate",
        "lsm.soft_pending_compaction_bytes", "lsm.hard_pending_compaction_bytes",
    ]

    init(options: StoreOptions) throws(StoreError) {
        let budget = max(options.memoryBudget, 1 << 20)
        memtableBytes = budget / 4
        blockCacheBytes = budget / 2
        baseLevelBytes = 0
        targetFileBytes = 0
        compactionThreads = Self.defaultCompactionThreads
        subcompactions = compactionThreads
        let settings = try EngineSettings(options.settings, engine: "LSM", known: Self.settingNames.sorted())
        if let value = try settings.integer("lsm.bloom_bits_per_key", in: 1...40) { bloomBitsPerKey = value }
        if let style = try settings.choice("lsm.compaction", of: CompactionStyle.allCases.map(\.rawValue)).flatMap(CompactionStyle.init) {
            compaction = style
        }
        let ratio = try settings.integer("lsm.size_ratio", in: 2...100)
        let levelRatio = try settings.integer("lsm.level_size_ratio", in: 2...100)
        if let ratio, let levelRatio, ratio != levelRatio {
            throw .invalidOption(name: "lsm.size_ratio", reason: "lsm.size_ratio and lsm.level_size_ratio name the same ratio; they differ (\(ratio), \(levelRatio))")
        }
        if let value = ratio ?? levelRatio { sizeRatio = value }
        if let value = try settings.integer("lsm.memtable_bytes", in: (64 << 10)...(1 << 30)) { memtableBytes = value }
        if let value = try settings.integer("lsm.block_bytes", in: 256...(1 << 20)) { blockBytes = value }
        if let value = try settings.integer("lsm.l0_compaction_trigger", in: 1...64) { l0CompactionTrigger = value }
        if let value = try settings.integer("lsm.l0_slowdown_trigger", in: 1...256) { l0SlowdownTrigger = value }
        if let value = try settings.integer("lsm.l0_stop_trigger", in: 1...256) { l0StopTrigger = value }
        if let value = try settings.integer("lsm.compaction_threads", in: 1...64) { compactionThreads = value }
        subcompactions = try settings.integer("lsm.subcompactions", in: 1...64) ?? compactionThreads
        if let value = try settings.integer("lsm.delayed_write_rate", in: (64 << 10)...(1 << 40)) { delayedWriteRate = value }
        if let value = try settings.integer("lsm.soft_pending_compaction_bytes", in: (1 << 20)...(1 << 50)) { softPendingCompactionBytes = value }
        if let value = try settings.integer("lsm.hard_pending_compaction_bytes", in: (1 << 20)...(1 << 50)) { hardPendingCompactionBytes = value }
        guard softPendingCompactionBytes <= hardPendingCompactionBytes else {
            throw .invalidOption(name: "lsm.soft_pending_compaction_bytes", reason: "the soft pending compaction limit must not exceed the hard one")
        }
        baseLevelBytes = try settings.integer("lsm.base_level_bytes", in: (64 << 10)...(1 << 40)) ?? memtableBytes * 16
        targetFileBytes = try settings.integer("lsm.target_file_bytes", in: (16 << 10)...(1 << 32)) ?? max(64 << 10, memtableBytes / 2)
        guard l0CompactionTrigger <= l0SlowdownTrigger, l0SlowdownTrigger <= l0StopTrigger else {
            throw .invalidOption(name: "lsm.l0_slowdown_trigger", reason: "L0 triggers must satisfy compaction <= slowdown <= stop")
        }
    }

    /// The most input bytes one leveled compaction takes from its level: 25 output files,
    /// as RocksDB's default `max_compaction_bytes`.
    var maxCompactionBytes: Int { 25 * targetFileBytes }

    /// Target bytes of `level` (1 and below).
    func targetBytes(level: Int) -> Double {
        var target = Double(baseLevelBytes)
        if level > 1 { for _ in 2...level { target *= Double(sizeRatio) } }
        return target
    }

    var report: [String: String] {
        [
            "compression": "none",
            "memtable_bytes": String(memtableBytes),
            "max_memtables": "2",
            "block_cache_bytes": String(blockCacheBytes),
            "block_bytes": String(blockBytes),
            "bloom_bits_per_key": String(bloomBitsPerKey),
            "compaction": compaction.rawValue,
            "size_ratio": String(sizeRatio),
            "level_size_ratio": String(sizeRatio),
            "base_level_bytes": String(baseLevelBytes),
            "target_file_bytes": String(targetFileBytes),
            "l0_triggers": "compaction \(l0CompactionTrigger), slowdown \(l0SlowdownTrigger), stop \(l0StopTrigger)",
            "levels": String(Version.levelCount),
            "compaction_threads": String(compactionThreads),
            "subcompactions": String(subcompactions),
            "delayed_write_rate": String(delayedWriteRate),
            "pending_compaction_bytes": "soft \(softPendingCompactionBytes), hard \(hardPendingCompactionBytes)",
        ]
    }
}
