import KVStore

/// Fixed-size keys that sort in record-id order under unsigned byte comparison: the record id
/// big-endian in the first 8 bytes, then `keySize - 8` padding bytes of ASCII '0' (as db_bench does).
/// Encoding writes into a caller-provided buffer and allocates only the first time a buffer is sized.
public struct KeyEncoder: Sendable {
    /// The byte after the id in every key.
    @inlinable public static var paddingByte: UInt8 { 0x30 }
    @inlinable static var paddingWord: UInt64 { 0x3030_3030_3030_3030 }
    @usableFromInline let size: Int

    /// An encoder for keys of `keySize` bytes (8...1024).
    public init(keySize: Int) throws(WorkloadError) {
        guard (8...1024).contains(keySize) else {
            throw WorkloadError("Key size \(keySize) is out of range; choose a key size from 8 to 1024 bytes.")
        }
        size = keySize
    }

    /// The size of every key.
    public var keySize: Int { size }

    /// Writes the key of `recordID` into `key`; `key.count == keySize` afterwards, its storage reused.
    @inlinable
    public func encode(_ recordID: UInt64, into key: inout Bytes) {
        if key.count != size {
            key = Bytes(repeating: KeyEncoder.paddingByte, count: size)
        }
        let size = self.size
        key.withUnsafeMutableBytes { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            base.storeBytes(of: recordID.bigEndian, as: UInt64.self)
            var offset = 8
            while offset &+ 8 <= size {
                base.storeBytes(of: KeyEncoder.paddingWord, toByteOffset: offset, as: UInt64.self)
                offset &+= 8
            }
            if offset < size {
                if size >= 16 {
                    base.storeBytes(of: KeyEncoder.paddingWord, toByteOffset: size &- 8, as: UInt64.self)
                } else {
                    while offset < size {
                        base.storeBytes(of: KeyEncoder.paddingByte, toByteOffset: offset, as: UInt8.self)
                        offset &+= 1
                    }
                }
            }
        }
    }

    /// Turns `key`, a key this encoder made, into the key of `recordID`: only the 8 id bytes are
    /// written, since every key of this encoder has the same padding (for hot loops that own their buffer).
    @inlinable
    public func replaceID(_ recordID: UInt64, in key: inout Bytes) {
        precondition(key.count == size, "replaceID needs a key made by this encoder")
        key.withUnsafeMutableBytes { buffer in
            buffer.baseAddress.unsafelyUnwrapped.storeBytes(of: recordID.bigEndian, as: UInt64.self)
        }
    }

    /// The key of `recordID` as a new array (allocates; for tests and tools).
    public func key(_ recordID: UInt64) -> Bytes {
        var key = Bytes()
        encode(recordID, into: &key)
        return key
    }

    /// The record id of a key made by this encoder, or nil for any other byte string.
    @inlinable
    public func decode(_ key: UnsafeRawBufferPointer) -> UInt64? {
        guard key.count == size, let base = key.baseAddress else { return nil }
        var index = 8
        while index < size {
            if key[index] != KeyEncoder.paddingByte { return nil }
            index &+= 1
        }
        return UInt64(bigEndian: base.loadUnaligned(as: UInt64.self))
    }
}

/// Deterministic values: the same (seed, record id, version) gives the same bytes.
///
/// As db_bench does, values are windows of a pool of pseudo-random bytes (1 MiB,
/// SplitMix64 words from the seed), at an offset chosen by hashing (record id,
/// version): filling one is a single copy, and the bytes do not compress.
public struct ValueGenerator: Sendable {
    @usableFromInline let size: Int
    @usableFromInline let seed: UInt64
    @usableFromInline let pool: [UInt8]
    @usableFromInline let offsetRange: UInt64

    /// The size of the random pool values are cut from.
    public static let poolSize = 1 << 20

    /// Values of `valueSize` bytes (>= 0) drawn from `seed`.
    public init(valueSize: Int, seed: UInt64) {
        precondition(valueSize >= 0, "Value size must not be negative.")
        size = valueSize
        self.seed = SplitMix64.mix(seed ^ 0xB7E1_5162_8AED_2A6B)
        var generator = SplitMix64(seed: self.seed)
        let words = (Self.poolSize + valueSize + 7) / 8
        var bytes = [UInt8](repeating: 0, count: words * 8)
        bytes.withUnsafeMutableBytes { buffer in
            for index in 0..<words {
                buffer.storeBytes(of: generator.next(), toByteOffset: index * 8, as: UInt64.self)
            }
        }
        pool = bytes
        offsetRange = UInt64(Self.poolSize + 1)
    }

    /// The size of every value.
    public var valueSize: Int { size }

    /// Where in the pool the value for (recordID, version) starts.
    @inlinable
    func offset(recordID: UInt64, version: UInt64) -> Int {
        let hash = start(recordID: recordID, version: version)
        return Int(hash.multipliedFullWidth(by: offsetRange).high)
    }

    /// Fills `value` with the bytes for (recordID, version); `value.count == valueSize` afterwards.
    @inlinable
    public func fill(_ value: inout Bytes, recordID: UInt64, version: UInt64) {
        if value.count != size {
            value = Bytes(repeating: 0, count: size)
        }
        let from = offset(recordID: recordID, version: version)
        let size = self.size
        value.withUnsafeMutableBytes { destination in
            pool.withUnsafeBytes { source in
                guard let target = destination.baseAddress, let origin = source.baseAddress else { return }
                target.copyMemory(from: origin + from, byteCount: size)
            }
        }
    }

    /// True when `value` holds exactly the bytes `fill` writes for (recordID, version).
    public func matches(_ value: UnsafeRawBufferPointer, recordID: UInt64, version: UInt64) -> Bool {
        guard value.count == size else { return false }
        let from = offset(recordID: recordID, version: version)
        return pool.withUnsafeBytes { source in
            value.elementsEqual(UnsafeRawBufferPointer(rebasing: source[from..<(from + size)]))
        }
    }

    @inlinable
    func start(recordID: UInt64, version: UInt64) -> UInt64 {
        SplitMix64.mix(seed ^ SplitMix64.mix(recordID ^ SplitMix64.mix(version &+ 0x243F_6A88_85A3_08D3)))
    }
}

/// `kvbench keys` output: how skewed a distribution is.
public enum KeySkewReport {
    /// `rank,count` CSV: a header line, then one row per record drawn at least once, most frequent first
    /// (rank 1 = the most frequently drawn record; ties broken by record id for a stable output).
    public static func csv(distribution: KeyDistribution, items: UInt64, samples: Int, seed: UInt64) -> String {
        var chooser = KeyChooser(distribution: distribution, itemCount: items, seed: seed)
        var random = WorkloadRandom(seed: WorkloadRandom.derive(seed, stream: 1))
        var counts: [UInt64: Int] = [:]
        var dense: [UInt32] = []
        let useDense = items <= 1 << 24
        if useDense { dense = [UInt32](repeating: 0, count: Int(items)) }
        if items > 0 {
            for _ in 0..<max(0, samples) {
                let id = chooser.next(random: &random)
                if useDense { dense[Int(id)] &+= 1 } else { counts[id, default: 0] += 1 }
            }
        }
        var rows: [(id: UInt64, count: Int)] = []
        if useDense {
            for (id, count) in dense.enumerated() where count > 0 { rows.append((UInt64(id), Int(count))) }
        } else {
            rows = counts.map { ($0.key, $0.value) }
        }
        rows.sort { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }
        var output = "rank,count\n"
        output.reserveCapacity(12 * rows.count + 11)
        for (index, row) in rows.enumerated() {
            output += "\(index + 1),\(row.count)\n"
        }
        return output
    }
}
