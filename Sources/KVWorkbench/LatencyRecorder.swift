import KVResults
import Histogram
import KVWorkloads

extension OperationKind {
    /// Dense index of the kind, for per-kind arrays in the hot loop.
    @inlinable
    var slot: Int {
        switch self {
        case .read: return 0
        case .update: return 1
        case .insert: return 2
        case .delete: return 3
        case .scan: return 4
        case .readModifyWrite: return 5
        }
    }

    /// Kinds in slot order.
    @usableFromInline
    static let bySlot: [OperationKind] = [.read, .update, .insert, .delete, .scan, .readModifyWrite]
}

/// Histogram ranges shared by every recorder (they must match to be merged).
public enum HistogramLimits {
    /// Largest latency tracked exactly: one hour in nanoseconds; larger values are clamped to it.
    public static let highestNanoseconds: UInt64 = 3_600_000_000_000
    /// Per-second histograms of the time series (2 significant digits, enough for a p99 per second).
    public static let highestIntervalNanoseconds: UInt64 = 60_000_000_000

    @inlinable
    static func makeLatency() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestNanoseconds, numberOfSignificantValueDigits: .three)
    }

    @inlinable
    static func makeInterval() -> Histogram<UInt32> {
        Histogram<UInt32>(lowestDiscernibleValue: 1, highestTrackableValue: highestIntervalNanoseconds, numberOfSignificantValueDigits: .two)
    }
}

/// One second of one thread's operations: how many completed, and their
/// latencies in a compact histogram (2 significant digits) for the second's p99.
public struct IntervalRecord: Sendable {
    @usableFromInline var operations: UInt64 = 0
    @usableFromInline var latencies = HistogramLimits.makeInterval()

    @inlinable init() {}
}

/// What one benchmark thread measured in one phase: a histogram per
/// operation type (latency, and in open loop service time), error counts and
/// per-second intervals. Merged across threads at the end of the phase.
///
/// Each operation is counted once, into the current second's `LatencyBuckets`
/// (HdrHistogram's layout, in memory the thread owns); when the second ends,
/// those counts are added into the phase histograms (bucket by bucket, exact)
/// and condensed into the second's compact histogram. This keeps the hot path
/// to an index computation and one increment.
public struct ThreadRecorder: Sendable {
    @usableFromInline var latency: [Histogram<UInt64>]
    @usableFromInline let currentSecond: LatencyBuckets
    @usableFromInline var service: [Histogram<UInt64>]
    @usableFromInline var errors: [UInt64]
    @usableFromInline var notFound: [UInt64]
    @usableFromInline var intervals: [IntervalRecord] = []
    @usableFromInline var currentOperations: UInt64 = 0
    @usableFromInline var kindsInCurrentSecond: UInt8 = 0
    @usableFromInline let openLoop: Bool
    @usableFromInline let phaseStart: UInt64
    @usableFromInline var nextBoundary: UInt64
    @usableFromInline var clamped: UInt64 = 0
    @usableFromInline var bytesReturned: UInt64 = 0
    @usableFromInline var firstError: String?
    /// YCSB accounting: READ-MODIFY-WRITE's read and update parts (histograms, not-found and failed
    /// counts, indexed by `YCSBPart`), empty outside YCSB mode.
    @usableFromInline var parts: [Histogram<UInt64>]
    @usableFromInline var partNotFound: [UInt64]
    @usableFromInline var partErrors: [UInt64]

    /// A recorder for a phase that started at `phaseStart` (on `LatencyClock`); `ycsbAccounting` keeps
    /// READ-MODIFY-WRITE's parts for YCSB's READ and UPDATE figures.
    @inlinable
    public init(openLoop: Bool, phaseStart: UInt64, ycsbAccounting: Bool = false) {
        parts = ycsbAccounting ? [HistogramLimits.makeLatency(), HistogramLimits.makeLatency()] : []
        partNotFound = [0, 0]
        partErrors = [0, 0]
        let kinds = OperationKind.bySlot.count
        latency = (0..<kinds).map { _ in HistogramLimits.makeLatency() }
        currentSecond = LatencyBuckets(kinds: kinds)
        service = openLoop ? (0..<kinds).map { _ in HistogramLimits.makeLatency() } : []
        errors = Array(repeating: 0, count: kinds)
        notFound = Array(repeating: 0, count: kinds)
        self.openLoop = openLoop
        self.phaseStart = phaseStart
        nextBoundary = phaseStart &+ 1_000_000_000
    }

    /// Closes the current second: folds it into the phase histograms and keeps its compact summary.
    @usableFromInline
    mutating func closeSecond() {
        var record = IntervalRecord()
        record.operations = currentOperations
        for slot in 0..<latency.count where kindsInCurrentSecond & (1 << slot) != 0 {
            currentSecond.fold(slot: slot, into: &latency[slot], interval: &record.latencies)
        }
        intervals.append(record)
        currentOperations = 0
        kindsInCurrentSecond = 0
        nextBoundary &+= 1_000_000_000
    }

    @usableFromInline
    mutating func advanceInterval(to end: UInt64) {
        while end >= nextBoundary { closeSecond() }
    }

    /// Closes the last, partial second; call once when the thread's loop is done.
    @usableFromInline
    mutating func finish() {
        if currentOperations > 0 || intervals.isEmpty { closeSecond() }
    }

    /// Records one completed operation: `latency` from its (intended) start to `end`.
    @inlinable
    public mutating func record(_ kind: OperationKind, latency value: UInt64, end: UInt64) {
        if end >= nextBoundary { advanceInterval(to: end) }
        let clampedValue: UInt64
        if value > HistogramLimits.highestNanoseconds {
            clamped &+= 1
            clampedValue = HistogramLimits.highestNanoseconds
        } else {
            clampedValue = value
        }
        currentSecond.record(clampedValue, slot: kind.slot)
        currentOperations &+= 1
        kindsInCurrentSecond |= UInt8(1) << UInt8(kind.slot)
    }

    /// Records the service time of an open-loop operation.
    @inlinable
    mutating func recordService(_ kind: OperationKind, _ value: UInt64) {
        service[kind.slot].record(min(value, HistogramLimits.highestNanoseconds))
    }

    @inlinable
    mutating func recordError(_ kind: OperationKind, _ error: Error) {
        errors[kind.slot] &+= 1
        if firstError == nil { firstError = "\(kind.rawValue): \(error)" }
    }

    @inlinable
    mutating func recordNotFound(_ kind: OperationKind) {
        notFound[kind.slot] &+= 1
    }

    /// Records one part (`.read` or `.update`) of a READ-MODIFY-WRITE (YCSB accounting only).
    @inlinable
    mutating func recordPart(_ kind: OperationKind, latency value: UInt64, notFound: Bool, failed: Bool) {
        guard !parts.isEmpty else { return }
        let index = kind == .read ? 0 : 1
        parts[index].record(min(value, HistogramLimits.highestNanoseconds))
        if notFound { partNotFound[index] &+= 1 }
        if failed { partErrors[index] &+= 1 }
    }
}

/// The merge of every thread's recorder for one phase.
public struct PhaseMeasurements: Sendable {
    public var latency: [Histogram<UInt64>]
    public var service: [Histogram<UInt64>]
    public var errors: [UInt64]
    public var notFound: [UInt64]
    public var intervals: [IntervalRecord] = []
    public var clamped: UInt64 = 0
    public var bytesReturned: UInt64 = 0
    public var firstError: String?
    public let openLoop: Bool
    /// READ-MODIFY-WRITE's read and update parts (YCSB accounting; empty otherwise).
    public var parts: [Histogram<UInt64>] = []
    public var partNotFound: [UInt64] = [0, 0]
    public var partErrors: [UInt64] = [0, 0]

    init(openLoop: Bool) {
        let kinds = OperationKind.bySlot.count
        latency = (0..<kinds).map { _ in HistogramLimits.makeLatency() }
        service = (0..<kinds).map { _ in HistogramLimits.makeLatency() }
        errors = Array(repeating: 0, count: kinds)
        notFound = Array(repeating: 0, count: kinds)
        self.openLoop = openLoop
    }

    /// Adds one thread's recorder (histograms are added bucket by bucket; percentiles are never averaged).
    mutating func merge(_ recorder: ThreadRecorder) {
        for slot in 0..<latency.count {
            latency[slot].add(recorder.latency[slot])
            if recorder.openLoop { service[slot].add(recorder.service[slot]) }
            errors[slot] += recorder.errors[slot]
            notFound[slot] += recorder.notFound[slot]
        }
        for (index, interval) in recorder.intervals.enumerated() {
            if index >= intervals.count { intervals.append(IntervalRecord()) }
            intervals[index].operations += interval.operations
            intervals[index].latencies.add(interval.latencies)
        }
        if !recorder.parts.isEmpty {
            if parts.isEmpty { parts = [HistogramLimits.makeLatency(), HistogramLimits.makeLatency()] }
            for index in 0..<2 {
                parts[index].add(recorder.parts[index])
                partNotFound[index] += recorder.partNotFound[index]
                partErrors[index] += recorder.partErrors[index]
            }
        }
        clamped += recorder.clamped
        bytesReturned += recorder.bytesReturned
        if firstError == nil { firstError = recorder.firstError }
    }

    /// Operations recorded across all kinds, failed ones included.
    public var totalOperations: UInt64 {
        latency.reduce(0) { $0 + $1.totalCount }
    }

    /// Operations that threw, across all kinds.
    public var totalErrors: UInt64 { errors.reduce(0, +) }

    /// The per-kind results for the report.
    func operationResults() -> [String: OperationResult] {
        var results: [String: OperationResult] = [:]
        for (slot, kind) in OperationKind.bySlot.enumerated() {
            let histogram = latency[slot]
            guard histogram.totalCount > 0 || errors[slot] > 0 else { continue }
            results[kind.rawValue] = OperationResult(
                count: histogram.totalCount,
                errors: errors[slot],
                notFound: notFound[slot],
                latencyUs: Self.summary(histogram),
                serviceUs: openLoop ? Self.summary(service[slot]) : nil,
                percentileCurve: Self.curve(histogram)
            )
        }
        return results
    }

    /// The phase by YCSB's operation names. With YCSB accounting, READ and UPDATE include
    /// READ-MODIFY-WRITE's read and update parts, as YCSB counts them.
    func ycsbOperations() -> [String: YCSBOperationResult] {
        let names: [(OperationKind, String)] = [(.read, "READ"), (.update, "UPDATE"), (.insert, "INSERT"), (.scan, "SCAN"),
                                                (.readModifyWrite, "READ-MODIFY-WRITE"), (.delete, "DELETE")]
        var results: [String: YCSBOperationResult] = [:]
        for (kind, name) in names {
            var histogram = latency[kind.slot]
            var missing = notFound[kind.slot]
            var failed = errors[kind.slot]
            if !parts.isEmpty && (kind == .read || kind == .update) {
                let index = kind == .read ? 0 : 1
                histogram.add(parts[index])
                missing += partNotFound[index]
                failed += partErrors[index]
            }
            guard histogram.totalCount > 0 else { continue }
            var returns: [String: UInt64] = [:]
            let total = histogram.totalCount
            let ok = total >= missing + failed ? total - missing - failed : 0
            if ok > 0 { returns["OK"] = ok }
            if missing > 0 { returns["NOT_FOUND"] = missing }
            if failed > 0 { returns["ERROR"] = failed }
            results[name] = YCSBOperationResult(
                operations: total, averageUs: histogram.mean / 1000, minUs: histogram.min / 1000, maxUs: histogram.max / 1000,
                p95Us: histogram.valueAtPercentile(95) / 1000, p99Us: histogram.valueAtPercentile(99) / 1000, returns: returns)
        }
        return results
    }

    /// p50 … p99.99, max and mean in microseconds.
    static func summary(_ histogram: Histogram<UInt64>) -> LatencySummary {
        func us(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1000 }
        guard histogram.totalCount > 0 else { return LatencySummary(p50: 0, p90: 0, p99: 0, p999: 0, p9999: 0, max: 0, mean: 0) }
        return LatencySummary(
            p50: us(histogram.valueAtPercentile(50)),
            p90: us(histogram.valueAtPercentile(90)),
            p99: us(histogram.valueAtPercentile(99)),
            p999: us(histogram.valueAtPercentile(99.9)),
            p9999: us(histogram.valueAtPercentile(99.99)),
            max: us(histogram.max),
            mean: histogram.mean / 1000
        )
    }

    /// Percentiles on a "nines" ladder for latency-by-percentile charts.
    static let curvePercentiles: [Double] = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96.25, 97.5, 98.4375, 99, 99.2188, 99.5, 99.6094, 99.75, 99.8, 99.9, 99.95, 99.99, 99.995, 99.999, 100]

    static func curve(_ histogram: Histogram<UInt64>) -> [PercentilePoint] {
        guard histogram.totalCount > 0 else { return [] }
        return curvePercentiles.map { percentile in
            let value = percentile >= 100 ? histogram.max : histogram.valueAtPercentile(percentile)
            return PercentilePoint(percentile: percentile, us: Double(value) / 1000)
        }
    }
}
