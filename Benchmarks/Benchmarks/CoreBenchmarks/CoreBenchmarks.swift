import Benchmark
import Histogram
import KVStore
import KVWorkloads
import StorageIO

/// Microbenchmarks of the harness and shared building blocks. Time varies on a
/// shared 2-core machine; the malloc counts are deterministic, so those carry
/// thresholds (see `thresholds`).
let benchmarks: @Sendable () -> Void = {
    registerEngineBenchmarks()
    let mallocFree = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    Benchmark("Key generation: ycsb-a operation + key encoding", configuration: mallocFree) { benchmark in
        let definition = WorkloadDefinition.builtIn("ycsb-a", scanLength: 10, distribution: nil)!
        var stream = OperationStream(definition: definition, recordCount: 1_000_000, seed: 1, thread: 0, threadCount: 1,
                                     insertCursor: InsertCounter(start: 1_000_000))
        let encoder = try KeyEncoder(keySize: 16)
        var key = Bytes(repeating: 0, count: 16)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let operation = stream.next()
            encoder.encode(operation.recordID, into: &key)
            blackHole(key[0])
        }
    }

    Benchmark("Key generation: ycsb-a in YCSB mode (ScrambledZipfian, \"user\" + FNV-64 key)", configuration: mallocFree) { benchmark in
        let definition = try WorkloadDefinition.ycsbBuiltIn("ycsb-a")!.definition
        var stream = OperationStream(definition: definition, recordCount: 1_000_000, seed: 1, thread: 0, threadCount: 1,
                                     insertCursor: InsertCounter(start: 1_000_000), operationCount: 1_000_000)
        let keys = definition.ycsb!.keys
        var key = keys.makeBuffer()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let operation = stream.next()
            keys.write(operation.recordID, into: &key)
            blackHole(key[0])
        }
    }

    Benchmark("Record generation: YCSB record, 10 fields of 100 bytes, and a one-field change", configuration: mallocFree) { benchmark in
        var builder = YCSBRecordBuilder(layout: YCSBRecordLayout(), seed: 1)
        var random = WorkloadRandom(seed: 1)
        var value = builder.makeBuffer()
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            builder.build(&value, recordID: UInt64(index), version: 1, random: &random)
            builder.changeField(index % 10, in: &value, recordID: UInt64(index), version: 2, random: &random)
            blackHole(value[0])
        }
    }

    Benchmark("Value generation: 100-byte value", configuration: mallocFree) { benchmark in
        let generator = ValueGenerator(valueSize: 100, seed: 1)
        var value = Bytes(repeating: 0, count: 100)
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            generator.fill(&value, recordID: UInt64(index), version: 1)
            blackHole(value[0])
        }
    }

    Benchmark("Histogram record (3 significant digits, 1 ns to 1 h)", configuration: mallocFree) { benchmark in
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        for index in 0..<0x10000 { histogram.record(UInt64(index) &* 37) }
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            histogram.record(UInt64(index & 0xFFFF) &* 37)
        }
        blackHole(histogram.totalCount)
    }

    Benchmark("CRC32C over a 4 KiB block", configuration: mallocFree) { benchmark in
        let block = Bytes((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(block.withUnsafeBytes { CRC32C.checksum($0) })
        }
    }
}
