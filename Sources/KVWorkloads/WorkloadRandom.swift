import KVStore
/// A deterministic 64-bit PRNG (xoshiro256**, seeded through SplitMix64): same seed, same sequence.
///
/// Not cryptographic; fast enough for the per-operation hot path (a few shifts, rotates and multiplies).
public struct WorkloadRandom: Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Seeds the four state words from `seed` with SplitMix64 (never all zero).
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = SplitMix64.increment }
    }

    /// The next 64 uniformly distributed bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let shifted = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= shifted
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform integer in `0..<bound`, without modulo bias (Lemire's multiply-shift with rejection).
    /// Returns 0 when `bound` is 0.
    @inlinable
    public mutating func next(below bound: UInt64) -> UInt64 {
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// A seed for an independent sub-stream `index` of `seed` (per thread, per phase).
    @inlinable
    public static func derive(_ seed: UInt64, stream index: UInt64) -> UInt64 {
        SplitMix64.mix(seed ^ SplitMix64.mix(index &+ 0x6A09_E667_F3BC_C909))
    }
}

@inlinable @inline(__always)
func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
    (value << count) | (value >> (64 &- count))
}
