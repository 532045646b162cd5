/// SplitMix64: a 64-bit generator whose state advances by a fixed odd constant and whose
/// output is that state run through a bijective mixer. Small and deterministic; the one
/// used to seed generators, derive sub-streams and mix hashes in every module. Not cryptographic.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The state's step: 2^64 divided by the golden ratio, rounded to odd.
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Advances the state and returns the next well-mixed word.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The finalizer alone: a bijective mixing of 64 bits.
    @inlinable @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
