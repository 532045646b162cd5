import KVConformance
import KVStore
import LSMEngine
import Testing

@Test(arguments: ConformanceCase.allCases)
func lsmConformance(_ check: ConformanceCase) throws { try ConformanceSuite<LSMStore>().run(check) }

@Test(arguments: [Durability.none, .fsync])
func lsmDurabilityModes(_ durability: Durability) throws {
    try ConformanceSuite<LSMStore>(durability: durability).run(.persistsAcrossReopen)
}

/// The same checks with tiny memtables and levels, so tables, flushes and
/// compactions are under test rather than only the memtable.
@Test(arguments: [ConformanceCase.modelBasedRandomized, .cursorSeesConsistentSnapshot, .persistsAcrossReopen, .batchesAreAtomicAndOrdered])
func lsmConformanceWithSmallTables(_ check: ConformanceCase) throws {
    let settings = ["lsm.memtable_bytes": "65536", "lsm.base_level_bytes": "262144", "lsm.target_file_bytes": "65536",
                    "lsm.block_bytes": "1024", "lsm.level_size_ratio": "4"]
    try ConformanceSuite<LSMStore>(memoryBudget: 1 << 20, settings: settings, randomizedOperationsPerSeed: 20_000, randomizedSeeds: [5, 6])
        .run(check)
}
