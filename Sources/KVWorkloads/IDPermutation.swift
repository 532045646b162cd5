import KVStore

/// A seeded bijection of `0..<count` onto itself, O(1) memory.
///
/// Three keyed rounds of (xor key, multiply by an odd constant, xor-shift right) over the smallest
/// power-of-two domain 2^m >= count — each step is invertible modulo 2^m — and cycle walking:
/// re-apply until the value falls below `count`. Since 2^m < 2·count, fewer than two rounds are
/// needed on average. Used to scramble zipfian ranks over the key space (bijective, so unlike
/// YCSB's FNV-hash-mod no two ranks share a record) and to order random loads.
public struct IDPermutation: Sendable, Hashable {
    @usableFromInline let count: UInt64
    @usableFromInline let mask: UInt64
    @usableFromInline let shift: UInt64
    @usableFromInline let key0: UInt64
    @usableFromInline let key1: UInt64
    @usableFromInline let key2: UInt64
    @usableFromInline let multiplier0: UInt64
    @usableFromInline let multiplier1: UInt64
    @usableFromInline let multiplier2: UInt64

    /// A permutation of `0..<count` chosen by `seed`.
    public init(count: UInt64, seed: UInt64) {
        self.count = count
        var bits: UInt64 = 0
        while bits < 64 && (UInt64(1) << bits) < count { bits += 1 }
        mask = bits >= 64 ? UInt64.max : (UInt64(1) << bits) &- 1
        shift = max(1, (bits + 1) / 2)
        var generator = SplitMix64(seed: seed ^ 0x3C6E_F372_FE94_F82B)
        key0 = generator.next() & mask
        key1 = generator.next() & mask
        key2 = generator.next() & mask
        multiplier0 = generator.next() | 1
        multiplier1 = generator.next() | 1
        multiplier2 = generator.next() | 1
    }

    /// The size of the permuted range.
    public var itemCount: UInt64 { count }

    /// The image of `value` (which must be below `itemCount`).
    @inlinable @inline(__always)
    public func apply(_ value: UInt64) -> UInt64 {
        var x = value
        repeat {
            x = round(x)
        } while x >= count
        return x
    }

    @inlinable @inline(__always)
    func round(_ value: UInt64) -> UInt64 {
        var x = value ^ key0
        x = (x &* multiplier0) & mask
        x ^= x >> shift
        x ^= key1
        x = (x &* multiplier1) & mask
        x ^= x >> shift
        x ^= key2
        x = (x &* multiplier2) & mask
        x ^= x >> shift
        return x
    }
}
