import KVStore
import StorageIO

/// Opening a store: the newest valid meta page, its free list, and the commits of the
/// redo log after it, re-applied (the log's writer is in `Commit.swift`, its reader here,
/// as leveldb splits `log_writer.cc` and `log_reader.cc`).
extension BTreeStore {
    /// Reads both meta pages and returns the newest valid one.
    static func loadMeta(_ file: StorageFile, requestedPageSize: Int?) throws(StoreError) -> Meta {
        let path = file.path
        let size = try file.size()
        let first = try file.read(at: 0, count: min(size, Meta.encodedSize))
        let slot0 = first.withUnsafeBytes { Meta.decode($0) }
        var candidates: [Meta] = []
        var damage: [String] = []
        var sawMagic = false
        var otherVersion: UInt32?
        switch slot0 {
        case .valid(let meta): candidates.append(meta); sawMagic = true
        case .damaged(let reason): damage.append("meta page 0: \(reason)"); sawMagic = true
        case .otherVersion(let version): otherVersion = version
        case .foreign: break
        }
        var sizes = [Int]()
        if case .valid(let meta) = slot0 { sizes = [meta.pageSize] } else {
            sizes = stride(from: 9, through: 15, by: 1).map { 1 << $0 }
        }
        for pageSize in sizes where pageSize + Meta.encodedSize <= size {
            let bytes = try file.read(at: pageSize, count: Meta.encodedSize)
            switch bytes.withUnsafeBytes({ Meta.decode($0) }) {
            case .valid(let meta) where meta.pageSize == pageSize:
                candidates.append(meta); sawMagic = true
            case .valid: break
            case .damaged(let reason):
                if sizes.count == 1 { damage.append("meta page 1: \(reason)"); sawMagic = true }
            case .otherVersion(let version): otherVersion = version
            case .foreign: break
            }
        }
        if let otherVersion {
            throw .notADatabase(path: path, reason: "B+tree format version \(otherVersion), this build reads version \(Meta.formatVersion)")
        }
        guard sawMagic else { throw .notADatabase(path: path, reason: "no B+tree magic number in either meta page") }
        guard let newest = candidates.max(by: { $0.seq < $1.seq }) else {
            throw .corruption(path: path, reason: damage.joined(separator: "; "))
        }
        if let requestedPageSize, requestedPageSize != newest.pageSize {
            throw .invalidOption(name: "btree.page_size", reason: "the database was created with pages of \(newest.pageSize) bytes; omit the setting or pass \(newest.pageSize)")
        }
        return newest
    }

    /// Reads the free list of `meta`; returns the free pages and the pages holding the list.
    static func loadFreelist(_ file: PageFile, meta: Meta) throws(StoreError) -> (FreeSpace, [UInt32]) {
        var space = FreeSpace(pageCount: meta.pageCount)
        var listPages: [UInt32] = []
        var pgno = meta.freelistHead
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: file.pageSize, alignment: 16)
        defer { buffer.deallocate() }
        while pgno != 0 {
            guard listPages.count < Int(meta.pageCount) else {
                throw .corruption(path: file.path, reason: "the free list loops")
            }
            try file.readPage(pgno, into: buffer)
            let page = PageView(buffer, size: file.pageSize)
            guard page.type == .freelist else {
                throw .corruption(path: file.path, reason: "page \(pgno) in the free list is not a free-list page")
            }
            listPages.append(pgno)
            for index in 0..<page.count {
                let entry = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: PageLayout.headerSize + 4 * index, as: UInt32.self))
                guard entry >= 2 && entry < meta.pageCount else {
                    throw .corruption(path: file.path, reason: "free-list entry \(entry) is outside the file")
                }
                space.reusable.append(entry)
            }
            pgno = page.link
        }
        guard space.reusable.count == Int(meta.freeCount) else {
            throw .corruption(path: file.path, reason: "the free list holds \(space.reusable.count) pages, the meta page says \(meta.freeCount)")
        }
        return (space, listPages)
    }

    /// Re-applies logged commits after `txn`; returns how many, and whether a log holds later
    /// commits that cannot be reached. A gap before later commits is corruption when those were
    /// synced before they were acknowledged (`fsync`: the missing commits were synced too); when
    /// they were not, the missing commits were lost unsynced, as a power loss under `os` may
    /// lose them, and the store opens at the last commit before the gap.
    static func replay(_ files: [StorageFile], into writer: TreeWriter, after txn: UInt64, path: String) throws(StoreError) -> (applied: Int, unreachable: Bool) {
        let logs = [try WriteAheadLog.readRecords(files[0]), try WriteAheadLog.readRecords(files[1])]
        var expected = txn + 1
        var applied = 0
        while true {
            guard let log = logs.first(where: { ($0.first?.lsn ?? .max) <= expected && ($0.last?.lsn ?? 0) >= expected }) else {
                let later = logs.filter { ($0.first?.lsn ?? 0) > expected }
                if later.contains(where: { $0.first!.salt & WriteAheadLog.syncedSaltBit != 0 }) {
                    throw .corruption(path: path, reason: "the log misses commit \(expected) that later synced commits build on")
                }
                return (applied, !later.isEmpty)
            }
            for record in log where record.lsn >= expected {
                guard let operations = WriteAheadLog.decode(record.operations) else {
                    throw .corruption(path: path, reason: "log record \(record.lsn) has a valid checksum but cannot be decoded")
                }
                writer.begin()
                do throws(StoreError) {
                    for operation in operations {
                        switch operation {
                        case .put(let key, let value):
                            try Bytes(key).withBorrowedBytes { (k) throws(StoreError) in
                                try Bytes(value).withBorrowedBytes { (v) throws(StoreError) in try writer.put(k, v) }
                            }
                        case .delete(let key):
                            try Bytes(key).withBorrowedBytes { (k) throws(StoreError) in _ = try writer.delete(k) }
                        }
                    }
                } catch {
                    writer.abort()
                    throw error
                }
                writer.commit()
                expected += 1
                applied += 1
            }
        }
    }
}

/// One logical operation of a logged commit.
enum LoggedOperation {
    case put(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)
    case delete(key: ArraySlice<UInt8>)
}

/// The log's reader: records back from a file, by the framing's torn-tail rule.
extension WriteAheadLog {
    /// A commit read back from a log file.
    struct Record {
        var lsn: UInt64
        /// The salt of the file's use the record belongs to (top bit: its commits were synced).
        var salt: UInt32
        /// Where the framed record starts in the file.
        var offset: Int
        /// The commit's operations (the payload after the LSN and the salt).
        var operations: ArraySlice<UInt8>
    }

    /// The commits of `file`, read by the framing's torn-tail rule (records of another salt
    /// end the log). A damaged record before intact ones, or commits that are not
    /// consecutive, are corruption.
    static func readRecords(_ file: StorageFile) throws(StoreError) -> [Record] {
        let size = try file.size()
        guard size > 0 else { return [] }
        let bytes = try file.read(at: 0, count: size)
        return try bytes.withBorrowedBytes { (raw) throws(StoreError) -> [Record] in
            func integer<T: FixedWidthInteger>(_ payload: UnsafeRawBufferPointer, _ offset: Int, as type: T.Type) -> T {
                T(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            let scan = try FramedRecords.scan(raw, types: recordType...recordType, path: file.path) { first, candidate in
                first.count >= payloadHeader && candidate.count >= payloadHeader
                    && integer(first, 8, as: UInt32.self) == integer(candidate, 8, as: UInt32.self)
            }
            var records: [Record] = []
            for record in scan.records {
                let payload = UnsafeRawBufferPointer(rebasing: raw[record.payload])
                guard payload.count >= payloadHeader else {
                    throw .corruption(path: file.path, reason: "log record at offset \(record.start) is shorter than its LSN and salt")
                }
                let lsn = integer(payload, 0, as: UInt64.self)
                if let last = records.last, last.lsn + 1 != lsn {
                    throw .corruption(path: file.path, reason: "log record at offset \(record.start) holds commit \(lsn) after commit \(last.lsn)")
                }
                records.append(Record(lsn: lsn, salt: integer(payload, 8, as: UInt32.self), offset: record.start, operations: bytes[(record.payload.lowerBound + payloadHeader)..<record.payload.upperBound]))
            }
            return records
        }
    }

    /// Decodes the operations of a record; nil when they are malformed.
    static func decode(_ operations: ArraySlice<UInt8>) -> [LoggedOperation]? {
        var decoded: [LoggedOperation] = []
        var index = operations.startIndex
        func integer(_ at: Int) -> Int {
            operations.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at - operations.startIndex, as: UInt32.self))) }
        }
        while index < operations.endIndex {
            switch operations[index] {
            case 1:
                guard index + 9 <= operations.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let valueLength = integer(index + 5)
                let keyStart = index + 9
                guard keyStart + keyLength + valueLength <= operations.endIndex else { return nil }
                decoded.append(.put(key: operations[keyStart..<(keyStart + keyLength)],
                                    value: operations[(keyStart + keyLength)..<(keyStart + keyLength + valueLength)]))
                index = keyStart + keyLength + valueLength
            case 2:
                guard index + 5 <= operations.endIndex else { return nil }
                let keyLength = integer(index + 1)
                let keyStart = index + 5
                guard keyStart + keyLength <= operations.endIndex else { return nil }
                decoded.append(.delete(key: operations[keyStart..<(keyStart + keyLength)]))
                index = keyStart + keyLength
            default:
                return nil
            }
        }
        return decoded
    }
}
