import Histogram

/// One thread's latency counts for the current second, one row per operation
/// kind, in exactly HdrHistogram's bucket layout for `HistogramLimits.makeLatency()`
/// (lowest discernible value 1, 3 significant digits: 2,048 sub-buckets, 1,024
/// per doubling). Recording is an index computation and one increment in memory
/// this thread owns; once a second `fold` adds the counts into real histograms.
///
/// The fold is exact: every count lands in the HdrHistogram bucket it would
/// have been recorded into, and the smallest and largest value of each kind are
/// recorded as themselves, so count, percentiles, mean, min and max are the
/// ones recording every value directly would give.
@usableFromInline
final class LatencyBuckets: @unchecked Sendable {
    /// Sub-buckets per half bucket (2^10) for 3 significant digits.
    @usableFromInline static let halfCountMagnitude = 10
    /// `64 - unitMagnitude - subBucketCountMagnitude` for lowest value 1 and 2,048 sub-buckets.
    @usableFromInline static let leadingZeroCountBase = 53
    /// `subBucketCount - 1`: values up to it fall in bucket 0.
    @usableFromInline static let subBucketMask: UInt64 = 2047
    /// Counts per kind: up to the index of `HistogramLimits.highestNanoseconds`.
    @usableFromInline static let rowLength = index(of: HistogramLimits.highestNanoseconds) + 1

    @usableFromInline let kinds: Int
    /// `kinds × rowLength` counts.
    @usableFromInline let counts: UnsafeMutablePointer<UInt64>
    /// Per kind: smallest and largest value this second (`UInt64.max`, 0 when none).
    @usableFromInline let extremes: UnsafeMutablePointer<UInt64>

    @usableFromInline
    init(kinds: Int) {
        self.kinds = kinds
        counts = .allocate(capacity: kinds * Self.rowLength)
        counts.initialize(repeating: 0, count: kinds * Self.rowLength)
        extremes = .allocate(capacity: kinds * 2)
        for kind in 0..<kinds {
            (extremes + 2 * kind).initialize(to: .max)
            (extremes + 2 * kind + 1).initialize(to: 0)
        }
    }

    deinit {
        counts.deallocate()
        extremes.deallocate()
    }

    /// HdrHistogram's counts index of `value` (at most `highestNanoseconds`).
    @inlinable @inline(__always)
    static func index(of value: UInt64) -> Int {
        let bucket = leadingZeroCountBase &- (value | subBucketMask).leadingZeroBitCount
        let subBucket = Int(truncatingIfNeeded: value &>> UInt64(truncatingIfNeeded: bucket))
        return ((bucket &+ 1) &<< halfCountMagnitude) &+ subBucket &- (1 &<< halfCountMagnitude)
    }

    /// The lowest value of the bucket at `index` (HdrHistogram's `valueFromIndex`).
    @inlinable
    static func lowestValue(at index: Int) -> UInt64 {
        var bucket = (index >> halfCountMagnitude) - 1
        var subBucket = (index & ((1 << halfCountMagnitude) - 1)) + (1 << halfCountMagnitude)
        if bucket < 0 {
            subBucket -= 1 << halfCountMagnitude
            bucket = 0
        }
        return UInt64(subBucket) << UInt64(bucket)
    }

    /// Counts one `value` (at most `HistogramLimits.highestNanoseconds`) for kind `slot`.
    @inlinable @inline(__always)
    func record(_ value: UInt64, slot: Int) {
        counts[slot &* Self.rowLength &+ Self.index(of: value)] &+= 1
        let low = extremes + 2 &* slot
        if value < low.pointee { low.pointee = value }
        if value > low[1] { low[1] = value }
    }

    /// Adds kind `slot`'s counts into `histogram` and each count, at its bucket's
    /// highest equivalent value (as `recordedValues()` reports it), into
    /// `interval`; then clears the kind. Touches only the buckets from the
    /// smallest to the largest value recorded.
    @usableFromInline
    func fold(slot: Int, into histogram: inout Histogram<UInt64>, interval: inout Histogram<UInt32>) {
        let low = extremes[2 * slot], high = extremes[2 * slot + 1]
        guard low <= high else { return }
        let row = counts + slot * Self.rowLength
        let first = Self.index(of: low), last = Self.index(of: high)
        for index in first...last {
            let count = row[index]
            if count == 0 { continue }
            row[index] = 0
            var remaining = count
            if index == first {
                histogram.record(low)
                remaining -= 1
            }
            if index == last && remaining > 0 {
                histogram.record(high)
                remaining -= 1
            }
            let value = Self.lowestValue(at: index)
            if remaining > 0 { histogram.record(value, count: remaining) }
            let reported = min(histogram.highestEquivalentForValue(value), HistogramLimits.highestIntervalNanoseconds)
            interval.record(reported, count: UInt32(clamping: count))
        }
        extremes[2 * slot] = .max
        extremes[2 * slot + 1] = 0
    }
}
