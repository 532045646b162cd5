import KVStore
import StorageIO

/// Where to damage each engine's files. KVBench's own engines describe their files
/// themselves (`StoreFileLayout`, from `LSMStore.layout` and `BTreeStore.layout`);
/// RocksDB and LMDB are located from their documented on-disk formats (log records,
/// table footer, meta pages); any other engine gets the generic plan, chosen by file name.
public enum CorruptionPlans {
    static func read(_ path: String) throws(StoreError) -> Bytes { try StorageFile.contents(of: path) }

    static func largest(_ directory: String, where matches: (String) -> Bool) throws(StoreError) -> (name: String, size: Int)? {
        var best: (String, Int)?
        for name in try FileSystem.list(directory) where matches(name) {
            let size = try FileSystem.fileSize(directory + "/" + name)
            if size > 0 && size > (best?.1 ?? 0) { best = (name, size) }
        }
        return best
    }

    static func littleEndian<T: FixedWidthInteger>(_ bytes: Bytes, _ offset: Int, as type: T.Type) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// Start offsets of the records of a LevelDB/RocksDB log (32 KiB blocks, 7-byte headers).
    static func logRecordOffsets(_ bytes: Bytes) -> [Int] {
        var offsets: [Int] = []
        var position = 0
        let block = 32768
        while position + 7 <= bytes.count {
            let left = block - position % block
            if left < 7 { position += left; continue }
            let length = Int(littleEndian(bytes, position + 4, as: UInt16.self))
            if length == 0 && bytes[position + 6] == 0 { break }
            offsets.append(position)
            position += 7 + length
        }
        return offsets
    }

    /// Log cases: bit flips in a middle record, truncation mid-record and at a record boundary, zeros and garbage appended.
    static func logCases(file: String, bytes: Bytes, label: String) -> [CorruptionCase] {
        logCases(file: file, size: bytes.count, records: logRecordOffsets(bytes), label: label)
    }

    static func logCases(file: String, size: Int, records: [Int], label: String) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        if records.count >= 2 {
            let middle = records[records.count / 2]
            cases.append(CorruptionCase(name: "\(label): bit flip in a middle record's payload", file: file, action: .flip(offset: min(middle + 12, size - 1), mask: 0x10)))
            cases.append(CorruptionCase(name: "\(label): bit flip in a middle record's checksum", file: file, action: .flip(offset: middle, mask: 0x01)))
            cases.append(CorruptionCase(name: "\(label): truncated at a record boundary", file: file, action: .truncate(length: middle)))
            cases.append(CorruptionCase(name: "\(label): truncated mid-record", file: file, action: .truncate(length: middle + 10)))
            let last = records[records.count - 1]
            cases.append(CorruptionCase(name: "\(label): last record cut short (torn tail)", file: file, action: .truncate(length: last + (size - last) / 2)))
        } else {
            cases.append(CorruptionCase(name: "\(label): bit flip in the middle", file: file, action: .flip(offset: size / 2, mask: 0x10)))
            cases.append(CorruptionCase(name: "\(label): truncated to half", file: file, action: .truncate(length: size / 2)))
        }
        cases.append(CorruptionCase(name: "\(label): zeros appended", file: file, action: .appendZeros(count: 4096)))
        cases.append(CorruptionCase(name: "\(label): garbage appended", file: file, action: .appendGarbage(count: 1000)))
        for index in cases.indices { cases[index].targetsLog = true }
        return cases
    }

    static func varint(_ bytes: Bytes, _ offset: inout Int) -> Int? {
        var result = 0
        var shift = 0
        while offset < bytes.count && shift <= 63 {
            let byte = bytes[offset]
            offset += 1
            result |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    /// The cases of a LevelDB-format table (LevelDB's and RocksDB's): a data block, the index
    /// block (when the footer is `intact` and its handles, read at `handlesAt`, lie in the
    /// file), the footer's handles and magic, and truncation to half.
    static func tableCases(file: String, bytes: [UInt8], footerSize: Int, handlesAt: Int, intact: Bool) -> [CorruptionCase] {
        var cases = [CorruptionCase(name: "table: bit flip in a data block", file: file, action: .flip(offset: min(64, bytes.count - 1), mask: 0x04))]
        var cursor = handlesAt
        if intact, bytes.count >= footerSize, let _ = varint(bytes, &cursor), let _ = varint(bytes, &cursor),
           let indexOffset = varint(bytes, &cursor), let indexSize = varint(bytes, &cursor), indexOffset + indexSize <= bytes.count {
            cases.append(CorruptionCase(name: "table: bit flip in the index block", file: file, action: .flip(offset: indexOffset + indexSize / 2, mask: 0x02)))
        }
        cases.append(CorruptionCase(name: "table: bit flip in the footer (block handles)", file: file, action: .flip(offset: max(bytes.count - footerSize + 2, 0), mask: 0x01)))
        cases.append(CorruptionCase(name: "table: bit flip in the footer magic", file: file, action: .flip(offset: max(bytes.count - 3, 0), mask: 0x20)))
        cases.append(CorruptionCase(name: "table: truncated to half", file: file, action: .truncate(length: bytes.count / 2)))
        return cases
    }

    /// The newest manifest's records and CURRENT's manifest name (LevelDB's and RocksDB's).
    static func manifestCases(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        if let manifest = try largest(directory, where: { $0.hasPrefix("MANIFEST-") }) {
            cases += logCases(file: manifest.name, bytes: try read(directory + "/" + manifest.name), label: "manifest")
        }
        if FileSystem.exists(directory + "/CURRENT") {
            cases.append(CorruptionCase(name: "CURRENT: bit flip in the manifest name", file: "CURRENT", action: .flip(offset: 10, mask: 0x01)))
        }
        return cases
    }

    /// RocksDB: the write-ahead log, a table's data, index and footer, the manifest, CURRENT.
    public static func rocksDB(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        if let log = try largest(directory, where: { $0.hasSuffix(".log") }) {
            cases += logCases(file: log.name, bytes: try read(directory + "/" + log.name), label: "WAL")
        }
        if let table = try largest(directory, where: { $0.hasSuffix(".sst") }) {
            let bytes = try read(directory + "/" + table.name)
            let version = littleEndian(bytes, bytes.count - 8 - 4, as: UInt32.self)
            let footerSize = version == 0 ? 48 : 53
            cases += tableCases(file: table.name, bytes: bytes, footerSize: footerSize, handlesAt: bytes.count - footerSize + (version == 0 ? 0 : 1),
                                intact: littleEndian(bytes, bytes.count - 8, as: UInt64.self) == 0x88e2_41b7_85f4_cff7)
        }
        cases += try manifestCases(directory)
        return cases
    }

    /// LMDB: meta pages 0 and 1 (the newest and the older), the root (interior) page, a leaf page, truncation and appended bytes.
    public static func lmdb(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        let file = "data.mdb"
        let bytes = try read(directory + "/" + file)
        guard bytes.count >= 8192 else { return [] }
        var pageSize = Int(littleEndian(bytes, 40, as: UInt32.self))
        if pageSize < 512 || pageSize > 65536 || pageSize & (pageSize - 1) != 0 { pageSize = 4096 }
        let txn0 = littleEndian(bytes, 144, as: UInt64.self)
        let txn1 = littleEndian(bytes, pageSize + 144, as: UInt64.self)
        let newest = txn1 > txn0 ? 1 : 0
        let metaOffset = newest * pageSize
        let older = (1 - newest) * pageSize
        var cases = [
            CorruptionCase(name: "meta page (newest): bit flip in the magic", file: file, action: .flip(offset: metaOffset + 16, mask: 0x01)),
            CorruptionCase(name: "meta page (newest): bit flip in the main tree's root page number", file: file, action: .flip(offset: metaOffset + 128, mask: 0x01)),
            CorruptionCase(name: "meta page (newest): bit flip in the transaction id (torn meta)", file: file, action: .flip(offset: metaOffset + 151, mask: 0x80)),
            CorruptionCase(name: "meta page (older): bit flip in the root page number", file: file, action: .flip(offset: older + 128, mask: 0x01)),
        ]
        let root = Int(littleEndian(bytes, metaOffset + 128, as: UInt64.self))
        let depth = Int(littleEndian(bytes, metaOffset + 94, as: UInt16.self))
        let rootOffset = root * pageSize
        if rootOffset + pageSize <= bytes.count {
            let upper = Int(littleEndian(bytes, rootOffset + 14, as: UInt16.self))
            let kind = depth > 1 ? "interior (root branch) page" : "root leaf page"
            cases.append(CorruptionCase(name: "\(kind): bit flip in a node's child pointer or size", file: file, action: .flip(offset: rootOffset + upper, mask: 0x01)))
            cases.append(CorruptionCase(name: "\(kind): bit flip in the page header flags", file: file, action: .flip(offset: rootOffset + 10, mask: 0x03)))
            // Down the leftmost children (node 0 of each branch page) to a leaf.
            var page = rootOffset
            var level = depth
            while level > 1 {
                let node = page + Int(littleEndian(bytes, page + 16, as: UInt16.self))
                guard node + 8 <= bytes.count else { break }
                let child = Int(littleEndian(bytes, node, as: UInt16.self)) | Int(littleEndian(bytes, node + 2, as: UInt16.self)) << 16
                    | Int(littleEndian(bytes, node + 4, as: UInt16.self)) << 32
                guard child > 1, (child + 1) * pageSize <= bytes.count else { break }
                page = child * pageSize
                level -= 1
            }
            if level == 1 && page != rootOffset {
                let node = page + Int(littleEndian(bytes, page + 16, as: UInt16.self))
                let keySize = node + 8 <= bytes.count ? Int(littleEndian(bytes, node + 6, as: UInt16.self)) : 0
                let valueByte = node + 8 + keySize + 20
                if valueByte < page + pageSize {
                    cases.append(CorruptionCase(name: "leaf page: bit flip in a stored value", file: file, action: .flip(offset: valueByte, mask: 0x08)))
                }
                cases.append(CorruptionCase(name: "leaf page: bit flip in the free-space bounds", file: file, action: .flip(offset: page + 12, mask: 0x40)))
            }
        }
        cases.append(CorruptionCase(name: "data file truncated to half", file: file, action: .truncate(length: bytes.count / 2 / pageSize * pageSize)))
        cases.append(CorruptionCase(name: "data file: zeros appended", file: file, action: .appendZeros(count: 4096)))
        cases.append(CorruptionCase(name: "data file: garbage appended", file: file, action: .appendGarbage(count: 1000)))
        return cases
    }

    /// A plan from an engine's own description of its files (`StoreFileLayout`): for the largest
    /// file of each record log label and the largest table, and for the page file, the cases below.
    public static func from(_ layout: @escaping @Sendable (String) throws(StoreError) -> [StoreFileLayout])
        -> @Sendable (String) throws(StoreError) -> [CorruptionCase]
    {
        { (directory) throws(StoreError) in cases(for: try layout(directory)) }
    }

    /// The cases for the files of `layout`, in its order.
    static func cases(for layout: [StoreFileLayout]) -> [CorruptionCase] {
        var largestLog: [String: RecordLogLayout] = [:]
        var largestTable: TableLayout?
        for file in layout {
            switch file {
            case .recordLog(let log) where log.size > (largestLog[log.label]?.size ?? -1):
                largestLog[log.label] = log
            case .table(let table) where table.size > (largestTable?.size ?? 0):
                largestTable = table
            default:
                break
            }
        }
        var cases: [CorruptionCase] = []
        var planned: Set<String> = []
        for file in layout {
            switch file {
            case .recordLog(let log):
                guard largestLog[log.label] == log, planned.insert(log.label).inserted else { continue }
                if let magic = log.magic {
                    cases.append(CorruptionCase(name: "\(log.label): bit flip in the header magic", file: log.file, action: .flip(offset: magic.lowerBound + 1, mask: 0x01)))
                }
                cases += logCases(file: log.file, size: log.size, records: log.records, label: log.label)
            case .table(let table):
                guard table == largestTable, planned.insert("table").inserted else { continue }
                cases += tableCases(table)
            case .pageFile(let pages):
                cases += pageFileCases(pages)
            }
        }
        return cases
    }

    /// A table's data, index and filter blocks, footer handles and magic, and truncation.
    static func tableCases(_ table: TableLayout) -> [CorruptionCase] {
        let file = table.file
        var cases = [CorruptionCase(name: "table: bit flip in a data block", file: file,
                                    action: .flip(offset: min(table.dataBlocks.lowerBound + 20, table.size - 1), mask: 0x04))]
        if let index = table.index {
            cases.append(CorruptionCase(name: "table: bit flip in the index block", file: file, action: .flip(offset: index.lowerBound + index.count / 2, mask: 0x02)))
        }
        if let filter = table.filter {
            cases.append(CorruptionCase(name: "table: bit flip in the filter block", file: file, action: .flip(offset: filter.lowerBound + filter.count / 2, mask: 0x40)))
        }
        cases.append(CorruptionCase(name: "table: bit flip in the footer (block offsets)", file: file, action: .flip(offset: table.footerHandles.lowerBound + 1, mask: 0x01)))
        cases.append(CorruptionCase(name: "table: bit flip in the footer magic", file: file, action: .flip(offset: table.magic.lowerBound + 5, mask: 0x20)))
        cases.append(CorruptionCase(name: "table: truncated to half", file: file, action: .truncate(length: table.size / 2)))
        return cases
    }

    /// Meta pages (newest and older), the root page, a leaf page, page headers and the slot
    /// array, truncation of the page file and bytes appended to it.
    static func pageFileCases(_ pages: PageFileLayout) -> [CorruptionCase] {
        let file = pages.file
        var cases = [
            CorruptionCase(name: "meta page (newest): bit flip in the root page number", file: file, action: .flip(offset: pages.newestMeta.root.lowerBound, mask: 0x01)),
            CorruptionCase(name: "meta page (newest): bit flip in the magic", file: file, action: .flip(offset: pages.newestMeta.magic.lowerBound + 1, mask: 0x01)),
            CorruptionCase(name: "meta page (older): bit flip in the checkpoint number", file: file, action: .flip(offset: pages.olderMeta.checkpoint.lowerBound, mask: 0x01)),
        ]
        if let root = pages.root {
            let kind = root.isLeaf ? "root leaf page" : "interior (root) page"
            cases.append(CorruptionCase(name: "\(kind): bit flip in a cell", file: file, action: .flip(offset: root.cellByte, mask: 0x08)))
            cases.append(CorruptionCase(name: "\(kind): bit flip in the page type", file: file, action: .flip(offset: root.type.lowerBound, mask: 0x03)))
            if let leaf = pages.leaf {
                if let value = leaf.valueByte {
                    cases.append(CorruptionCase(name: "leaf page: bit flip in a stored value", file: file, action: .flip(offset: value, mask: 0x10)))
                }
                cases.append(CorruptionCase(name: "leaf page: bit flip in the slot array", file: file, action: .flip(offset: leaf.slots.lowerBound + 2, mask: 0x01)))
            }
        }
        cases.append(CorruptionCase(name: "page file truncated to half", file: file, action: .truncate(length: pages.size / 2 / pages.pageSize * pages.pageSize)))
        cases.append(CorruptionCase(name: "page file truncated mid-page", file: file, action: .truncate(length: pages.size - pages.pageSize / 2)))
        cases.append(CorruptionCase(name: "page file: zeros appended", file: file, action: .appendZeros(count: pages.pageSize)))
        cases.append(CorruptionCase(name: "page file: garbage appended", file: file, action: .appendGarbage(count: 1000)))
        return cases
    }

    /// Any engine: for the largest file of each kind (log, table, manifest, other), bit flips at the
    /// start (header), middle and end (footer), truncation to half and by one byte, zeros and garbage appended.
    public static func generic(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        func kind(_ name: String) -> String? {
            let lower = name.lowercased()
            if name == DirectoryLock.fileName || lower == "lock" || lower.hasSuffix(".lock") { return nil }
            if lower.hasSuffix(".log") || lower.hasSuffix(".wal") || lower.contains("wal") { return "log" }
            if name == "LOG" || name.hasPrefix("LOG.old") { return nil }
            if lower.hasSuffix(".sst") || lower.hasSuffix(".ldb") || lower.hasSuffix(".tbl") || lower.hasSuffix(".table") { return "table" }
            if lower.contains("manifest") { return "manifest" }
            return name
        }
        var byKind: [String: (name: String, size: Int)] = [:]
        for name in try FileSystem.list(directory) where !FileSystem.isDirectory(directory + "/" + name) {
            guard let label = kind(name) else { continue }
            let size = try FileSystem.fileSize(directory + "/" + name)
            if size > 0 && size > (byKind[label]?.size ?? 0) { byKind[label] = (name, size) }
        }
        var cases: [CorruptionCase] = []
        for (label, file) in byKind.sorted(by: { $0.key < $1.key }) {
            let start = cases.count
            cases.append(CorruptionCase(name: "\(label): bit flip in the header", file: file.name, action: .flip(offset: min(4, file.size - 1), mask: 0x01)))
            cases.append(CorruptionCase(name: "\(label): bit flip in the middle", file: file.name, action: .flip(offset: file.size / 2, mask: 0x10)))
            cases.append(CorruptionCase(name: "\(label): bit flip near the end", file: file.name, action: .flip(offset: max(file.size - 5, 0), mask: 0x04)))
            cases.append(CorruptionCase(name: "\(label): truncated to half", file: file.name, action: .truncate(length: file.size / 2)))
            cases.append(CorruptionCase(name: "\(label): last byte cut", file: file.name, action: .truncate(length: file.size - 1)))
            cases.append(CorruptionCase(name: "\(label): zeros appended", file: file.name, action: .appendZeros(count: 4096)))
            cases.append(CorruptionCase(name: "\(label): garbage appended", file: file.name, action: .appendGarbage(count: 1000)))
            if label == "log" { for index in start..<cases.count { cases[index].targetsLog = true } }
        }
        return cases
    }
}
