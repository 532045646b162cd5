import KVStore

/// The keys and values of a crash test. A value encodes the key it was written
/// under and the sequence number of the write, so a verifier can tell exactly
/// which write it sees; every byte after the header is derived from both, so a
/// torn or misplaced value is caught as wrong, never mistaken for a valid one.
public enum CrashValues {
    /// Magic bytes at the start of every value.
    static let magic: [UInt8] = [0x4B, 0x56, 0x46, 0x31] // "KVF1"
    /// Bytes before the filler: magic, key index (4), sequence number (8).
    static let headerSize = 16

    /// The key bytes of key index `index`: `k` followed by eight decimal digits.
    public static func key(_ index: Int) -> Bytes {
        var bytes: Bytes = [UInt8(ascii: "k")]
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: 8)
        var rest = index
        for position in stride(from: 7, through: 0, by: -1) {
            digits[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        bytes.append(contentsOf: digits)
        return bytes
    }

    /// The key index of `key`, or nil when it is not a crash-test key.
    public static func keyIndex(_ key: UnsafeRawBufferPointer) -> Int? {
        guard key.count == 9, key[0] == UInt8(ascii: "k") else { return nil }
        var index = 0
        for position in 1..<9 {
            let digit = key[position]
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            index = index * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return index
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ SplitMix64.increment) }

    /// The value written under key `index` by the write with sequence number `sequence`
    /// (between 16 and 16 + `maxFiller` bytes).
    public static func value(key index: Int, sequence: UInt64, maxFiller: Int = 600) -> Bytes {
        let seed = mix(UInt64(index) &* 0x1_0000_0001 ^ sequence)
        let filler = maxFiller > 0 ? Int(seed % UInt64(maxFiller + 1)) : 0
        var bytes = Bytes(repeating: 0, count: headerSize + filler)
        bytes.withUnsafeMutableBytes { raw in
            for position in 0..<4 { raw[position] = magic[position] }
            raw.storeBytes(of: UInt32(truncatingIfNeeded: index).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
            var state = seed
            for position in headerSize..<raw.count {
                if (position - headerSize) & 7 == 0 { state = mix(state) }
                raw[position] = UInt8(truncatingIfNeeded: state >> (8 * UInt64((position - headerSize) & 7)))
            }
        }
        return bytes
    }

    /// What a value read back under key `index` is.
    public enum Decoded: Equatable, Sendable {
        /// A value written under this key by the write with this sequence number, intact.
        case intact(sequence: UInt64)
        /// Anything else: bad magic, another key's value, wrong length or filler.
        case wrong(reason: String)
    }

    /// Decodes and fully checks a value read under key `index`.
    public static func decode(_ value: UnsafeRawBufferPointer, key index: Int, maxFiller: Int = 600) -> Decoded {
        guard value.count >= headerSize else { return .wrong(reason: "value of \(value.count) bytes is shorter than the 16-byte header") }
        for position in 0..<4 where value[position] != magic[position] { return .wrong(reason: "bad magic") }
        let storedKey = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard storedKey == index else { return .wrong(reason: "value of key \(storedKey) found under key \(index)") }
        let sequence = UInt64(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let expected = CrashValues.value(key: index, sequence: sequence, maxFiller: maxFiller)
        let same = expected.withUnsafeBytes { ByteOrder.compare($0, value) == 0 }
        guard same else { return .wrong(reason: "value of sequence \(sequence) has the wrong length or filler bytes") }
        return .intact(sequence: sequence)
    }
}
