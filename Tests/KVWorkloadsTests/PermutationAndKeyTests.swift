import KVStore
import Testing
@testable import KVWorkloads

@Suite struct PermutationAndKeyTests {
    @Test(arguments: [1, 2, 3, 7, 64, 100, 1_000, 65_537])
    func permutationIsABijection(count: Int) {
        let permutation = IDPermutation(count: UInt64(count), seed: 17)
        var seen = [Bool](repeating: false, count: count)
        for value in 0..<count {
            let image = Int(permutation.apply(UInt64(value)))
            #expect(image < count)
            #expect(!seen[image])
            seen[image] = true
        }
        #expect(seen.allSatisfy { $0 })
    }

    @Test func permutationScattersNeighbours() {
        let permutation = IDPermutation(count: 1_000_000, seed: 1)
        let images = (0..<10).map { permutation.apply(UInt64($0)) }
        #expect(images.max()! - images.min()! > 100_000)
        #expect(images != images.sorted())
    }

    @Test(arguments: [1, 3, 4])
    func loadOrderVisitsEveryRecordExactlyOnce(threads: Int) {
        for order in [WorkloadDefinition.LoadOrder.sequential, .random] {
            let count = 10_007
            var seen = [Int](repeating: 0, count: count)
            var inOrder = true
            for thread in 0..<threads {
                var stream = LoadOrderStream(order: order, recordCount: UInt64(count), seed: 9,
                                             thread: thread, threadCount: threads)
                var previous: UInt64?
                while let id = stream.next() {
                    seen[Int(id)] += 1
                    if let previous, id != previous + 1 { inOrder = false }
                    previous = id
                }
            }
            #expect(seen.allSatisfy { $0 == 1 }, "\(order) with \(threads) threads")
            #expect(inOrder == (order == .sequential))
        }
    }

    @Test func keysSortInRecordIDOrderAndRoundTrip() throws {
        for size in [8, 16, 24, 100] {
            let encoder = try KeyEncoder(keySize: size)
            var random = WorkloadRandom(seed: UInt64(size))
            var ids: [UInt64] = [0, 1, 255, 256, 65_535, 65_536, UInt64.max - 1, UInt64.max]
            for _ in 0..<500 { ids.append(random.next() >> (random.next() % 64)) }
            let keys = ids.map { encoder.key($0) }
            for (id, key) in zip(ids, keys) {
                #expect(key.count == size)
                #expect(key.withUnsafeBytes { encoder.decode($0) } == id)
            }
            for i in 0..<ids.count {
                for j in 0..<ids.count where i != j {
                    #expect((ByteOrder.compare(keys[i], keys[j]) < 0) == (ids[i] < ids[j]))
                }
            }
        }
    }

    @Test func encodingReusesTheBufferAndDecodeRejectsForeignKeys() throws {
        let encoder = try KeyEncoder(keySize: 16)
        var key: Bytes = [1, 2, 3]
        encoder.encode(7, into: &key)
        #expect(key == [0, 0, 0, 0, 0, 0, 0, 7] + Bytes(repeating: 0x30, count: 8))
        key[12] = 0xFF
        encoder.encode(8, into: &key)
        #expect(key == encoder.key(8))
        var foreign = encoder.key(8)
        foreign[15] = 0
        #expect(foreign.withUnsafeBytes { encoder.decode($0) } == nil)
        #expect(Bytes(repeating: 0x30, count: 15).withUnsafeBytes { encoder.decode($0) } == nil)
        #expect(throws: WorkloadError.self) { try KeyEncoder(keySize: 7) }
        #expect(throws: WorkloadError.self) { try KeyEncoder(keySize: 1025) }
    }

    @Test func replacingTheIDGivesTheEncodedKey() throws {
        for size in [8, 9, 16, 24, 100] {
            let encoder = try KeyEncoder(keySize: size)
            var key = encoder.key(0)
            for id: UInt64 in [1, 255, 1 << 40, .max] {
                encoder.replaceID(id, in: &key)
                #expect(key == encoder.key(id), "key size \(size), id \(id)")
            }
        }
    }

    @Test func valuesAreDeterministicAndDistinct() {
        for size in [0, 1, 7, 8, 100, 4_097] {
            let generator = ValueGenerator(valueSize: size, seed: 1)
            var a = Bytes()
            var b: Bytes = [9, 9]
            generator.fill(&a, recordID: 5, version: 0)
            ValueGenerator(valueSize: size, seed: 1).fill(&b, recordID: 5, version: 0)
            #expect(a == b && a.count == size)
            #expect(a.withUnsafeBytes { generator.matches($0, recordID: 5, version: 0) })
            if size >= 8 {
                var other = Bytes()
                generator.fill(&other, recordID: 5, version: 1)
                #expect(other != a)
                #expect(!a.withUnsafeBytes { generator.matches($0, recordID: 5, version: 1) })
                generator.fill(&other, recordID: 6, version: 0)
                #expect(other != a)
                ValueGenerator(valueSize: size, seed: 2).fill(&other, recordID: 5, version: 0)
                #expect(other != a)
            }
            if size >= 1 {
                var corrupted = a
                corrupted[size - 1] ^= 1
                #expect(!corrupted.withUnsafeBytes { generator.matches($0, recordID: 5, version: 0) })
            }
        }
    }
}
