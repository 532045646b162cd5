#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact Zipf sampler over ranks `0..<itemCount`: P(rank r) ∝ (r + 1)^-theta.
///
/// Uses rejection-inversion (Hörmann & Derflinger 1996): invert the integral of the continuous hat
/// h(x) = x^-theta over [1/2, n + 1/2], round to the nearest integer k, and accept when the uniform
/// falls in the top h(k) of k's strip — so every rank gets exactly probability ∝ h(k). No table,
/// O(1) per sample (usually one log1p and one exp), any theta ≥ 0 (including 1 and > 1),
/// n up to about 2^53, and changing n recomputes one integral.
///
/// The first `headRanks` ranks are drawn faster, with the same outcome: the part of the uniform's
/// range that maps to them (each rank's strip, accepted and rejected parts) is a fixed discrete
/// distribution over `headRanks` ranks plus "reject", sampled from an alias table (Walker/Vose)
/// built once from h and H; a first draw chooses that part or the rest of the range with the
/// probability of its length, and the rest is rejection-inversion as above. With theta 0.99 and a
/// million records about 70 % of draws take the table (no logarithm, no exponential).
///
/// This is NOT YCSB's generator (Gray et al.'s approximation, whose rank frequencies drift from the
/// Zipf law — YCSB issue 1495).
public struct ZipfSampler: Sendable {
    @usableFromInline var count: UInt64
    @usableFromInline let theta: Double
    /// 1 - theta.
    @usableFromInline let exponentComplement: Double
    /// 1 / (1 - theta); infinite at theta = 1, where the series form is used instead.
    @usableFromInline let inverseComplement: Double
    /// H(1.5) - h(1): the lower end of the uniform's range (rank 1's strip holds exactly h(1)).
    @usableFromInline let integralLow: Double
    /// H(n + 0.5): the upper end of the uniform's range.
    @usableFromInline var integralHigh: Double
    /// Squeeze constant: k - x <= squeeze implies acceptance without evaluating H(k + 0.5).
    @usableFromInline let squeeze: Double
    /// H(headRanks + 0.5): the top of the head's part of the uniform's range.
    @usableFromInline let headTop: Double
    /// A 64-bit draw below this picks the head's part of the range (only while `count > headRanks`).
    @usableFromInline var headThreshold: UInt64
    /// Alias table over `headRanks + 1` outcomes: rank index, or `headRanks` for "reject".
    /// Entry i keeps outcome i when a 64-bit coin is below `keep`, else takes `alias`.
    /// Built when the space first grows past `headRanks` (it is read only then).
    @usableFromInline var headTable: [HeadEntry] = []

    /// Ranks sampled through the alias table (when the space is larger).
    @inlinable public static var headRanks: Int { 16_384 }

    /// One column of the head's alias table.
    @usableFromInline
    struct HeadEntry: Sendable {
        @usableFromInline var keep: UInt64
        @usableFromInline var alias: UInt32
    }

    /// A sampler over `itemCount` ranks with exponent `theta` (theta ≥ 0; 0.99 is YCSB's constant).
    public init(itemCount: UInt64, theta: Double) {
        precondition(theta >= 0 && theta.isFinite, "Zipf theta must be a finite number >= 0.")
        self.count = itemCount
        self.theta = theta
        self.exponentComplement = 1 - theta
        self.inverseComplement = 1 / (1 - theta)
        let complement = 1 - theta
        integralLow = ZipfSampler.integral(1.5, complement) - 1
        integralHigh = ZipfSampler.integral(Double(itemCount) + 0.5, complement)
        squeeze = 2 - ZipfSampler.integralInverse(
            ZipfSampler.integral(2.5, complement) - ZipfSampler.hat(2, theta), complement)
        headTop = ZipfSampler.integral(Double(Self.headRanks) + 0.5, complement)
        headThreshold = 0
        headThreshold = headThreshold(for: itemCount)
        if headThreshold > 0 { buildHeadTable() }
    }

    /// The chance, as a 64-bit threshold, that a draw's uniform falls in the head's part of the range.
    @usableFromInline
    func headThreshold(for itemCount: UInt64) -> UInt64 {
        guard itemCount > UInt64(Self.headRanks) else { return 0 }
        let fraction = (headTop - integralLow) / (integralHigh - integralLow)
        return fraction >= 1 ? .max : UInt64(fraction * 0x1p64)
    }

    /// The alias table of the head's outcomes: rank k (1-based) has weight h(k) (its accepted strip),
    /// "reject" the rest of the head's range (the strips' rejected parts).
    static func makeHeadTable(theta: Double, integralLow: Double) -> [HeadEntry] {
        let ranks = headRanks
        let complement = 1 - theta
        var weights = [Double](repeating: 0, count: ranks + 1)
        var accepted = 0.0
        for k in 1...ranks {
            weights[k - 1] = hat(Double(k), theta)
            accepted += weights[k - 1]
        }
        let length = integral(Double(ranks) + 0.5, complement) - integralLow
        weights[ranks] = max(0, length - accepted)
        let total = accepted + weights[ranks]
        let columns = ranks + 1
        var scaled = weights.map { $0 * Double(columns) / total }
        var table = [HeadEntry](repeating: HeadEntry(keep: .max, alias: 0), count: columns)
        var small: [Int] = [], large: [Int] = []
        for index in 0..<columns { if scaled[index] < 1 { small.append(index) } else { large.append(index) } }
        while let lower = small.popLast(), let upper = large.last {
            table[lower] = HeadEntry(keep: UInt64(scaled[lower] * 0x1p64), alias: UInt32(upper))
            scaled[upper] -= 1 - scaled[lower]
            if scaled[upper] < 1 {
                large.removeLast()
                small.append(upper)
            }
        }
        for index in table.indices { table[index].alias = table[index].keep == .max ? UInt32(index) : table[index].alias }
        return table
    }

    /// The number of ranks.
    public var itemCount: UInt64 { count }

    /// Changes the number of ranks; costs one logarithm and one exponential (and, the first time
    /// the space grows past `headRanks`, the head table).
    @inlinable
    public mutating func setItemCount(_ newCount: UInt64) {
        guard newCount != count else { return }
        count = newCount
        integralHigh = ZipfSampler.integral(Double(newCount) + 0.5, exponentComplement)
        headThreshold = headThreshold(for: newCount)
        if headThreshold > 0 && headTable.isEmpty { buildHeadTable() }
    }

    /// Builds the head's alias table (about 1 ms and 256 KiB), once.
    @usableFromInline @inline(never)
    mutating func buildHeadTable() {
        headTable = ZipfSampler.makeHeadTable(theta: theta, integralLow: integralLow)
    }

    /// The next rank, 0 = most frequent. Returns 0 when there are no ranks.
    @inlinable
    public mutating func next(random: inout WorkloadRandom) -> UInt64 {
        if count <= 1 { return 0 }
        while true {
            let bottom: Double
            let lowestRank: Double
            if headThreshold > 0 {
                if random.next() < headThreshold {
                    let column = Int(truncatingIfNeeded: random.next().multipliedFullWidth(by: UInt64(headTable.count)).high)
                    let entry = headTable[column]
                    let outcome = random.next() < entry.keep ? column : Int(entry.alias)
                    if outcome < Self.headRanks { return UInt64(truncatingIfNeeded: outcome) }
                    continue
                }
                bottom = headTop
                lowestRank = Double(Self.headRanks + 1)
            } else {
                bottom = integralLow
                lowestRank = 1
            }
            let u = integralHigh + random.nextDouble() * (bottom - integralHigh)
            let y = exponentComplement * u
            // H^-1(u) = exp(log1p(y) / (1 - theta)); the series form near y = 0 (and at theta = 1).
            let x = abs(y) > 1e-8
                ? exp(log1p(y) * inverseComplement) : ZipfSampler.integralInverse(u, exponentComplement)
            var k = (x + 0.5).rounded(.down)
            if k < lowestRank {
                k = lowestRank
            } else if k > Double(count) {
                k = Double(count)
            }
            if k - x <= squeeze
                || u >= ZipfSampler.integral(k + 0.5, exponentComplement) - ZipfSampler.hat(k, theta)
            {
                return UInt64(k) &- 1
            }
        }
    }

    /// The exact probability of `rank` under the Zipf law (normalizer by direct summation of the first
    /// 2,000 terms and Euler–Maclaurin for the rest, relative error far below 1e-12).
    public func probability(ofRank rank: UInt64) -> Double {
        guard rank < count else { return 0 }
        return ZipfSampler.hat(Double(rank) + 1, theta) / ZipfSampler.harmonic(count, theta)
    }

    /// The generalized harmonic number H(n, theta) = Σ_{k=1..n} k^-theta.
    static func harmonic(_ n: UInt64, _ theta: Double) -> Double {
        let direct: UInt64 = 2_000
        if n <= direct {
            var sum = 0.0
            var k = n
            while k >= 1 {
                sum += hat(Double(k), theta)
                k -= 1
            }
            return sum
        }
        var head = 0.0
        var k = direct - 1
        while k >= 1 {
            head += hat(Double(k), theta)
            k -= 1
        }
        // Euler–Maclaurin for Σ_{k=m..n} f(k), f(x) = x^-theta.
        let m = Double(direct)
        let upper = Double(n)
        let integralPart = (integral(upper, 1 - theta) - integral(m, 1 - theta))
        let ends = (hat(m, theta) + hat(upper, theta)) / 2
        func firstDerivative(_ x: Double) -> Double { -theta * pow(x, -theta - 1) }
        func thirdDerivative(_ x: Double) -> Double { -theta * (theta + 1) * (theta + 2) * pow(x, -theta - 3) }
        let correction = (firstDerivative(upper) - firstDerivative(m)) / 12
            - (thirdDerivative(upper) - thirdDerivative(m)) / 720
        return head + integralPart + ends + correction
    }

    /// h(x) = x^-theta.
    @inlinable
    static func hat(_ x: Double, _ theta: Double) -> Double {
        exp(-theta * log(x))
    }

    /// H(x) = (x^(1-theta) - 1) / (1-theta), or log x at theta = 1: an antiderivative of h.
    @inlinable
    static func integral(_ x: Double, _ complement: Double) -> Double {
        let logX = log(x)
        return expm1OverX(complement * logX) * logX
    }

    /// The inverse of H.
    @inlinable
    static func integralInverse(_ u: Double, _ complement: Double) -> Double {
        exp(log1pOverX(complement * u) * u)
    }

    /// log1p(y) / y, continuous at 0.
    @inlinable
    static func log1pOverX(_ y: Double) -> Double {
        if abs(y) > 1e-8 { return log1p(y) / y }
        return 1 - y * (0.5 - y / 3)
    }

    /// expm1(y) / y, continuous at 0.
    @inlinable
    static func expm1OverX(_ y: Double) -> Double {
        if abs(y) > 1e-8 { return expm1(y) / y }
        return 1 + y * (0.5 + y / 6)
    }
}
