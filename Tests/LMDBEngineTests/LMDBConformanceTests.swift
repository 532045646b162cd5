import KVConformance
import KVStore
import LMDBEngine
import StorageIO
import Testing

@Test(arguments: ConformanceCase.allCases)
func lmdbConformance(_ check: ConformanceCase) throws { try ConformanceSuite<LMDBStore>().run(check) }

@Test func lmdbFsyncPersists() throws {
    try ConformanceSuite<LMDBStore>(durability: .fsync).run(.persistsAcrossReopen)
}

@Test func lmdbRejectsDurabilityNone() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-lmdb")
    defer { try? FileSystem.removeTree(directory) }
    #expect(throws: StoreError.self) { try LMDBStore.open(StoreOptions(directory: directory, durability: .none)) }
}

@Test func lmdbRejectsKeysOverItsLimit() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-lmdb")
    defer { try? FileSystem.removeTree(directory) }
    let store = try LMDBStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    #expect(store.limits.maxKeySize == 511)
    #expect(throws: StoreError.keyTooLarge(size: 512, limit: 511)) { try store.put(Bytes(repeating: 1, count: 512), [1]) }
}
