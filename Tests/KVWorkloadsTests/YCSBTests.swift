import KVStore
import Testing
@testable import KVWorkloads

/// YCSB mode against YCSB's definitions. The expected values were computed independently of this
/// code, from the Java sources' formulas (CoreWorkload.buildKeyName, Utils.fnvhash64,
/// ZipfianGenerator, ScrambledZipfianGenerator, SkewedLatestGenerator, ExponentialGenerator,
/// HotspotIntegerGenerator) re-implemented with Java's long arithmetic in a short script.
@Suite struct YCSBTests {
    @Test func keyNamesAreYCSBs() {
        let hashed = YCSBKeyBuilder(hashed: true, zeroPadding: 1)
        #expect((0..<5).map { hashed.name(UInt64($0)) } == [
            "user6284781860667377211", "user8517097267634966620", "user1820151046732198393",
            "user4052466453699787802", "user3232700585171816769",
        ])
        let padded = YCSBKeyBuilder(hashed: false, zeroPadding: 8)
        #expect([0, 5, 123].map { padded.name($0) } == ["user00000000", "user00000005", "user00000123"])
        #expect(YCSBKeyBuilder(hashed: false, zeroPadding: 1).name(5) == "user5")
        // The digit writer against Swift's own decimal formatting, over short and long numbers.
        let ordered = YCSBKeyBuilder(hashed: false, zeroPadding: 1)
        var key = ordered.makeBuffer()
        for id in Array(0..<20_000) + [99_999_999, 100_000_000, 123_456_789_012, UInt64(Int64.max)] {
            hashed.write(UInt64(id), into: &key)
            #expect(String(decoding: key, as: UTF8.self) == "user" + String(YCSBHash.fnv64(Int64(bitPattern: UInt64(id)))))
            ordered.write(UInt64(id), into: &key)
            #expect(String(decoding: key, as: UTF8.self) == "user" + String(id))
        }
        // One buffer rewritten from a long key to a short one and back keeps exactly the new key.
        var buffer = hashed.makeBuffer()
        hashed.write(0, into: &buffer)
        YCSBKeyBuilder(hashed: false, zeroPadding: 1).write(7, into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "user7")
        hashed.write(1, into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "user8517097267634966620")
    }

    /// Fixed uniforms through each generator: the draws YCSB's formulas give for them.
    static let uniforms = [0.01, 0.03, 0.05, 0.2, 0.5, 0.75, 0.9, 0.99, 0.999999]

    @Test func generatorsGiveYCSBsDrawsForGivenUniforms() {
        var scrambledRanks = YCSBZipfian(min: 0, max: YCSBScrambledZipfian.itemCount, theta: 0.99, zetan: YCSBScrambledZipfian.zetan)
        #expect(Self.uniforms.map { scrambledRanks.next(uniform: $0) }
                == [0, 0, 1, 83, 134_552, 42_924_421, 1_170_869_537, 8_086_205_587, 9_999_787_803])
        var scrambled = YCSBScrambledZipfian(min: 0, max: 1000)
        #expect(Self.uniforms.map { scrambled.next(uniform: $0) } == [144, 144, 610, 421, 367, 767, 991, 745, 383])
        var zipfian = YCSBZipfian(min: 0, max: 999)
        #expect(Self.uniforms.map { zipfian.next(uniform: $0) } == [0, 0, 0, 2, 22, 151, 471, 927, 999])
        let exponential = YCSBExponential(percentile: 95, range: 1000 * YCSBExponentialDefaults.fraction)
        #expect(Self.uniforms.map { exponential.next(uniform: $0) } == [1317, 1003, 857, 460, 198, 82, 30, 2, 0])
    }

    @Test func choosersGiveYCSBsFirstDrawsForAFixedSeed() {
        func first(_ distribution: KeyDistribution, _ count: Int = 8) -> [UInt64] {
            var chooser = KeyChooser(distribution: distribution, itemCount: 1000, seed: 1)
            var random = WorkloadRandom(seed: 1)
            return (0..<count).map { _ in chooser.next(random: &random) }
        }
        // ScrambledZipfianGenerator(0, 1000): id 1000 (not loaded) is redrawn, as CoreWorkload.nextKeynum does.
        #expect(first(.ycsbZipfian) == [667, 104, 378, 585, 34, 262, 213, 702])
        #expect(first(.ycsbLatest) == [894, 974, 960, 990, 898, 998, 999, 991])
        #expect(first(.exponential(percentile: 95, fraction: YCSBExponentialDefaults.fraction)) == [899, 813, 841, 731, 896, 444, 243, 724])
        #expect(first(.ycsbHotspot(hotFraction: 0.2, hotOperationFraction: 0.8)) == [94, 183, 162, 29, 408, 706, 243, 67])
    }

    /// The share of the most frequent records (most frequent first) over `samples` draws.
    static func topShares(items: UInt64, samples: Int, top: Int) -> [Double] {
        var chooser = KeyChooser(distribution: .ycsbZipfian, itemCount: items, seed: 1)
        var random = WorkloadRandom(seed: 99)
        var counts = [Int](repeating: 0, count: Int(items))
        for _ in 0..<samples { counts[Int(chooser.next(random: &random))] += 1 }
        return counts.sorted(by: >).prefix(top).map { Double($0) / Double(samples) }
    }

    /// Expected shares from the definition: each rank's exact probability under Gray's generator
    /// (its u-interval) for ranks below 10^6, folded by FNV-64 mod (items + 1), the rest of the
    /// mass (41 %) spread evenly, and the id `items` redrawn.
    @Test(arguments: [(UInt64(1_000), [0.038608, 0.019955, 0.016034]), (UInt64(100_000), [0.037785, 0.019030, 0.015320])])
    func scrambledZipfianTopRanksMatchItsDefinition(items: UInt64, expected: [Double]) {
        let samples = 1_000_000
        let shares = Self.topShares(items: items, samples: samples, top: expected.count)
        for (share, target) in zip(shares, expected) {
            let standardError = (target * (1 - target) / Double(samples)).squareRoot()
            #expect(abs(share - target) < 5 * standardError, "share \(share), expected \(target)")
        }
    }

    @Test func recordsAreEncodedAsYCSBsKeyValueBindingsDo() {
        let layout = YCSBRecordLayout()
        #expect(layout.recordBytes == 1_000 && layout.valueBytes == 1_140 && layout.maximumValueBytes == 1_140)
        var builder = YCSBRecordBuilder(layout: layout, seed: 1)
        var random = WorkloadRandom(seed: 1)
        var value = builder.makeBuffer()
        builder.build(&value, recordID: 3, version: 1, random: &random)
        #expect(value.count == 1_140)
        #expect(Array(value[0..<10]) == [0, 0, 0, 6] + Array("field0".utf8))
        #expect(Array(value[10..<14]) == [0, 0, 0, 100])
        for field in 0..<10 { #expect(YCSBRecordBuilder.fieldRange(field, in: value)?.count == 100) }
        let before = value
        builder.changeField(4, in: &value, recordID: 3, version: 2, random: &random)
        let changed = YCSBRecordBuilder.fieldRange(4, in: value)!
        #expect(value.count == 1_140 && value[changed] != before[changed])
        #expect(value[..<changed.lowerBound] == before[..<changed.lowerBound] && value[changed.upperBound...] == before[changed.upperBound...])

        var uniform = YCSBRecordBuilder(layout: YCSBRecordLayout(fieldCount: 3, fieldLength: 50, minFieldLength: 10,
                                                                 fieldLengthDistribution: .uniform), seed: 1)
        uniform.build(&value, recordID: 1, version: 1, random: &random)
        let lengths = (0..<3).map { YCSBRecordBuilder.fieldRange($0, in: value)!.count }
        #expect(lengths.allSatisfy { (10...50).contains($0) } && value.count == lengths.reduce(0, +) + 3 * 14)
        #expect(YCSBRecordBuilder.fieldRange(3, in: value) == nil)
    }

    @Test func workloadFMixIsHalfReadsHalfReadModifyWrites() throws {
        let definition = try #require(try WorkloadDefinition.ycsbBuiltIn("ycsb-f")).definition
        #expect(definition.ycsb != nil && definition.requestDistribution == .ycsbZipfian)
        var stream = OperationStream(definition: definition, recordCount: 1000, seed: 1, thread: 0, threadCount: 1,
                                     insertCursor: InsertCounter(start: 1000), operationCount: 100_000)
        var counts: [OperationKind: Int] = [:]
        for _ in 0..<100_000 {
            let operation = stream.next()
            counts[operation.kind, default: 0] += 1
            #expect(operation.recordID < 1000)
        }
        #expect(Set(counts.keys) == [.read, .readModifyWrite])
        #expect(abs(counts[.read]! - 50_000) < 1_000)
    }

    @Test func workloadEScansStartOnInsertedRecords() throws {
        let definition = try #require(try WorkloadDefinition.ycsbBuiltIn("ycsb-e")).definition
        let records: UInt64 = 1000, operations = 20_000
        let counter = InsertCounter(start: records)
        var stream = OperationStream(definition: definition, recordCount: records, seed: 1, thread: 0, threadCount: 1,
                                     insertCursor: counter, operationCount: operations)
        var onInserted = 0, scans = 0
        var lengths = Set<Int>()
        for _ in 0..<operations {
            let operation = stream.next()
            if operation.kind == .insert {
                counter.acknowledge(operation.recordID)
            } else {
                scans += 1
                lengths.insert(operation.scanLength)
                #expect(operation.recordID < counter.readableCount)
                if operation.recordID >= records { onInserted += 1 }
            }
        }
        // The key space covers 1000 + 2 × 0.05 × 20000 = 3000 ids (+1); ids not yet inserted are redrawn.
        #expect(onInserted > 0, "scan starts never reached an inserted record")
        #expect(lengths.min() == 1 && lengths.max() == 100)
        // YCSB's definition, simulated independently for 1,000 records and 20,000 operations: 29 % of scans
        // start on an inserted record (2.7 % for YCSB's own workloade, 1,000 records and 1,000 operations).
        #expect((0.24...0.34).contains(Double(onInserted) / Double(scans)), "\(onInserted) of \(scans)")
    }
}
