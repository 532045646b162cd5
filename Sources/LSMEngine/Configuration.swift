import KVStore

/// The LSM engine's tuning, derived from the memory budget and the
/// `lsm.*` settings of `StoreOptions`.
struct LSMConfiguration: Sendable {
    /// Size at which the active memtable is frozen and flushed. Two memtables
    /// (active + immutable) take half of the budget; the block cache the rest.
    var memtableBytes: Int
    var blockCacheBytes: Int
    var bloomBitsPerKey = 10
    var levelSizeRatio = 10
    /// Target size of L1; level n holds `baseLevelBytes × ratio^(n-1)`.
    var baseLevelBytes: Int
    /// Compaction output files are cut at about this size.
    var targetFileBytes: Int
    var blockBytes = 4096
    var l0CompactionTrigger = 4
    var l0SlowdownTrigger = 8
    var l0StopTrigger = 12

    static let settingNames: Set<String> = [
        "lsm.bloom_bits_per_key", "lsm.level_size_ratio", "lsm.memtable_bytes", "lsm.base_level_bytes",
        "lsm.target_file_bytes", "lsm.block_bytes", "lsm.l0_compaction_trigger", "lsm.l0_slowdown_trigger",
        "lsm.l0_stop_trigger",
    ]

    init(options: StoreOptions) throws(StoreError) {
        let budget = max(options.memoryBudget, 1 << 20)
        memtableBytes = budget / 4
        blockCacheBytes = budget / 2
        baseLevelBytes = 0
        targetFileBytes = 0
        let settings = try EngineSettings(options.settings, engine: "LSM", known: Self.settingNames.sorted())
        if let value = try settings.integer("lsm.bloom_bits_per_key", in: 1...40) { bloomBitsPerKey = value }
        if let value = try settings.integer("lsm.level_size_ratio", in: 2...100) { levelSizeRatio = value }
        if let value = try settings.integer("lsm.memtable_bytes", in: (64 << 10)...(1 << 30)) { memtableBytes = value }
        if let value = try settings.integer("lsm.block_bytes", in: 256...(1 << 20)) { blockBytes = value }
        if let value = try settings.integer("lsm.l0_compaction_trigger", in: 1...64) { l0CompactionTrigger = value }
        if let value = try settings.integer("lsm.l0_slowdown_trigger", in: 1...256) { l0SlowdownTrigger = value }
        if let value = try settings.integer("lsm.l0_stop_trigger", in: 1...256) { l0StopTrigger = value }
        baseLevelBytes = try settings.integer("lsm.base_level_bytes", in: (64 << 10)...(1 << 40)) ?? memtableBytes * 16
        targetFileBytes = try settings.integer("lsm.target_file_bytes", in: (16 << 10)...(1 << 32)) ?? max(64 << 10, memtableBytes / 2)
        guard l0CompactionTrigger <= l0SlowdownTrigger, l0SlowdownTrigger <= l0StopTrigger else {
            throw .invalidOption(name: "lsm.l0_slowdown_trigger", reason: "L0 triggers must satisfy compaction <= slowdown <= stop")
        }
    }

    /// Target bytes of `level` (1 and below).
    func targetBytes(level: Int) -> Double {
        var target = Double(baseLevelBytes)
        if level > 1 { for _ in 2...level { target *= Double(levelSizeRatio) } }
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
            "level_size_ratio": String(levelSizeRatio),
            "base_level_bytes": String(baseLevelBytes),
            "target_file_bytes": String(targetFileBytes),
            "l0_triggers": "compaction \(l0CompactionTrigger), slowdown \(l0SlowdownTrigger), stop \(l0StopTrigger)",
            "levels": String(Version.levelCount),
        ]
    }
}
