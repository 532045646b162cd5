import KVConformance
import KVStore
import LSMEngine
import Testing

/// Every check, once per compaction strategy (`lsm.compaction`).
@Test(arguments: ConformanceCase.allCases, ["leveled", "tiered", "lazy-leveling"])
func lsmConformance(_ check: ConformanceCase, _ style: String) throws {
    try ConformanceSuite<LSMStore>(settings: ["lsm.compaction": style]).run(check)
}

@Test(arguments: [Durability.none, .fsync])
func lsmDurabilityModes(_ durability: Durability) throws {
    try ConformanceSuite<LSMStore>(durability: durability).run(.persistsAcrossReopen)
}

/// The same checks with tiny memtables and levels, so tables, flushes and
/// compactions are under test rather than only the memtable; once per compaction strategy.
@Test(arguments: [ConformanceCase.modelBasedRandomized, .cursorSeesConsistentSnapshot, .persistsAcrossReopen, .batchesAreAtomicAndOrdered],
      ["leveled", "tiered", "lazy-leveling"])
func lsmConformanceWithSmallTables(_ check: ConformanceCase, _ style: String) throws {
    let settings = ["lsm.memtable_bytes": "65536", "lsm.base_level_bytes": "262144", "lsm.target_file_bytes": "65536",
                    "lsm.block_bytes": "1024", "lsm.level_size_ratio": "4", "lsm.compaction": style]
    try ConformanceSuite<LSMStore>(memoryBudget: 1 << 20, settings: settings, randomizedOperationsPerSeed: 20_000, randomizedSeeds: [5, 6])
        .run(check)
}
