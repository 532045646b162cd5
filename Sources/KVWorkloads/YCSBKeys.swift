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
        let negative = signed < 0
        let magnitude = negative ? 0 &- UInt64(bitPattern: signed) : UInt64(bitPattern: signed)
        let digitCount = YCSBKeyBuilder.decimalDigits(magnitude)
        let sign = negative ? 1 : 0
        let fill = Swift.max(0, zeroPadding &- digitCount &- sign)
        let length = 4 &+ fill &+ sign &+ digitCount
        if key.count != length { key.resizeKeepingStorage(to: length) }
        key.withUnsafeMutableBytes { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            base.storeBytes(of: YCSBKeyBuilder.prefixWord.littleEndian, as: UInt32.self)
            var offset = 4
            while offset < 4 &+ fill {
                base.storeBytes(of: 0x30, toByteOffset: offset, as: UInt8.self)
                offset &+= 1
            }
            if negative { base.storeBytes(of: 0x2D, toByteOffset: offset, as: UInt8.self) }
            // From the end: eight digits per 64-bit division, then 32-bit arithmetic only.
            var position = length
            var rest = magnitude
            while rest >= 100_000_000 {
                let chunk = UInt32(truncatingIfNeeded: rest % 100_000_000)
                rest /= 100_000_000
                position &-= 8
                let high = chunk / 10_000
                YCSBKeyBuilder.storeFour(high, at: base + position)
                YCSBKeyBuilder.storeFour(chunk &- high &* 10_000, at: base + (position &+ 4))
            }
            var small = UInt32(truncatingIfNeeded: rest)
            while small >= 100 {
                let next = small / 100
                position &-= 2
                YCSBKeyBuilder.storeTwo(small &- next &* 100, at: base + position)
                small = next
            }
            if small >= 10 {
                YCSBKeyBuilder.storeTwo(small, at: base + (position &- 2))
            } else {
                base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 &+ small), toByteOffset: position &- 1, as: UInt8.self)
            }
        }
    }

    /// Writes the four decimal digits of `value` (< 10,000).
    @inlinable @inline(__always)
    static func storeFour(_ value: UInt32, at target: UnsafeMutableRawPointer) {
        let high = value / 100
        storeTwo(high, at: target)
        storeTwo(value &- high &* 100, at: target + 2)
    }

    /// Writes the two decimal digits of `value` (< 100): tens as (value × 103) >> 10, exact below 100.
    @inlinable @inline(__always)
    static func storeTwo(_ value: UInt32, at target: UnsafeMutableRawPointer) {
        let tens = (value &* 103) >> 10
        let ones = value &- tens &* 10
        let digits = UInt16(truncatingIfNeeded: 0x30 &+ tens) | UInt16(truncatingIfNeeded: 0x30 &+ ones) << 8
        target.storeBytes(of: digits.littleEndian, as: UInt16.self)
    }

    /// The number of decimal digits of `value` (hashed keys mostly have 18 or 19).
    @inlinable @inline(__always)
    static func decimalDigits(_ value: UInt64) -> Int {
        if value >= 1_000_000_000_000_000_000 { return value >= 10_000_000_000_000_000_000 ? 20 : 19 }
        if value >= 100_000_000_000_000_000 { return 18 }
        var count = 1
        var threshold: UInt64 = 10
        while count < 18 && value >= threshold {
            count &+= 1
            threshold &*= 10
        }
        return count
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

    /// The mean key length over records `0..<count` (exact up to 10,000 records, sampled evenly beyond).
    public func meanLength(records count: UInt64) -> Double {
        guard count > 0 else { return 0 }
        let samples = min(count, 10_000)
        var key = makeBuffer()
        var total = 0
        for index in 0..<samples {
            write(index * (count / samples), into: &key)
            total += key.count
        }
        return Double(total) / Double(samples)
    }
}


extension Array where Element == UInt8 {
    /// Sets `count` to `length` without giving up the storage (new bytes are ASCII '0').
    @inlinable
    mutating func resizeKeepingStorage(to length: Int) {
        if count > length {
            removeLast(count - length)
        } else {
            append(contentsOf: repeatElement(0x30, count: length - count))
        }
    }
}
