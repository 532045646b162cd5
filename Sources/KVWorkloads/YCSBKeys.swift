import KVStore

/// YCSB's record keys (`CoreWorkload.buildKeyName`): `"user"`, then zeros up to `zeropadding`
/// characters of number, then the decimal record number — with `insertorder=hashed` (YCSB's default)
/// the number is `Utils.fnvhash64(id)`, so consecutive records scatter over the key space; with
/// `ordered` it is the id itself (which sorts in id order only when `zeropadding` covers every digit).
///
/// Writing a key reuses the caller's buffer: no allocation once the buffer has `maximumLength` capacity.
public struct YCSBKeyBuilder: Sendable, Hashable {
    /// True for `insertorder=hashed`.
    public let hashed: Bool
    /// `zeropadding`: the width the number is left-padded to with zeros.
    public let zeroPadding: Int

    /// YCSB's key prefix.
    public static let prefix = "user"
    @inlinable static var prefixWord: UInt32 { 0x7265_7375 }   // "user", little-endian

    /// Keys for `insertorder=hashed` (true) or `ordered`, padded to `zeroPadding` digits (YCSB's default 1).
    public init(hashed: Bool, zeroPadding: Int) {
        self.hashed = hashed
        self.zeroPadding = max(0, zeroPadding)
    }

    /// The longest key this builder writes.
    public var maximumLength: Int { 4 + max(zeroPadding, 20) }

    /// The number YCSB writes after the prefix for record `id`.
    @inlinable @inline(__always)
    public func number(_ id: UInt64) -> Int64 {
        hashed ? YCSBHash.fnv64(Int64(bitPattern: id)) : Int64(bitPattern: id)
    }

    /// Writes the key of record `id` into `key` (its count set to the key's length, its storage reused).
    @inlinable
    public func write(_ id: UInt64, into key: inout Bytes) {
        let signed = number(id)
        var magnitude = signed < 0 ? UInt64(bitPattern: signed).magnitudeOfNegative : UInt64(signed)
        let sign = signed < 0 ? 1 : 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start &-= 1
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                digits[start] = 0x30 &+ UInt8(truncatingIfNeeded: remainder)
                magnitude = quotient
            } while magnitude > 0
            let digitCount = 20 &- start
            let fill = Swift.max(0, zeroPadding &- digitCount &- sign)
            let length = 4 &+ fill &+ sign &+ digitCount
            let current = key.count
            if current > length {
                key.removeLast(current &- length)
            } else if current < length {
                key.append(contentsOf: repeatElement(0x30, count: length &- current))
            }
            key.withUnsafeMutableBytes { buffer in
                let base = buffer.baseAddress.unsafelyUnwrapped
                base.storeBytes(of: YCSBKeyBuilder.prefixWord.littleEndian, as: UInt32.self)
                var offset = 4
                for _ in 0..<fill {
                    base.storeBytes(of: 0x30, toByteOffset: offset, as: UInt8.self)
                    offset &+= 1
                }
                if sign == 1 {
                    base.storeBytes(of: 0x2D, toByteOffset: offset, as: UInt8.self)
                    offset &+= 1
                }
                (base + offset).copyMemory(from: UnsafeRawPointer(digits.baseAddress.unsafelyUnwrapped + start),
                                           byteCount: digitCount)
            }
        }
    }

    /// A buffer for `write`, with capacity for the longest key.
    public func makeBuffer() -> Bytes {
        var key = Bytes()
        key.reserveCapacity(maximumLength)
        write(0, into: &key)
        return key
    }

    /// The key of record `id` as a new array (allocates; for tests and tools).
    public func key(_ id: UInt64) -> Bytes {
        var key = makeBuffer()
        write(id, into: &key)
        return key
    }

    /// The key of record `id` as text, e.g. `user6284781860667377211`.
    public func name(_ id: UInt64) -> String {
        String(decoding: key(id), as: UTF8.self)
    }

    /// The mean key length over records `0..<count` (exact up to 100,000 records, sampled evenly beyond).
    public func meanLength(records count: UInt64) -> Double {
        guard count > 0 else { return 0 }
        let samples = min(count, 100_000)
        var key = makeBuffer()
        var total = 0
        for index in 0..<samples {
            write(index * (count / samples), into: &key)
            total += key.count
        }
        return Double(total) / Double(samples)
    }
}

extension UInt64 {
    /// The magnitude of a negative Int64 stored in these bits (2^63 for Int64.min).
    @inlinable var magnitudeOfNegative: UInt64 { 0 &- self }
}
