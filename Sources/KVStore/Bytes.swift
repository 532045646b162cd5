/// A key or a value: an arbitrary byte string. This file holds what every
/// engine does with one on each operation: order it (`ByteOrder`), borrow it
/// (`withBorrowedBytes`) and check it against the engine's limits (`StoreLimits`).
///
/// Every byte is valid (NUL, 0xFF, invalid UTF-8); keys order by unsigned
/// byte-wise comparison, shorter-is-smaller on a common prefix, as `memcmp` does.
public typealias Bytes = [UInt8]

/// Byte-wise ordering used by every engine in KVBench.
public enum ByteOrder {
    /// Compares two byte buffers as unsigned bytes; returns <0, 0 or >0.
    @inlinable
    public static func compare(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
        let common = min(lhs.count, rhs.count)
        if common > 0 {
            let result = memcmpBytes(lhs.baseAddress!, rhs.baseAddress!, common)
            if result != 0 { return result }
        }
        return lhs.count - rhs.count
    }

    /// Compares two byte strings as unsigned bytes; returns <0, 0 or >0.
    @inlinable
    public static func compare(_ lhs: Bytes, _ rhs: Bytes) -> Int {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in compare(l, r) } }
    }

    /// True when `lhs` sorts strictly before `rhs`.
    @inlinable
    public static func less(_ lhs: Bytes, _ rhs: Bytes) -> Bool {
        compare(lhs, rhs) < 0
    }

    @usableFromInline
    static func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Int {
        var index = 0
        while index &+ 8 <= count {
            let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            index &+= 8
        }
        while index < count {
            let x = a.load(fromByteOffset: index, as: UInt8.self)
            let y = b.load(fromByteOffset: index, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            index &+= 1
        }
        return 0
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the closure's typed error (the standard
    /// library's version only rethrows `any Error`). Nothing is built around
    /// the result on the way out (no `Swift.Result`), so a caller that is
    /// itself generic over the result instantiates no generic type per call.
    @inlinable
    public func withBorrowedBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        do {
            return try withUnsafeBytes { buffer in try body(buffer) }
        } catch {
            // `body` throws only `Failure`, so this cast cannot fail.
            throw error as! Failure
        }
    }

    /// `withUnsafeMutableBytes` that keeps the closure's typed error.
    @inlinable
    public mutating func withMutableBorrowedBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        do {
            return try withUnsafeMutableBytes { buffer in try body(buffer) }
        } catch {
            // `body` throws only `Failure`, so this cast cannot fail.
            throw error as! Failure
        }
    }
}

/// Size limits an engine enforces before anything is written.
public struct StoreLimits: Sendable, Hashable {
    /// Largest key in bytes.
    public var maxKeySize: Int
    /// Largest value in bytes.
    public var maxValueSize: Int

    public init(maxKeySize: Int, maxValueSize: Int) {
        self.maxKeySize = maxKeySize
        self.maxValueSize = maxValueSize
    }

    /// Checks a key against the empty-key policy and the size limit.
    @inlinable
    public func validate(key count: Int) throws(StoreError) {
        if count == 0 { throw .emptyKey }
        if count > maxKeySize { throw .keyTooLarge(size: count, limit: maxKeySize) }
    }

    /// Checks a key and a value before a put.
    @inlinable
    public func validate(key keyCount: Int, value valueCount: Int) throws(StoreError) {
        try validate(key: keyCount)
        if valueCount > maxValueSize { throw .valueTooLarge(size: valueCount, limit: maxValueSize) }
    }

    /// Checks every operation of a batch before any of it is applied.
    public func validate(_ batch: WriteBatch) throws(StoreError) {
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value): try validate(key: key.count, value: value.count)
            case .delete(let key): try validate(key: key.count)
            }
        }
    }
}
