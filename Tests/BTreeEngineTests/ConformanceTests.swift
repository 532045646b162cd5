import BTreeEngine
import KVConformance
import KVStore
import Testing

@Test(arguments: ConformanceCase.allCases)
func btreeConformance(_ check: ConformanceCase) throws { try ConformanceSuite<BTreeStore>().run(check) }

@Test func btreeFsyncPersists() throws {
    try ConformanceSuite<BTreeStore>(durability: .fsync).run(.persistsAcrossReopen)
}

@Test func btreeDurabilityNonePersistsAfterClose() throws {
    try ConformanceSuite<BTreeStore>(durability: .none).run(.persistsAcrossReopen)
}

@Test(arguments: [ConformanceCase.modelBasedRandomized, .cursorSeesConsistentSnapshot, .batchesAreAtomicAndOrdered])
func btreeSmallPagesConformance(_ check: ConformanceCase) throws {
    try ConformanceSuite<BTreeStore>(memoryBudget: 256 << 10, settings: ["btree.page_size": "512"],
                                     randomizedOperationsPerSeed: 10_000, randomizedSeeds: [5, 6]).run(check)
}
