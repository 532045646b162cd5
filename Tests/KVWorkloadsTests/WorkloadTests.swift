import Synchronization
import Testing
@testable import KVWorkloads

func frequencies(_ definition: WorkloadDefinition, operations: Int, seed: UInt64 = 1) -> [OperationKind: Int] {
    var stream = OperationStream(definition: definition, recordCount: 1_000, seed: seed, thread: 0, threadCount: 1,
                                 insertCursor: InsertCounter(start: 1_000))
    var result: [OperationKind: Int] = [:]
    for _ in 0..<operations { result[stream.next().kind, default: 0] += 1 }
    return result
}

@Suite struct WorkloadTests {
    @Test func builtInMixesAreExactlyTheDocumentedOnes() throws {
        func mix(_ name: String) -> [OperationKind: Double] {
            let definition = WorkloadDefinition.builtIn(name, scanLength: 10, distribution: nil)!
            return Dictionary(uniqueKeysWithValues: definition.proportions.map { ($0.kind, $0.weight) })
        }
        func distribution(_ name: String) -> KeyDistribution {
            WorkloadDefinition.builtIn(name, scanLength: 10, distribution: nil)!.requestDistribution
        }
        #expect(mix("ycsb-a") == [.read: 0.5, .update: 0.5])
        #expect(mix("ycsb-b") == [.read: 0.95, .update: 0.05])
        #expect(mix("ycsb-c") == [.read: 1])
        #expect(mix("ycsb-d") == [.read: 0.95, .insert: 0.05])
        #expect(mix("ycsb-e") == [.scan: 0.95, .insert: 0.05])
        #expect(mix("ycsb-f") == [.read: 0.5, .readModifyWrite: 0.5])
        for name in ["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-e", "ycsb-f"] {
            #expect(distribution(name) == .zipfian(theta: 0.99))
        }
        #expect(distribution("ycsb-d") == .latest(theta: 0.99))
        let e = try #require(WorkloadDefinition.builtIn("ycsb-e", scanLength: 10, distribution: nil))
        #expect(e.maxScanLength == 100 && e.scanLengthUniform)
        #expect(mix("overwrite") == [.update: 1] && distribution("overwrite") == .uniform)
        #expect(mix("readrandom") == [.read: 1] && distribution("readrandom") == .uniform)
        #expect(mix("deleterandom") == [.delete: 1])
        #expect(WorkloadDefinition.builtIn("deleterandom", scanLength: 10, distribution: nil)?.special == .deleteRandom)
        #expect(WorkloadDefinition.builtIn("readseq", scanLength: 10, distribution: nil)?.special == .readSequential)
        #expect(WorkloadDefinition.builtIn("readwhilewriting", scanLength: 10, distribution: nil)?.special == .readWhileWriting)
        let seek = try #require(WorkloadDefinition.builtIn("seekrandom", scanLength: 25, distribution: nil))
        #expect(mix("seekrandom") == [.scan: 1] && seek.maxScanLength == 25 && !seek.scanLengthUniform)
        let fillseq = try #require(WorkloadDefinition.builtIn("fillseq", scanLength: 10, distribution: nil))
        let fillrandom = try #require(WorkloadDefinition.builtIn("fillrandom", scanLength: 10, distribution: nil))
        #expect(fillseq.loadOrder == .sequential && !fillseq.hasRunPhase)
        #expect(fillrandom.loadOrder == .random && !fillrandom.hasRunPhase)
        for name in WorkloadDefinition.builtInNames {
            #expect(WorkloadDefinition.builtIn(name, scanLength: 10, distribution: nil)?.name == name)
        }
        #expect(WorkloadDefinition.builtIn("ycsb-g", scanLength: 10, distribution: nil) == nil)
        let overridden = WorkloadDefinition.builtIn("ycsb-a", scanLength: 10, distribution: .hotspot(
            hotFraction: 0.1, hotOperationFraction: 0.9))
        #expect(overridden?.requestDistribution == .hotspot(hotFraction: 0.1, hotOperationFraction: 0.9))
    }

    @Test func streamsFollowTheirMix() {
        let samples = 200_000
        let b = frequencies(WorkloadDefinition.builtIn("ycsb-b", scanLength: 10, distribution: nil)!, operations: samples)
        #expect(abs(Double(b[.read, default: 0]) / Double(samples) - 0.95) < 0.003)
        #expect(abs(Double(b[.update, default: 0]) / Double(samples) - 0.05) < 0.003)
        let f = frequencies(WorkloadDefinition.builtIn("ycsb-f", scanLength: 10, distribution: nil)!, operations: samples)
        #expect(abs(Double(f[.readModifyWrite, default: 0]) / Double(samples) - 0.5) < 0.005)
        #expect(Set(f.keys) == [.read, .readModifyWrite])
        let c = frequencies(WorkloadDefinition.builtIn("ycsb-c", scanLength: 10, distribution: nil)!, operations: 1_000)
        #expect(c == [.read: 1_000])
    }

    @Test func sameSeedSameStreamPerThread() {
        let definition = WorkloadDefinition.builtIn("ycsb-e", scanLength: 10, distribution: nil)!
        func run(seed: UInt64, thread: Int) -> [Operation] {
            var stream = OperationStream(definition: definition, recordCount: 10_000, seed: seed, thread: thread,
                                         threadCount: 4, insertCursor: InsertCounter(start: 10_000))
            return (0..<20_000).map { _ in stream.next() }
        }
        #expect(run(seed: 1, thread: 2) == run(seed: 1, thread: 2))
        #expect(run(seed: 1, thread: 2) != run(seed: 1, thread: 3))
        #expect(run(seed: 1, thread: 2) != run(seed: 2, thread: 2))
        let operations = run(seed: 1, thread: 0)
        let scans = operations.filter { $0.kind == .scan }
        #expect(scans.allSatisfy { (1...100).contains($0.scanLength) && $0.recordID < 10_000 })
        #expect(Set(scans.map(\.scanLength)).count == 100)
        let inserts = operations.filter { $0.kind == .insert }.map(\.recordID)
        #expect(inserts == Array(10_000..<UInt64(10_000 + inserts.count)))
    }

    @Test func seekRandomScansHaveConstantLength() {
        let definition = WorkloadDefinition.builtIn("seekrandom", scanLength: 10, distribution: nil)!
        var stream = OperationStream(definition: definition, recordCount: 500, seed: 3, thread: 0, threadCount: 1,
                                     insertCursor: InsertCounter(start: 500))
        for _ in 0..<1_000 {
            let operation = stream.next()
            #expect(operation.kind == .scan && operation.scanLength == 10 && operation.recordID < 500)
        }
    }

    @Test func latestFollowsTheReadableHorizon() {
        let definition = WorkloadDefinition.builtIn("ycsb-d", scanLength: 10, distribution: nil)!
        let counter = InsertCounter(start: 1_000)
        var stream = OperationStream(definition: definition, recordCount: 1_000, seed: 4, thread: 0, threadCount: 1,
                                     insertCursor: counter)
        var newest = 0
        var reads = 0
        for _ in 0..<50_000 {
            let operation = stream.next()
            if operation.kind == .insert {
                counter.acknowledge(operation.recordID)
            } else {
                #expect(operation.recordID < counter.readableCount)
                if operation.recordID == counter.readableCount - 1 { newest += 1 }
                reads += 1
            }
        }
        #expect(counter.readableCount > 3_000)
        // Rank 0 has probability about 1/ζ(n, 0.99) ≈ 0.11 at these sizes.
        #expect(Double(newest) / Double(reads) > 0.09)
    }

    @Test func hotspotFractions() {
        var chooser = KeyChooser(distribution: .hotspot(hotFraction: 0.2, hotOperationFraction: 0.8),
                                 itemCount: 1_000, seed: 1)
        var random = WorkloadRandom(seed: 2)
        let samples = 200_000
        var hot = 0
        var seen = Set<UInt64>()
        for _ in 0..<samples {
            let id = chooser.next(random: &random)
            #expect(id < 1_000)
            if id < 200 { hot += 1 }
            seen.insert(id)
        }
        #expect(abs(Double(hot) / Double(samples) - 0.8) < 0.005)
        #expect(seen.count == 1_000)
        var allHot = KeyChooser(distribution: .hotspot(hotFraction: 0.2, hotOperationFraction: 1),
                                itemCount: 1_000, seed: 1)
        for _ in 0..<10_000 { #expect(allHot.next(random: &random) < 200) }
    }

    @Test func scrambledZipfianSpreadsHotKeys() {
        let items: UInt64 = 100_000
        var chooser = KeyChooser(distribution: .zipfian(theta: 0.99), itemCount: items, seed: 8)
        var random = WorkloadRandom(seed: 9)
        var counts: [UInt64: Int] = [:]
        for _ in 0..<200_000 { counts[chooser.next(random: &random), default: 0] += 1 }
        let top = counts.sorted { $0.value > $1.value }.prefix(5).map(\.key)
        let permutation = IDPermutation(count: items, seed: 8)
        #expect(top[0] == permutation.apply(0))
        #expect(top.max()! - top.min()! > 1_000)
        #expect(counts.keys.allSatisfy { $0 < items })
    }

    @Test func sequentialWrapsAndThreadsStartApart() {
        let definition = WorkloadDefinition.builtIn("readseq", scanLength: 10, distribution: nil)!
        var stream = OperationStream(definition: definition, recordCount: 10, seed: 1, thread: 1, threadCount: 2,
                                     insertCursor: InsertCounter(start: 10))
        #expect((0..<12).map { _ in stream.next().recordID } == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6])
    }

    @Test func distributionNamesParse() {
        for name in KeyDistribution.names {
            let parsed = KeyDistribution.parse(name, theta: 0.9, hotFraction: 0.3, hotOperationFraction: 0.7)
            #expect(parsed?.name == String(name.split(separator: "-").first!))
        }
        #expect(KeyDistribution.parse("zipfian", theta: 0.9, hotFraction: 0, hotOperationFraction: 0) == .zipfian(theta: 0.9))
        #expect(KeyDistribution.parse("zipfian", theta: 0.9, hotFraction: 0, hotOperationFraction: 0, ycsb: true) == .ycsbZipfian)
        #expect(KeyDistribution.parse("zipfian-exact", theta: 0.9, hotFraction: 0, hotOperationFraction: 0, ycsb: true) == .zipfian(theta: 0.9))
        #expect(KeyDistribution.parse("latest", theta: 0.9, hotFraction: 0, hotOperationFraction: 0, ycsb: true) == .ycsbLatest)
        #expect(KeyDistribution.parse("pareto", theta: 0.9, hotFraction: 0, hotOperationFraction: 0) == nil)
        #expect(KeyDistribution.parse("zipfian", theta: -1, hotFraction: 0, hotOperationFraction: 0) == nil)
        #expect(KeyDistribution.parse("hotspot", theta: 0.9, hotFraction: 1.5, hotOperationFraction: 0) == nil)
    }

    @Test func insertCounterAdvancesOverGapFreePrefixes() {
        let counter = InsertCounter(start: 100)
        let ids = (0..<5).map { _ in counter.claim() }
        #expect(ids == [100, 101, 102, 103, 104])
        counter.acknowledge(102)
        counter.acknowledge(101)
        #expect(counter.readableCount == 100)
        counter.acknowledge(100)
        #expect(counter.readableCount == 103)
        counter.acknowledge(104)
        #expect(counter.readableCount == 103)
        counter.acknowledge(103)
        #expect(counter.readableCount == 105)
    }

    @Test func insertCounterUnderConcurrency() async {
        let counter = InsertCounter(start: 0)
        let perTask = 20_000
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<perTask {
                        let id = counter.claim()
                        #expect(counter.readableCount <= id + 1)
                        counter.acknowledge(id)
                    }
                }
            }
        }
        #expect(counter.readableCount == UInt64(4 * perTask))
        #expect(counter.claimedCount == UInt64(4 * perTask))
    }

    @Test func keySkewReportIsSortedAndComplete() {
        let csv = KeySkewReport.csv(distribution: .zipfian(theta: 0.99), items: 1_000, samples: 50_000, seed: 1)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "rank,count")
        let rows = lines.dropFirst().map { $0.split(separator: ",").map { Int($0)! } }
        #expect(rows.map { $0[0] } == Array(1...rows.count))
        let counts = rows.map { $0[1] }
        #expect(counts == counts.sorted(by: >))
        #expect(counts.reduce(0, +) == 50_000)
        let top = ZipfSampler(itemCount: 1_000, theta: 0.99).probability(ofRank: 0) * 50_000
        #expect(abs(Double(counts[0]) - top) < 4 * standardError(samples: 50_000, probability: top / 50_000))
        let uniform = KeySkewReport.csv(distribution: .sequential, items: 10, samples: 100, seed: 1)
        #expect(uniform == "rank,count\n" + (1...10).map { "\($0),10\n" }.joined())
    }
}
