/// Key request distributions.
public enum KeyDistribution: Sendable, Hashable {
    /// Every record equally likely.
    case uniform
    /// Scrambled zipfian: exact Zipf ranks mapped over the key space by a seeded bijection.
    case zipfian(theta: Double)
    /// Zipfian over recency: rank 0 = the newest readable record.
    case latest(theta: Double)
    /// Record ids in order, wrapping.
    case sequential
    /// `hotFraction` of the records (the lowest ids) receive `hotOperationFraction` of the requests.
    case hotspot(hotFraction: Double, hotOperationFraction: Double)

    /// The distribution named `name`, or nil for an unknown name or an out-of-range parameter
    /// (theta must be finite and >= 0, fractions in 0...1).
    public static func parse(_ name: String, theta: Double, hotFraction: Double,
                             hotOperationFraction: Double) -> KeyDistribution? {
        let thetaValid = theta.isFinite && theta >= 0
        switch name {
        case "uniform": return .uniform
        case "zipfian": return thetaValid ? .zipfian(theta: theta) : nil
        case "latest": return thetaValid ? .latest(theta: theta) : nil
        case "sequential": return .sequential
        case "hotspot":
            guard (0...1).contains(hotFraction), (0...1).contains(hotOperationFraction) else { return nil }
            return .hotspot(hotFraction: hotFraction, hotOperationFraction: hotOperationFraction)
        default: return nil
        }
    }

    /// Every distribution name `parse` accepts.
    public static let names: [String] = ["uniform", "zipfian", "latest", "sequential", "hotspot"]

    /// YCSB's zipfian constant.
    public static let defaultTheta = 0.99

    /// The distribution's name as `parse` accepts it.
    public var name: String {
        switch self {
        case .uniform: return "uniform"
        case .zipfian: return "zipfian"
        case .latest: return "latest"
        case .sequential: return "sequential"
        case .hotspot: return "hotspot"
        }
    }
}

/// Draws record ids from a distribution over a key space that may grow (inserts).
///
/// The random bits come from the caller's `WorkloadRandom`, so one chooser definition (and its
/// scramble, keyed by the workload seed) is shared by every thread while each thread has its own stream.
/// Zipfian ranks below the initial item count are scrambled by an `IDPermutation` fixed at init;
/// ranks at or above it (only after `setItemCount` grew the space) map to themselves, so hot records
/// never move as the space grows.
public struct KeyChooser: Sendable {
    @usableFromInline enum Mode: UInt8, Sendable { case uniform, zipfian, latest, sequential, hotspot }

    @usableFromInline let mode: Mode
    @usableFromInline var count: UInt64
    @usableFromInline var zipf: ZipfSampler
    @usableFromInline let permutation: IDPermutation
    @usableFromInline var cursor: UInt64
    @usableFromInline let hotFraction: Double
    @usableFromInline var hotCount: UInt64
    /// A request is hot when a 64-bit draw is below this.
    @usableFromInline let hotThreshold: UInt64

    /// A chooser over `0..<itemCount`; `seed` keys the zipfian scramble.
    public init(distribution: KeyDistribution, itemCount: UInt64, seed: UInt64) {
        count = itemCount
        cursor = 0
        var theta = KeyDistribution.defaultTheta
        var hotFraction = 0.0
        var hotOperationFraction = 0.0
        switch distribution {
        case .uniform: mode = .uniform
        case .zipfian(let t): mode = .zipfian; theta = t
        case .latest(let t): mode = .latest; theta = t
        case .sequential: mode = .sequential
        case .hotspot(let data, let operations):
            mode = .hotspot
            hotFraction = data
            hotOperationFraction = operations
        }
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
    /// Returns 0 when the space is empty.
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
        case .uniform, .sequential: break
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
