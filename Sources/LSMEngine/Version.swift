import KVStore
import StorageIO

/// Tables with disjoint key ranges, in key order, that together hold one
/// version of their keys: the output of one flush (one table), of one intra-L0
/// merge or of one tiered merge, or the one run of a leveled level, which compactions
/// replace table by table. Within a level a higher `id` is a newer run.
struct SortedRun: Sendable {
    let id: UInt64
    var tables: [TableFile]

    var bytes: Int { tables.reduce(0) { $0 + $1.meta.size } }

    /// Tables whose key range intersects [smallest, largest].
    func overlapping(smallest: Bytes, largest: Bytes) -> [TableFile] {
        tables.filter { ByteOrder.compare($0.largest, smallest) >= 0 && ByteOrder.compare($0.smallest, largest) <= 0 }
    }
}

/// The set of live tables, level by level, each level a list of sorted runs
/// ordered newest first. Immutable; each flush or compaction makes a new
/// version. A flushed L0 table is a run of its own (its id is its file number); an
/// intra-L0 merge's run takes the id of the newest run it merged; a
/// leveled level holds one run, a tiered level up to `lsm.size_ratio` runs.
/// Every run of a level is newer than every run of the levels below it.
final class Version: Sendable {
    static let levelCount = 7

    let levels: [[SortedRun]]

    init(levels: [[SortedRun]]) { self.levels = levels }

    static let empty = Version(levels: Array(repeating: [], count: levelCount))

    func bytes(level: Int) -> Int { levels[level].reduce(0) { $0 + $1.bytes } }

    /// Every table of `level`, run by run (newest run first).
    func tables(level: Int) -> [TableFile] { levels[level].flatMap(\.tables) }

    /// Memory held by the tables' filters and indexes.
    var metadataBytes: Int {
        levels.reduce(0) { total, runs in runs.reduce(total) { sum, run in run.tables.reduce(sum) { $0 + $1.metadataBytes } } }
    }

    /// True when no level below `level` holds a table.
    func isBottom(_ level: Int) -> Bool {
        for deeper in (level + 1)..<Self.levelCount where !levels[deeper].isEmpty { return false }
        return true
    }

    /// The deepest level holding a table; 0 when the version is empty.
    var deepestLevel: Int { levels.lastIndex { !$0.isEmpty } ?? 0 }

    /// The version after `edit`; `opened` supplies the tables the edit adds.
    func applying(_ edit: VersionEdit, opened: [UInt64: TableFile]) -> Version {
        var levels = self.levels
        for deletion in edit.deleted {
            for index in levels[deletion.level].indices {
                levels[deletion.level][index].tables.removeAll { $0.number == deletion.number }
            }
        }
        for addition in edit.added {
            guard let table = opened[addition.meta.number] else { continue }
            if let index = levels[addition.level].firstIndex(where: { $0.id == addition.run }) {
                levels[addition.level][index].tables.append(table)
            } else {
                levels[addition.level].append(SortedRun(id: addition.run, tables: [table]))
            }
        }
        for level in levels.indices {
            levels[level].removeAll { $0.tables.isEmpty }
            levels[level].sort { $0.id > $1.id }
            for index in levels[level].indices {
                levels[level][index].tables.sort { ByteOrder.less($0.smallest, $1.smallest) }
            }
        }
        return Version(levels: levels)
    }

    /// The version as one edit that recreates it (for a fresh manifest).
    func snapshotEdit(logNumber: UInt64, nextFileNumber: UInt64) -> VersionEdit {
        var edit = VersionEdit()
        edit.logNumber = logNumber
        edit.nextFileNumber = nextFileNumber
        for (level, runs) in levels.enumerated() {
            for run in runs {
                for table in run.tables { edit.added.append((level, run.id, table.meta)) }
            }
        }
        return edit
    }
}

/// One atomic change to the set of live tables, as logged in the manifest.
/// Payload: tagged fields — 1 logNumber, 2 nextFileNumber, 5 added table
/// (level, run, number, size, entries, smallest, largest), 4 deleted table
/// (level, number); tag 3, an added table without its run (manifest format 1), is still read.
struct VersionEdit {
    var logNumber: UInt64?
    var nextFileNumber: UInt64?
    var added: [(level: Int, run: UInt64, meta: TableMeta)] = []
    var deleted: [(level: Int, number: UInt64)] = []

    static let recordType: UInt8 = 1

    func encode(into out: inout Bytes) {
        if let logNumber { out.append(1); out.appendVarint(logNumber) }
        if let nextFileNumber { out.append(2); out.appendVarint(nextFileNumber) }
        for (level, run, meta) in added {
            out.append(5)
            out.appendVarint(level)
            out.appendVarint(run)
            out.appendVarint(meta.number)
            out.appendVarint(meta.size)
            out.appendVarint(meta.entries)
            out.appendLengthPrefixed(meta.smallest)
            out.appendLengthPrefixed(meta.largest)
        }
        for (level, number) in deleted {
            out.append(4)
            out.appendVarint(level)
            out.appendVarint(number)
        }
    }

    static func decode(_ payload: UnsafeRawBufferPointer, path: String) throws(StoreError) -> VersionEdit {
        var reader = ByteReader(payload)
        var edit = VersionEdit()
        while !reader.isAtEnd && !reader.failed {
            switch reader.byte() {
            case 1: edit.logNumber = reader.varint()
            case 2: edit.nextFileNumber = reader.varint()
            case let tag where tag == 3 || tag == 5:
                let level = reader.length(limit: Version.levelCount - 1)
                let run: UInt64? = tag == 5 ? reader.varint() : nil
                let number = reader.varint()
                let size = reader.length(limit: Int.max)
                let entries = reader.length(limit: Int.max)
                let smallest = reader.lengthPrefixedBytes()
                let largest = reader.lengthPrefixedBytes()
                // Format 1 had one run per level below L0 (run 0) and a run per L0 table.
                let implied = level == 0 ? number : 0
                edit.added.append((level, run ?? implied, TableMeta(number: number, size: size, entries: entries, smallest: smallest, largest: largest)))
            case 4:
                let level = reader.length(limit: Version.levelCount - 1)
                edit.deleted.append((level, reader.varint()))
            default:
                reader.failed = true
            }
        }
        if reader.failed { throw .corruption(path: path, reason: "manifest edit with a valid checksum does not decode") }
        return edit
    }
}

/// The manifest (`LSM-MANIFEST`), the log of version edits: a header (magic, format version, CRC) followed by
/// version edits framed like log records. Appended and synced for each
/// change; rewritten whole (new file, sync, rename, directory sync) at open
/// and when it grows large.
enum ManifestLog {
    static let fileName = LSMFileName.manifest.name
    static let magic: UInt64 = 0x4B56_424C_534D_4D46   // "KVBLSMMF"
    /// The format this build writes; it reads `readableVersions` (format 1 had no run ids).
    static let version: UInt32 = 2
    static let readableVersions: ClosedRange<UInt32> = 1...2
    static let headerSize = 16
    /// Where the magic number lies in the header.
    static let magicBytes = 0..<8

    /// What the manifest says: tables per level with their runs, first live log, next file number.
    struct State {
        var tables: [[(run: UInt64, meta: TableMeta)]] = Array(repeating: [], count: Version.levelCount)
        var logNumber: UInt64 = 0
        var nextFileNumber: UInt64 = 1
    }

    static func header() -> Bytes {
        var bytes: Bytes = []
        bytes.appendFixed64(magic)
        bytes.appendFixed32(version)
        bytes.appendFixed32(bytes.withUnsafeBytes { CRC32C.checksum($0) })
        return bytes
    }

    /// Checks the header of an existing manifest; a foreign file is `notADatabase`.
    static func checkHeader(_ raw: UnsafeRawBufferPointer, directory: String) throws(StoreError) {
        guard raw.count >= headerSize else {
            throw .notADatabase(path: directory, reason: "\(fileName) is shorter than its header")
        }
        var reader = ByteReader(raw)
        let magicFound = reader.fixed64()
        let versionFound = reader.fixed32()
        let crc = reader.fixed32()
        guard magicFound == magic else { throw .notADatabase(path: directory, reason: "\(fileName) has a wrong magic number") }
        guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<12])) else {
            throw .corruption(path: directory + "/" + fileName, reason: "manifest header checksum mismatch")
        }
        guard readableVersions.contains(versionFound) else {
            throw .notADatabase(path: directory, reason: "LSM manifest format version \(versionFound), this build reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
    }

    /// Reads and replays the manifest. A torn last edit is ignored (it was
    /// never acknowledged); a damaged edit before intact ones is corruption.
    static func load(directory: String) throws(StoreError) -> State {
        let path = directory + "/" + fileName
        let file = try StorageFile(path: path, mode: .readOnly)
        let contents = try file.read(at: 0, count: try file.size())
        return try contents.withBorrowedBytes { (raw) throws(StoreError) -> State in
            try checkHeader(raw, directory: directory)
            let parsed = try FramedRecords.scan(raw, from: headerSize, types: VersionEdit.recordType...VersionEdit.recordType, path: path)
            guard !parsed.records.isEmpty else {
                throw .corruption(path: path, reason: "the manifest's first edit (the table snapshot) is damaged")
            }
            var state = State()
            var live: [[UInt64: (run: UInt64, meta: TableMeta)]] = Array(repeating: [:], count: Version.levelCount)
            for record in parsed.records {
                let edit = try VersionEdit.decode(UnsafeRawBufferPointer(rebasing: raw[record.payload]), path: path)
                if let logNumber = edit.logNumber { state.logNumber = logNumber }
                if let next = edit.nextFileNumber { state.nextFileNumber = max(state.nextFileNumber, next) }
                for deletion in edit.deleted { live[deletion.level][deletion.number] = nil }
                for addition in edit.added {
                    live[addition.level][addition.meta.number] = (addition.run, addition.meta)
                    state.nextFileNumber = max(state.nextFileNumber, addition.meta.number + 1, addition.run + 1)
                }
            }
            state.tables = live.map { Array($0.values) }
            return state
        }
    }

    /// Writes a manifest holding only `edit`, atomically replacing the old one.
    /// Returns the open writer for later appends and the bytes written.
    static func rewrite(directory: String, edit: VersionEdit) throws(StoreError) -> (FramedRecordWriter, Int) {
        let temporary = LSMFileName.manifestTemporary.path(in: directory)
        try FileSystem.removeFile(temporary)
        let file = try StorageFile(path: temporary, mode: .createNew)
        let writer = FramedRecordWriter(file: file, offset: 0)
        try writer.appendRaw(header())
        try writer.append(type: VersionEdit.recordType) { edit.encode(into: &$0) }
        try writer.sync()
        try FileSystem.rename(temporary, to: directory + "/" + fileName)
        try FileSystem.syncDirectory(directory)
        return (writer, writer.offset)
    }
}
