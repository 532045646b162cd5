import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every record, block and page that
/// KVBench's hand-written engines write: the SSE4.2 `crc32` instruction where
/// the CPU has it, else table-driven, eight bytes per step. Both give the same values.
public enum CRC32C {
    /// True when the hardware instruction is used.
    public static let usesHardware = kvbench_crc32c_hardware_available() != 0

    @usableFromInline
    static let tables: [[UInt32]] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var tables = Array(repeating: Array(repeating: UInt32(0), count: 256), count: 8)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[0][index] = crc
        }
        for index in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][index]
                tables[slice][index] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// Extends `crc` (the checksum so far, 0 to start) over `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        if usesHardware {
            return kvbench_crc32c_hardware_update(crc, buffer.baseAddress, buffer.count)
        }
        return softwareUpdate(crc, buffer)
    }

    /// The table-driven implementation (used where the CPU has no crc32 instruction).
    public static func softwareUpdate(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~crc
        guard var pointer = buffer.baseAddress else { return ~crc }
        var remaining = buffer.count
        tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
            let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
            t0.withUnsafeBufferPointer { t0 in t1.withUnsafeBufferPointer { t1 in
            t2.withUnsafeBufferPointer { t2 in t3.withUnsafeBufferPointer { t3 in
            t4.withUnsafeBufferPointer { t4 in t5.withUnsafeBufferPointer { t5 in
            t6.withUnsafeBufferPointer { t6 in t7.withUnsafeBufferPointer { t7 in
                while remaining >= 8 {
                    let word = UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                    crc = t7[Int(word & 0xFF)] ^ t6[Int((word >> 8) & 0xFF)]
                        ^ t5[Int((word >> 16) & 0xFF)] ^ t4[Int((word >> 24) & 0xFF)]
                        ^ t3[Int((word >> 32) & 0xFF)] ^ t2[Int((word >> 40) & 0xFF)]
                        ^ t1[Int((word >> 48) & 0xFF)] ^ t0[Int(word >> 56)]
                    pointer += 8
                    remaining -= 8
                }
                while remaining > 0 {
                    crc = t0[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                    pointer += 1
                    remaining -= 1
                }
            }}}}}}}}
        }
        return ~crc
    }

    /// The checksum of `buffer`.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 { update(0, buffer) }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some ContiguousBytesLike) -> UInt32 {
        bytes.withUnsafeRawBytes { checksum($0) }
    }
}

/// Byte containers that can lend their storage for checksumming.
public protocol ContiguousBytesLike {
    func withUnsafeRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytesLike where Element == UInt8 {
    public func withUnsafeRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension ArraySlice: ContiguousBytesLike where Element == UInt8 {
    public func withUnsafeRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}
