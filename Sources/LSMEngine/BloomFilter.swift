#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// A cache-line-blocked bloom filter: each key maps to one 64-byte line and
/// sets `probes` bits inside it, so a lookup touches one cache line.
///
/// Layout: `lines × 64 bytes | probes u8 | 0 u8 × 3 | lineCount u32`.
/// The bit positions come from the key's 64-bit `KeyHash`: the high half picks
/// the line, the low half is stepped by a golden-ratio multiply per probe.
enum BloomFilter {
    static let lineBytes = 64
    static let trailerBytes = 8

    /// Number of probes for a bits-per-key setting (≈ bits × ln 2).
    static func probes(bitsPerKey: Int) -> Int {
        min(30, max(1, Int((Double(bitsPerKey) * 0.69).rounded())))
    }

    /// The false-positive rate a standard bloom filter of this size would have.
    static func designFalsePositiveRate(bitsPerKey: Int) -> Double {
        let k = Double(probes(bitsPerKey: bitsPerKey))
        return Glibc.pow(1 - Glibc.exp(-k / Double(bitsPerKey)), k)
    }

    /// Builds the filter bytes for keys given by their hashes.
    static func build(hashes: [UInt64], bitsPerKey: Int) -> Bytes {
        let k = probes(bitsPerKey: bitsPerKey)
        let totalBits = max(1, hashes.count) * max(1, bitsPerKey)
        let lines = max(1, (totalBits + 511) / 512)
        var filter = Bytes(repeating: 0, count: lines * lineBytes + trailerBytes)
        filter.withUnsafeMutableBytes { raw in
            for hash in hashes {
                let line = Int(((hash >> 32) &* UInt64(lines)) >> 32)
                var g = UInt32(truncatingIfNeeded: hash)
                let base = line * lineBytes
                for _ in 0..<k {
                    let bit = Int(g >> 23)
                    raw[base + bit >> 3] |= UInt8(1) << UInt8(bit & 7)
                    g = g &* 0x9E37_79B9
                }
            }
            raw[lines * lineBytes] = UInt8(k)
            raw.storeBytes(of: UInt32(lines).littleEndian, toByteOffset: lines * lineBytes + 4, as: UInt32.self)
        }
        return filter
    }

    /// False when the key is certainly absent. A malformed filter answers true.
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        guard filter.count >= trailerBytes + lineBytes else { return true }
        let lines = Int(UInt32(littleEndian: filter.loadUnaligned(fromByteOffset: filter.count - 4, as: UInt32.self)))
        let k = Int(filter[filter.count - trailerBytes])
        guard lines * lineBytes + trailerBytes == filter.count, k > 0 else { return true }
        let line = Int(((hash >> 32) &* UInt64(lines)) >> 32)
        var g = UInt32(truncatingIfNeeded: hash)
        let base = line * lineBytes
        for _ in 0..<k {
            let bit = Int(g >> 23)
            if filter[base + bit >> 3] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
            g = g &* 0x9E37_79B9
        }
        return true
    }
}

