import KVStore
import StorageIO

extension CorruptionPlans {
    /// LevelDB: its log (the RocksDB log format, which LevelDB's is), a table's data,
    /// index and footer (48-byte footer, magic `0xdb4775248b80fb57`), the manifest, CURRENT.
    public static func levelDB(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        if let log = try largest(directory, where: { $0.hasSuffix(".log") }) {
            cases += logCases(file: log.name, bytes: try read(directory + "/" + log.name), label: "log")
        }
        if let table = try largest(directory, where: { $0.hasSuffix(".ldb") }) {
            let bytes = try read(directory + "/" + table.name)
            let footerSize = 48
            cases.append(CorruptionCase(name: "table: bit flip in a data block", file: table.name, action: .flip(offset: min(64, bytes.count - 1), mask: 0x04)))
            if bytes.count >= footerSize, littleEndian(bytes, bytes.count - 8, as: UInt64.self) == 0xdb47_7524_8b80_fb57 {
                var cursor = bytes.count - footerSize
                if let _ = varint(bytes, &cursor), let _ = varint(bytes, &cursor),
                   let indexOffset = varint(bytes, &cursor), let indexSize = varint(bytes, &cursor), indexOffset + indexSize <= bytes.count {
                    cases.append(CorruptionCase(name: "table: bit flip in the index block", file: table.name, action: .flip(offset: indexOffset + indexSize / 2, mask: 0x02)))
                }
            }
            cases.append(CorruptionCase(name: "table: bit flip in the footer (block handles)", file: table.name, action: .flip(offset: max(bytes.count - footerSize + 2, 0), mask: 0x01)))
            cases.append(CorruptionCase(name: "table: bit flip in the footer magic", file: table.name, action: .flip(offset: max(bytes.count - 3, 0), mask: 0x20)))
            cases.append(CorruptionCase(name: "table: truncated to half", file: table.name, action: .truncate(length: bytes.count / 2)))
        }
        if let manifest = try largest(directory, where: { $0.hasPrefix("MANIFEST-") }) {
            cases += logCases(file: manifest.name, bytes: try read(directory + "/" + manifest.name), label: "manifest")
        }
        if FileSystem.exists(directory + "/CURRENT") {
            cases.append(CorruptionCase(name: "CURRENT: bit flip in the manifest name", file: "CURRENT", action: .flip(offset: 10, mask: 0x01)))
        }
        return cases
    }
}
