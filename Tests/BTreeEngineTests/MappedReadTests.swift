import Testing
@testable import BTreeEngine
import KVStore
import StorageIO

@Suite struct MappedReadTests {
    /// A tree many times the pool, reopened: lookups that miss the frames read pages in place
    /// through the map, and a page's checksum is verified on its first visit only.
    @Test func missesReadInPlaceAndCheckEachPageOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        let count = 6000
        let store = try BTreeStore.open(options(directory, budget: 64 << 10))
        for n in 0..<count { try store.put(key(n), Bytes(repeating: UInt8(n & 0xFF), count: 40)) }
        try store.close()
        let reopened = try BTreeStore.open(options(directory, budget: 64 << 10))
        for n in 0..<count { #expect(try reopened.get(key(n)) == Bytes(repeating: UInt8(n & 0xFF), count: 40)) }
        let first = reopened.statistics().counters
        for n in stride(from: count - 1, through: 0, by: -1) { #expect(try reopened.get(key(n)) != nil) }
        let second = reopened.statistics().counters
        let filePages = try #require(first["file_pages"])
        #expect(try #require(first["buffer_pool.mapped_reads"]) > 0)
        #expect(try #require(second["buffer_pool.mapped_reads"]) > first["buffer_pool.mapped_reads"]!)
        // Every page entered memory at most once, however often it was visited.
        #expect(try #require(second["pages_read"]) == first["pages_read"])
        #expect(first["pages_read"]! <= filePages)
        try expectValid(reopened)
        try reopened.close()
    }

    /// Writes after reopening, with a pool too small for the tree: the writer reads through
    /// the map, copies what it changes, and commits that reach pages it evicted stay correct.
    @Test func writesOverMappedPagesKeepTheTree() throws {
        let directory = try temporaryDirectory()
        defer { try? FileSystem.removeTree(directory) }
        var model: [Bytes: Bytes] = [:]
        let store = try BTreeStore.open(options(directory, budget: 64 << 10))
        for n in 0..<4000 {
            try store.put(key(n), [1, UInt8(n & 0xFF)])
            model[key(n)] = [1, UInt8(n & 0xFF)]
        }
        try store.close()
        let reopened = try BTreeStore.open(options(directory, budget: 64 << 10, extra: ["btree.checkpoint_pages": "16"]))
        var rng = SplitMix64(seed: 3)
        for round in 0..<12 {
            var batch = WriteBatch()
            for _ in 0..<100 {
                let k = key(Int.random(in: 0..<5000, using: &rng))
                if Int.random(in: 0..<5, using: &rng) == 0 {
                    batch.delete(k)
                    model[k] = nil
                } else {
                    batch.put(k, [2, UInt8(round)])
                    model[k] = [2, UInt8(round)]
                }
            }
            try reopened.write(batch)
        }
        #expect(try #require(reopened.statistics().counters["buffer_pool.mapped_reads"]) > 0)
        try expectContents(reopened, model)
        try expectValid(reopened)
        try reopened.close()
        let again = try BTreeStore.open(options(directory, budget: 64 << 10))
        try expectContents(again, model)
        try again.close()
    }
}
