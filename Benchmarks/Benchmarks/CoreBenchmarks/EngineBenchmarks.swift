import Benchmark
import KVStore
@_spi(Benchmarks) import BTreeEngine
@_spi(Benchmarks) import LSMEngine
import KVWorkloads
import StorageIO

/// Sorted 16-byte keys as the workloads make them.
func benchmarkKeys(_ count: Int) -> [Bytes] {
    let encoder = try! KeyEncoder(keySize: 16)
    return (0..<count).map { id in
        var key = Bytes(repeating: 0, count: 16)
        encoder.encode(UInt64(id) &* 2, into: &key)
        return key
    }
}

/// Microbenchmarks of the hand-written engines' inner loops.
func registerEngineBenchmarks() {
    let steady = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)

    Benchmark("LSM memtable insert (16 B key, 100 B value)", configuration: steady) { benchmark in
        let keys = benchmarkKeys(benchmark.scaledIterations.count)
        let value = Bytes(repeating: 7, count: 100)
        var shuffled = keys
        var state: UInt64 = 1
        for index in stride(from: shuffled.count - 1, to: 0, by: -1) {
            state = state &* 6364136223846793005 &+ 1
            shuffled.swapAt(index, Int(state >> 33) % (index + 1))
        }
        let memtable = LSMBenchmarkProbes.MemTableProbe()
        benchmark.startMeasurement()
        for key in shuffled { memtable.insert(key: key, value: value) }
    }

    Benchmark("LSM bloom filter probe (10 bits/key, 100k keys, half absent)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo,
                                   thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])) { benchmark in
        let keys = benchmarkKeys(200_000)
        let present = stride(from: 0, to: keys.count, by: 2).map { keys[$0] }
        let filter = LSMBenchmarkProbes.BloomProbe(keys: present)
        benchmark.startMeasurement()
        var hits = 0
        for index in benchmark.scaledIterations where filter.mayContain(keys[(index &* 7919) % keys.count]) { hits += 1 }
        blackHole(hits)
    }

    Benchmark("LSM data block seek (4 KiB block, restart points)", configuration: .init(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])) { benchmark in
        let keys = benchmarkKeys(64)
        let block = try LSMBenchmarkProbes.BlockProbe(sortedEntries: keys.map { ($0, Bytes(repeating: 1, count: 40)) })
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations { blackHole(try block.find(keys[index % keys.count])) }
    }

    Benchmark("LSM log append (write(), no sync)", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .syscalls], scalingFactor: .kilo)) { benchmark in
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-log-benchmark")
        defer { try? FileSystem.removeTree(directory) }
        let log = try LSMBenchmarkProbes.LogProbe(directory: directory)
        let key = Bytes(repeating: 1, count: 16), value = Bytes(repeating: 2, count: 100)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try log.append(key: key, value: value) }
    }

    Benchmark("LSM compaction merge (16 runs × 4,096 entries, 16 B keys, 100 B values)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(5), maxIterations: 20)) { benchmark in
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-merge-benchmark")
        defer { try? FileSystem.removeTree(directory) }
        let probe = try LSMBenchmarkProbes.MergeProbe(directory: directory, runs: 16, entriesPerRun: 4096, valueSize: 100)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try probe.merge()) }
    }

    Benchmark("B+tree leaf page search (4 KiB page, 16 B keys)", configuration: .init(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])) { benchmark in
        let keys = benchmarkKeys(64)
        let page = BTreeBenchmarkProbes.LeafPageProbe(sortedEntries: keys.map { ($0, Bytes(repeating: 3, count: 40)) })
        precondition(page.count > 30, "the benchmark page holds too few entries")
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations { blackHole(page.search(keys[(index &* 13) % page.count])) }
    }
}
