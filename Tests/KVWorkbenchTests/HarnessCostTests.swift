import Histogram
import Testing
@testable import KVWorkbench

/// The cheap per-operation structures of the harness give exactly what recording into HdrHistogram directly gives.
@Suite struct HarnessCostTests {
    /// Latencies spread over every bucket size: exact small values, microseconds, milliseconds, seconds, the one-hour clamp.
    static func sampleLatencies() -> [UInt64] {
        var state: UInt64 = 0x1234_5678
        var values: [UInt64] = [0, 1, 2047, 2048, 2049, 4095, 4096, HistogramLimits.highestNanoseconds]
        for _ in 0..<50_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let magnitude = (state >> 58) % 42
            values.append(min(HistogramLimits.highestNanoseconds, (state >> 20) & ((UInt64(1) << magnitude) - 1)))
        }
        return values
    }

    @Test func bucketIndexIsHdrHistogramsIndex() {
        let reference = HistogramLimits.makeLatency()
        for value in Self.sampleLatencies() {
            let index = LatencyBuckets.index(of: value)
            #expect(LatencyBuckets.lowestValue(at: index) == reference.lowestEquivalentForValue(value), "value \(value)")
        }
    }

    @Test func foldEqualsRecordingEveryValue() {
        let values = Self.sampleLatencies()
        var direct = HistogramLimits.makeLatency()
        for value in values { direct.record(value) }
        var directInterval = HistogramLimits.makeInterval()
        for bucket in direct.recordedValues() {
            directInterval.record(min(bucket.value, HistogramLimits.highestIntervalNanoseconds), count: UInt32(clamping: bucket.count))
        }

        let buckets = LatencyBuckets(kinds: 2)
        for value in values { buckets.record(value, slot: 1) }
        var folded = HistogramLimits.makeLatency()
        var interval = HistogramLimits.makeInterval()
        buckets.fold(slot: 1, into: &folded, interval: &interval)

        #expect(folded.totalCount == direct.totalCount)
        #expect(folded.max == direct.max)
        #expect(folded.min == direct.min)
        #expect(folded.mean == direct.mean)
        for percentile in [0.0, 1, 25, 50, 90, 99, 99.9, 99.99, 100] {
            #expect(folded.valueAtPercentile(percentile) == direct.valueAtPercentile(percentile), "p\(percentile)")
        }
        #expect(Array(folded.recordedValues().map { [$0.value, UInt64($0.count)] }) == Array(direct.recordedValues().map { [$0.value, UInt64($0.count)] }))
        #expect(interval.totalCount == directInterval.totalCount)
        #expect(interval.valueAtPercentile(99) == directInterval.valueAtPercentile(99))
        #expect(interval.max == directInterval.max)

        var empty = HistogramLimits.makeLatency()
        var emptyInterval = HistogramLimits.makeInterval()
        buckets.fold(slot: 1, into: &empty, interval: &emptyInterval)
        #expect(empty.totalCount == 0, "a fold clears the kind")
    }

    @Test func exactMaximumSurvivesTheFold() {
        let buckets = LatencyBuckets(kinds: 1)
        for value: UInt64 in [1_000_001, 1_000_003, 1_000_002] { buckets.record(value, slot: 0) }
        var folded = HistogramLimits.makeLatency()
        var interval = HistogramLimits.makeInterval()
        buckets.fold(slot: 0, into: &folded, interval: &interval)
        var direct = HistogramLimits.makeLatency()
        for value: UInt64 in [1_000_001, 1_000_003, 1_000_002] { direct.record(value) }
        #expect(folded.maxRecorded == direct.maxRecorded)
        #expect(folded.minNonZero == direct.minNonZero)
    }

    @Test func fixedPointClockScaleMatchesTheFloatingPointOne() {
        let nanosecondsPerTick = 1 / 2.6
        let multiplier = UInt64((nanosecondsPerTick * 0x1p32).rounded())
        for ticks: UInt64 in [0, 1, 1_000, 2_600_000_000, 1 << 40, 1 << 55] {
            let exact = Double(ticks) * nanosecondsPerTick
            let scaled = Double(LatencyClock.scale(ticks, multiplier))
            #expect(abs(scaled - exact) <= max(1, exact * 1e-9), "ticks \(ticks)")
        }
    }
}
