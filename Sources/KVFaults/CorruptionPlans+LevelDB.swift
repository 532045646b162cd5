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
            cases += tableCases(file: table.name, bytes: bytes, footerSize: 48, handlesAt: bytes.count - 48,
                                intact: bytes.count >= 48 && littleEndian(bytes, bytes.count - 8, as: UInt64.self) == 0xdb47_7524_8b80_fb57)
        }
        cases += try manifestCases(directory)
        return cases
    }
}
