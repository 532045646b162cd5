import KVConformance
import KVStore
import RocksDBEngine
import Testing

@Test(arguments: ConformanceCase.allCases)
func rocksDBConformance(_ check: ConformanceCase) throws { try ConformanceSuite<RocksDBStore>().run(check) }

@Test(arguments: [Durability.none, .fsync])
func rocksDBDurabilityModes(_ durability: Durability) throws {
    try ConformanceSuite<RocksDBStore>(durability: durability).run(.persistsAcrossReopen)
}
