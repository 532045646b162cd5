#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// YCSB's 64-bit FNV-1 hash of a record number (`Utils.fnvhash64`): the eight bytes of the
/// number, low byte first, each xored into the state and multiplied by the FNV prime; the
/// result is Java's `Math.abs` of the signed state, so it is non-negative except for the one
/// state `Int64.min`, which `Math.abs` leaves negative.
public enum YCSBHash {
    /// FNV-64 offset basis.
    @inlinable public static var offsetBasis: UInt64 { 0xCBF2_9CE4_8422_2325 }
    /// FNV-64 prime.
    @inlinable public static var prime: UInt64 { 1_099_511_628_211 }

    /// `Utils.fnvhash64(value)` as YCSB computes it (Java long arithmetic).
    @inlinable @inline(__always)
    public static func fnv64(_ value: Int64) -> Int64 {
        var state = offsetBasis
        var rest = UInt64(bitPattern: value)
        for _ in 0..<8 {
            state ^= rest & 0xFF
            state = state &* prime
            rest >>= 8
        }
        let signed = Int64(bitPattern: state)
        return signed < 0 ? 0 &- signed : signed
    }
}

/// YCSB's `ZipfianGenerator` (Gray et al., SIGMOD 1994), term for term: items `base ... base + items - 1`,
/// zeta summed as YCSB sums it, the incremental zeta when the item count grows, and YCSB's quirk of
/// recomputing eta from the constructor's item count. The uniform comes from the caller.
public struct YCSBZipfian: Sendable {
    @usableFromInline let items: Int64
    @usableFromInline let base: Int64
    @usableFromInline let theta: Double
    @usableFromInline let zeta2theta: Double
    @usableFromInline let alpha: Double
    /// 1 + 0.5^theta: below it (times zeta) the draw is the second item.
    @usableFromInline let secondLimit: Double
    @usableFromInline var zetan: Double
    @usableFromInline var eta: Double
    @usableFromInline var countForZeta: Int64

    /// YCSB's zipfian constant.
    public static let constant = 0.99

    /// `ZipfianGenerator(min, max, constant)`: zeta over `max - min + 1` items computed (shared across threads).
    public init(min: Int64, max: Int64, theta: Double = YCSBZipfian.constant) {
        self.init(min: min, max: max, theta: theta, zetan: YCSBZipfian.zeta(count: max - min + 1, theta: theta))
    }

    /// `ZipfianGenerator(min, max, constant, zetan)`: with a precomputed zeta.
    public init(min: Int64, max: Int64, theta: Double, zetan: Double) {
        items = max - min + 1
        base = min
        self.theta = theta
        zeta2theta = YCSBZipfian.zetaSum(from: 0, to: 2, theta: theta, initial: 0)
        alpha = 1 / (1 - theta)
        secondLimit = 1 + pow(0.5, theta)
        self.zetan = zetan
        countForZeta = items
        eta = (1 - pow(2.0 / Double(items), 1 - theta)) / (1 - zeta2theta / zetan)
    }

    /// `nextLong(itemCount)` with uniform `u` in [0, 1).
    @inlinable @inline(__always)
    public mutating func next(itemCount: Int64, uniform u: Double) -> Int64 {
        if itemCount > countForZeta { grow(to: itemCount) }
        let uz = u * zetan
        if uz < 1 { return base }
        if uz < secondLimit { return base &+ 1 }
        return base &+ Int64(Double(itemCount) * pow(eta * u - eta + 1, alpha))
    }

    /// `nextValue()`: a draw over the constructor's item count.
    @inlinable @inline(__always)
    public mutating func next(uniform u: Double) -> Int64 {
        next(itemCount: items, uniform: u)
    }

    /// More items: zeta extended incrementally, eta recomputed (from `items`, as YCSB does).
    @usableFromInline
    mutating func grow(to itemCount: Int64) {
        zetan = YCSBZipfian.zetaSum(from: countForZeta, to: itemCount, theta: theta, initial: zetan)
        countForZeta = itemCount
        eta = (1 - pow(2.0 / Double(items), 1 - theta)) / (1 - zeta2theta / zetan)
    }

    /// `zetastatic(st, n, theta, initialsum)`: initial + Σ_{i=st}^{n-1} 1/(i+1)^theta, in YCSB's order.
    public static func zetaSum(from start: Int64, to end: Int64, theta: Double, initial: Double) -> Double {
        var sum = initial
        var index = start
        while index < end {
            sum += 1 / pow(Double(index + 1), theta)
            index += 1
        }
        return sum
    }

    private static let zetaCache = Mutex<[ZetaKey: Double]>([:])
    private struct ZetaKey: Hashable { let count: Int64; let theta: Double }

    /// `zetastatic(n, theta)`, computed once per (n, theta) in the process (every thread's generator shares it).
    public static func zeta(count: Int64, theta: Double) -> Double {
        let key = ZetaKey(count: count, theta: theta)
        if let cached = zetaCache.withLock({ $0[key] }) { return cached }
        let value = zetaSum(from: 0, to: count, theta: theta, initial: 0)
        zetaCache.withLock { $0[key] = value }
        return value
    }
}

/// YCSB's `ScrambledZipfianGenerator(min, max)`: a zipfian draw over a fixed 10^10 + 1 items with
/// YCSB's precomputed zeta (θ = 0.99), folded onto `min ... max` by FNV-64 modulo the item count.
/// Several ranks fold onto one record, so its hottest record gets about 1/zeta ≈ 3.8 % of the draws.
public struct YCSBScrambledZipfian: Sendable {
    /// `ScrambledZipfianGenerator.ITEM_COUNT`.
    public static let itemCount: Int64 = 10_000_000_000
    /// `ScrambledZipfianGenerator.ZETAN`: zeta(10^10, 0.99) as YCSB precomputed it.
    public static let zetan = 26.46902820178302

    @usableFromInline var generator: YCSBZipfian
    @usableFromInline let min: Int64
    @usableFromInline let count: Int64

    /// Draws in `min ... max` (YCSB builds it with `max = insertstart + insertcount + expected inserts`).
    public init(min: Int64, max: Int64) {
        self.min = min
        count = max - min + 1
        generator = YCSBZipfian(min: 0, max: Self.itemCount, theta: YCSBZipfian.constant, zetan: Self.zetan)
    }

    /// The number of records draws are folded onto.
    public var items: Int64 { count }

    /// The next record number (negative only when a rank hashes to `Int64.min`, which YCSB would pass on).
    @inlinable @inline(__always)
    public mutating func next(uniform u: Double) -> Int64 {
        let rank = generator.next(uniform: u)
        return min &+ YCSBHash.fnv64(rank) % count
    }
}

/// YCSB's `ExponentialGenerator(percentile, range)`: gamma = -ln(1 - percentile/100) / range, and each
/// draw is -ln(u) / gamma (CoreWorkload subtracts it from the newest record number).
public struct YCSBExponential: Sendable, Hashable {
    @usableFromInline let gamma: Double

    /// `percentile` % of draws fall below `range`.
    public init(percentile: Double, range: Double) {
        gamma = -log(1 - percentile / 100) / range
    }

    /// A draw for uniform `u` in [0, 1), as Java's `intValue()` of it (saturating at Int32.max).
    @inlinable @inline(__always)
    public func next(uniform u: Double) -> Int64 {
        let value = -log(u) / gamma
        return value >= 2_147_483_647 ? 2_147_483_647 : Int64(value)
    }
}

/// YCSB's `HotspotIntegerGenerator(lower, upper, hotsetFraction, hotOpnFraction)`: the hot set is the
/// lowest `(int)(interval × hotsetFraction)` numbers; a uniform below hotOpnFraction picks it.
public struct YCSBHotspot: Sendable, Hashable {
    @usableFromInline let lower: Int64
    @usableFromInline let hotInterval: Int64
    @usableFromInline let coldInterval: Int64
    @usableFromInline let hotOperationFraction: Double

    /// A generator over `lower ... upper` (YCSB resets a fraction outside 0...1 to 0; callers refuse those).
    public init(lower: Int64, upper: Int64, hotsetFraction: Double, hotOperationFraction: Double) {
        let interval = upper - lower + 1
        self.lower = lower
        let hot = Double(interval) * hotsetFraction   // Java's (int) cast saturates
        hotInterval = hot >= 2_147_483_647 ? 2_147_483_647 : Int64(hot)
        coldInterval = interval - hotInterval
        self.hotOperationFraction = hotOperationFraction
    }

    /// The next number from a uniform `u` and 64 random bits `bits` (Java: `Math.abs(nextLong()) % interval`).
    /// An empty hot (or cold) set, where YCSB would divide by zero, sends the draw to the other set.
    @inlinable @inline(__always)
    public func next(uniform u: Double, bits: UInt64) -> Int64 {
        let signed = Int64(bitPattern: bits)
        let magnitude = signed == Int64.min ? 0 : (signed < 0 ? -signed : signed)
        if (u < hotOperationFraction && hotInterval > 0) || coldInterval <= 0 {
            return hotInterval > 0 ? lower &+ magnitude % hotInterval : lower
        }
        return lower &+ hotInterval &+ magnitude % coldInterval
    }
}
