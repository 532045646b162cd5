import KVStore
import StorageIO

extension LSMStore {
    /// Where the parts of a closed LSM store's files lie, read with the engine's own
    /// decoders: every non-empty log and its records, the manifest's header magic and
    /// records, every non-empty table's blocks and footer (for `kvbench corrupt-test`).
    public static func layout(directory: String) throws(StoreError) -> [StoreFileLayout] {
        var logs: [StoreFileLayout] = []
        var manifest: [StoreFileLayout] = []
        var tables: [StoreFileLayout] = []
        for name in try FileSystem.list(directory) {
            let path = directory + "/" + name
            switch LSMFileName.parse(name) {
            case .log:
                let bytes = try StorageFile.contents(of: path)
                guard !bytes.isEmpty else { continue }
                logs.append(.recordLog(RecordLogLayout(file: name, label: "log", size: bytes.count,
                                                       records: recordStarts(bytes, from: 0, type: LogBatch.recordType, path: path))))
            case .manifest:
                let bytes = try StorageFile.contents(of: path)
                manifest.append(.recordLog(RecordLogLayout(file: name, label: "manifest", size: bytes.count, magic: ManifestLog.magicBytes,
                                                           records: recordStarts(bytes, from: ManifestLog.headerSize, type: VersionEdit.recordType, path: path))))
            case .table:
                let bytes = try StorageFile.contents(of: path)
                guard !bytes.isEmpty else { continue }
                tables.append(.table(tableLayout(name: name, bytes)))
            case .manifestTemporary, nil:
                break
            }
        }
        return logs + manifest + tables
    }

    /// Start offsets of the intact records (none when the file does not read as a log).
    private static func recordStarts(_ bytes: Bytes, from start: Int, type: UInt8, path: String) -> [Int] {
        let scan = bytes.withUnsafeBytes { try? FramedRecords.scan($0, from: start, types: type...type, path: path) }
        return scan?.records.map(\.start) ?? []
    }

    private static func tableLayout(name: String, _ bytes: Bytes) -> TableLayout {
        let size = bytes.count
        let footerStart = size - TableFormat.footerSize
        var filter: Range<Int>?
        var index: Range<Int>?
        if footerStart >= 0 {
            let footer = bytes.withUnsafeBytes { TableFormat.Footer(UnsafeRawBufferPointer(rebasing: $0[footerStart...])) }
            if footer.magic == TableFormat.magic {
                if footer.indexSize > 0, footer.indexOffset >= 0, footer.indexOffset + footer.indexSize <= size {
                    index = footer.indexOffset..<(footer.indexOffset + footer.indexSize)
                }
                if footer.filterSize > 0, footer.filterOffset >= 0, footer.filterOffset + footer.filterSize <= size {
                    filter = footer.filterOffset..<(footer.filterOffset + footer.filterSize)
                }
            }
        }
        let magicStart = footerStart + TableFormat.magicOffsetInFooter
        return TableLayout(file: name, size: size, dataBlocks: 0..<max(0, filter?.lowerBound ?? footerStart),
                           filter: filter, index: index, footerHandles: footerStart..<(footerStart + 32),
                           magic: magicStart..<(magicStart + 8))
    }
}
