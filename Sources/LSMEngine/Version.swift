import KVStore
import StorageIO

/// The set of live tables, level by level. Immutable; each flush or
/// compaction makes a new version. L0 tables may overlap and are ordered
/// newest first; in L1 and below tables are ordered by key and do not overlap.
final class Version: Sendable {
    static let levelCount = 7

    let levels: [[TableFile]]

    init(levels: [[TableFile]]) { self.levels = levels }

    static let empty = Version(levels: Array(repeating: [], count: levelCount))

    func bytes(level: Int) -> Int { levels[level].reduce(0) { $0 + $1.meta.size } }


    /// Memory held by the tables' filters and indexes.
    var metadataBytes: Int { levels.reduce(0) { total, tables in tables.reduce(total) { $0 + $1.metadataBytes } } }

    /// Tables of `level` whose key range intersects [smallest, largest].
    func overlapping(level: Int, smallest: Bytes, largest: Bytes) -> [TableFile] {
        levels[level].filter { ByteOrder.compare($0.largest, smallest) >= 0 && ByteOrder.compare($0.smallest, largest) <= 0 }
    }

    /// True when no level below `level` holds a table.
    func isBottom(_ level: Int) -> Bool {
        for deeper in (level + 1)..<Self.levelCount where !levels[deeper].isEmpty { return false }
        return true
    }

    /// The version after `edit`; `opened` supplies the tables the edit adds.
    func applying(_ edit: VersionEdit, opened: [UInt64: TableFile]) -> Version {
        var levels = self.levels
        for deletion in edit.deleted {
            levels[deletion.level].removeAll { $0.number == deletion.number }
        }
        for addition in edit.added {
            if let table = opened[addition.meta.number] { levels[addition.level].append(table) }
        }
        levels[0].sort { $0.number > $1.number }
        for level in 1..<Self.levelCount {
            levels[level].sort { ByteOrder.less($0.smallest, $1.smallest) }
        }
        return Version(levels: levels)
    }

    /// The version as one edit that recreates it (for a fresh manifest).
    func snapshotEdit(logNumber: UInt64, nextFileNumber: UInt64) -> VersionEdit {
        var edit = VersionEdit()
        edit.logNumber = logNumber
        edit.nextFileNumber = nextFileNumber
        for (level, tables) in levels.enumerated() {
            for table in tables { edit.added.append((level, table.meta)) }
        }
        return edit
    }
}

/// One atomic change to the set of live tables, as logged in the manifest.
/// Payload: tagged fields — 1 logNumber, 2 nextFileNumber, 3 added table
/// (level, number, size, entries, smallest, largest), 4 deleted table (level, number).
struct VersionEdit {
    var logNumber: UInt64?
    var nextFileNumber: UInt64?
    var added: [(level: Int, meta: TableMeta)] = []
    var deleted: [(level: Int, number: UInt64)] = []

    static let recordType: UInt8 = 1

    func encode(into out: inout Bytes) {
        if let logNumber { out.append(1); out.appendVarint(logNumber) }
        if let nextFileNumber { out.append(2); out.appendVarint(nextFileNumber) }
        for (level, meta) in added {
            out.append(3)
            out.appendVarint(level)
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
            case 3:
                let level = reader.length(limit: Version.levelCount - 1)
                let number = reader.varint()
                let size = reader.length(limit: Int.max)
                let entries = reader.length(limit: Int.max)
                let smallest = reader.lengthPrefixedBytes()
                let largest = reader.lengthPrefixedBytes()
                edit.added.append((level, TableMeta(number: number, size: size, entries: entries, smallest: smallest, largest: largest)))
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
    static let version: UInt32 = 1
    static let headerSize = 16
    /// Where the magic number lies in the header.
    static let magicBytes = 0..<8

    /// What the manifest says: tables per level, first live log, next file number.
    struct State {
        var tables: [[TableMeta]] = Array(repeating: [], count: Version.levelCount)
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
        guard versionFound == version else {
            throw .notADatabase(path: directory, reason: "LSM format version \(versionFound), this build reads version \(version)")
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
            var live: [[UInt64: TableMeta]] = Array(repeating: [:], count: Version.levelCount)
            for record in parsed.records {
                let edit = try VersionEdit.decode(UnsafeRawBufferPointer(rebasing: raw[record.payload]), path: path)
                if let logNumber = edit.logNumber { state.logNumber = logNumber }
                if let next = edit.nextFileNumber { state.nextFileNumber = max(state.nextFileNumber, next) }
                for deletion in edit.deleted { live[deletion.level][deletion.number] = nil }
                for addition in edit.added {
                    live[addition.level][addition.meta.number] = addition.meta
                    state.nextFileNumber = max(state.nextFileNumber, addition.meta.number + 1)
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
