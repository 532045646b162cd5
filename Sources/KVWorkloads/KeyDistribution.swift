/// Key request distributions: KVBench's exact ones and YCSB's own generators.
public enum KeyDistribution: Sendable, Hashable {
    /// Every record equally likely.
    case uniform
    /// Exact Zipf ranks mapped over the key space by a seeded bijection (`zipfian-exact`; `zipfian` outside YCSB mode).
    case zipfian(theta: Double)
    /// Exact Zipf over recency: rank 0 = the newest readable record (`latest-exact`; `latest` outside YCSB mode).
    case latest(theta: Double)
    /// Record ids in order, wrapping.
    case sequential
    /// `hotFraction` of the records (the lowest ids) receive `hotOperationFraction` of the requests.
    case hotspot(hotFraction: Double, hotOperationFraction: Double)
    /// YCSB's `ScrambledZipfianGenerator` (θ 0.99 over 10^10 items, folded by FNV-64): `zipfian` in YCSB mode.
    case ycsbZipfian
    /// YCSB's `SkewedLatestGenerator` (its `ZipfianGenerator` counted back from the newest record): `latest` in YCSB mode.
    case ycsbLatest
    /// YCSB's `HotspotIntegerGenerator`: `hotspot` in YCSB mode.
    case ycsbHotspot(hotFraction: Double, hotOperationFraction: Double)
    /// YCSB's `ExponentialGenerator(percentile, recordcount × fraction)`, counted back from the newest record.
    case exponential(percentile: Double, fraction: Double)

    /// The distribution named `name`, or nil for an unknown name or an out-of-range parameter
    /// (theta must be finite and >= 0, fractions in 0...1). With `ycsb`, `zipfian`, `latest` and
    /// `hotspot` are YCSB's generators; `zipfian-exact` and `latest-exact` are always KVBench's exact Zipf.
    public static func parse(_ name: String, theta: Double, hotFraction: Double,
                             hotOperationFraction: Double, ycsb: Bool = false) -> KeyDistribution? {
        let thetaValid = theta.isFinite && theta >= 0
        let fractionsValid = (0...1).contains(hotFraction) && (0...1).contains(hotOperationFraction)
        switch name {
        case "uniform": return .uniform
        case "zipfian" where ycsb: return .ycsbZipfian
        case "zipfian", "zipfian-exact": return thetaValid ? .zipfian(theta: theta) : nil
        case "latest" where ycsb: return .ycsbLatest
        case "latest", "latest-exact": return thetaValid ? .latest(theta: theta) : nil
        case "sequential": return .sequential
        case "hotspot":
            guard fractionsValid else { return nil }
            return ycsb ? .ycsbHotspot(hotFraction: hotFraction, hotOperationFraction: hotOperationFraction)
                : .hotspot(hotFraction: hotFraction, hotOperationFraction: hotOperationFraction)
        case "exponential":
            return .exponential(percentile: YCSBExponentialDefaults.percentile, fraction: YCSBExponentialDefaults.fraction)
        default: return nil
        }
    }

    /// Every distribution name `parse` accepts.
    public static let names: [String] = ["uniform", "zipfian", "zipfian-exact", "latest", "latest-exact", "sequential",
                                         "hotspot", "exponential"]

    /// YCSB's zipfian constant.
    public static let defaultTheta = 0.99

    /// The distribution's name as `parse` accepts it (YCSB's generators under YCSB's names).
    public var name: String {
        switch self {
        case .uniform: return "uniform"
        case .zipfian, .ycsbZipfian: return "zipfian"
        case .latest, .ycsbLatest: return "latest"
        case .sequential: return "sequential"
        case .hotspot, .ycsbHotspot: return "hotspot"
        case .exponential: return "exponential"
        }
    }

    /// The generator that draws the keys, as reports name it.
    public var generator: String {
        switch self {
        case .uniform: return "uniform"
        case .zipfian(let theta): return "exact Zipf θ=\(theta) (KVBench, scrambled by a seeded permutation)"
        case .latest(let theta): return "exact Zipf θ=\(theta) over recency (KVBench)"
        case .sequential: return "sequential"
        case .hotspot: return "hotspot (KVBench)"
        case .ycsbZipfian: return "ScrambledZipfianGenerator (YCSB)"
        case .ycsbLatest: return "SkewedLatestGenerator (YCSB)"
        case .ycsbHotspot: return "HotspotIntegerGenerator (YCSB)"
        case .exponential(let percentile, let fraction):
            return "ExponentialGenerator (YCSB, percentile \(percentile), frac \(fraction))"
        }
    }

    /// True for the generators that follow inserts (drawn back from the newest readable record).
    public var followsInserts: Bool {
        switch self {
        case .latest, .ycsbLatest, .exponential: return true
        default: return false
        }
    }
}

/// `exponential.percentile` and `exponential.frac` defaults (YCSB's `ExponentialGenerator`).
public enum YCSBExponentialDefaults {
    /// `exponential.percentile`.
    public static let percentile = 95.0
    /// `exponential.frac` (YCSB's string "0.8571428571").
    public static let fraction = 0.8571428571
}

/// Draws record ids from a distribution over a key space that may grow (inserts).
///
/// The random bits come from the caller's `WorkloadRandom`, so one chooser definition (and its
/// scramble, keyed by the workload seed) is shared by every thread while each thread has its own stream.
/// Zipfian ranks below the initial item count are scrambled by an `IDPermutation` fixed at init;
/// ranks at or above it (only after `setItemCount` grew the space) map to themselves, so hot records
/// never move as the space grows.
public struct KeyChooser: Sendable {
    @usableFromInline enum Mode: UInt8, Sendable {
        case uniform, zipfian, latest, sequential, hotspot, ycsbZipfian, ycsbLatest, ycsbHotspot, exponential
    }

    @usableFromInline let mode: Mode
    @usableFromInline var count: UInt64
    @usableFromInline var zipf: ZipfSampler
    @usableFromInline let permutation: IDPermutation
    @usableFromInline var cursor: UInt64
    @usableFromInline let hotFraction: Double
    @usableFromInline var hotCount: UInt64
    /// A request is hot when a 64-bit draw is below this.
    @usableFromInline let hotThreshold: UInt64
    @usableFromInline var scrambled: YCSBScrambledZipfian
    @usableFromInline var latestZipfian: YCSBZipfian
    @usableFromInline let ycsbHotspot: YCSBHotspot
    @usableFromInline let exponential: YCSBExponential

    /// A chooser over `0..<itemCount`; `seed` keys the zipfian scramble. YCSB's generators are built as
    /// CoreWorkload builds them: the scrambled zipfian over `itemCount + expectedInserts + 1` records (ids
    /// not yet inserted are redrawn), hotspot over `itemCount`, exponential over `itemCount × fraction`.
    public init(distribution: KeyDistribution, itemCount: UInt64, seed: UInt64, expectedInserts: UInt64 = 0) {
        count = itemCount
        cursor = 0
        var theta = KeyDistribution.defaultTheta
        var hotFraction = 0.0
        var hotOperationFraction = 0.0
        let records = Int64(clamping: itemCount)
        scrambled = YCSBScrambledZipfian(min: 0, max: 0)
        latestZipfian = YCSBZipfian(min: 0, max: 1, theta: YCSBZipfian.constant, zetan: 1)
        var hot = YCSBHotspot(lower: 0, upper: 0, hotsetFraction: 0, hotOperationFraction: 0)
        var exponential = YCSBExponential(percentile: YCSBExponentialDefaults.percentile, range: 1)
        switch distribution {
        case .uniform: mode = .uniform
        case .zipfian(let t): mode = .zipfian; theta = t
        case .latest(let t): mode = .latest; theta = t
        case .sequential: mode = .sequential
        case .hotspot(let data, let operations):
            mode = .hotspot
            hotFraction = data
            hotOperationFraction = operations
        case .ycsbZipfian:
            mode = .ycsbZipfian
            scrambled = YCSBScrambledZipfian(min: 0, max: records &+ Int64(clamping: expectedInserts))
        case .ycsbLatest:
            mode = .ycsbLatest
            // SkewedLatestGenerator: ZipfianGenerator(basis.lastValue()), i.e. over recordcount - 1 items.
            if records > 1 { latestZipfian = YCSBZipfian(min: 0, max: records - 2) }
        case .ycsbHotspot(let data, let operations):
            mode = .ycsbHotspot
            hot = YCSBHotspot(lower: 0, upper: records - 1, hotsetFraction: data, hotOperationFraction: operations)
        case .exponential(let percentile, let fraction):
            mode = .exponential
            exponential = YCSBExponential(percentile: percentile, range: Double(records) * fraction)
        }
        ycsbHotspot = hot
        self.exponential = exponential
        // Only zipfian and latest draw ranks; the others keep an empty sampler (no head table to build).
        zipf = ZipfSampler(itemCount: mode == .zipfian || mode == .latest ? itemCount : 0, theta: theta)
        permutation = IDPermutation(count: mode == .zipfian ? itemCount : 0, seed: seed)
        self.hotFraction = hotFraction
        hotCount = KeyChooser.hotCount(itemCount, hotFraction)
        hotThreshold = hotOperationFraction >= 1
            ? UInt64.max : UInt64(max(0, hotOperationFraction) * 0x1p64)
    }

    /// The current size of the key space.
    public var itemCount: UInt64 { count }

    /// Next record id in `0..<itemCount` (for latest: counted back from `itemCount - 1`).
    /// Returns 0 when the space is empty. YCSB's generators redraw as `CoreWorkload.nextKeynum` does:
    /// exponential while the id would be negative, the others while it is beyond the newest record.
    @inlinable @inline(__always)
    public mutating func next(random: inout WorkloadRandom) -> UInt64 {
        switch mode {
        case .uniform:
            return random.next(below: count)
        case .zipfian:
            let rank = zipf.next(random: &random)
            return rank < permutation.count ? permutation.apply(rank) : rank
        case .latest:
            let rank = zipf.next(random: &random)
            return count == 0 ? 0 : count &- 1 &- rank
        case .sequential:
            if count == 0 { return 0 }
            if cursor >= count { cursor = 0 }
            let id = cursor
            cursor &+= 1
            return id
        case .hotspot:
            if hotCount == 0 || hotCount >= count { return random.next(below: count) }
            if random.next() < hotThreshold { return random.next(below: hotCount) }
            return hotCount &+ random.next(below: count &- hotCount)
        case .ycsbZipfian, .ycsbLatest, .ycsbHotspot, .exponential:
            return nextYCSB(random: &random)
        }
    }

    /// YCSB's generators, out of line so that KVBench's own stay small enough to inline (their cost is
    /// dominated by `pow` and the FNV fold anyway).
    @inlinable @inline(never)
    mutating func nextYCSB(random: inout WorkloadRandom) -> UInt64 {
        switch mode {
        case .ycsbZipfian:
            if count == 0 { return 0 }
            while true {
                let id = scrambled.next(uniform: random.nextDouble())
                if id >= 0 && UInt64(id) < count { return UInt64(id) }
            }
        case .ycsbLatest:
            let newest = Int64(clamping: count) &- 1
            if newest <= 0 { return 0 }
            return UInt64(newest &- latestZipfian.next(itemCount: newest, uniform: random.nextDouble()))
        case .ycsbHotspot:
            if count == 0 { return 0 }
            while true {
                let id = ycsbHotspot.next(uniform: random.nextDouble(), bits: random.next())
                if id >= 0 && UInt64(id) < count { return UInt64(id) }
            }
        case .exponential:
            if count == 0 { return 0 }
            let newest = Int64(clamping: count) &- 1
            while true {
                let id = newest &- exponential.next(uniform: random.nextDouble())
                if id >= 0 { return UInt64(id) }
            }
        case .uniform, .zipfian, .latest, .sequential, .hotspot:
            return 0
        }
    }

    /// The unscrambled rank (0 = most frequent) for zipfian and latest; the record id otherwise.
    @inlinable
    public mutating func nextRank(random: inout WorkloadRandom) -> UInt64 {
        switch mode {
        case .zipfian, .latest: return zipf.next(random: &random)
        default: return next(random: &random)
        }
    }

    /// Changes the size of the key space (inserts extend it; `latest` follows the newest record).
    @inlinable
    public mutating func setItemCount(_ newCount: UInt64) {
        guard newCount != count else { return }
        count = newCount
        switch mode {
        case .zipfian, .latest: zipf.setItemCount(newCount)
        case .hotspot: hotCount = KeyChooser.hotCount(newCount, hotFraction)
        case .uniform, .sequential, .ycsbZipfian, .ycsbLatest, .ycsbHotspot, .exponential: break
        }
    }

    /// Starts a sequential chooser at `position` (wrapped into the space); other modes ignore it.
    public mutating func setSequentialStart(_ position: UInt64) {
        cursor = count == 0 ? 0 : position % count
    }

    @usableFromInline
    static func hotCount(_ count: UInt64, _ fraction: Double) -> UInt64 {
        min(count, UInt64((Double(count) * max(0, fraction)).rounded(.down)))
    }
}
