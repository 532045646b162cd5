import KVStore
import StorageIO

/// WiredTiger's on-disk format, as far as corrupt-test needs it (WiredTiger 3.2).
///
/// A B-tree file (`kvbench.wt`, the metadata `WiredTiger.wt`, an LSM chunk `*.lsm`) starts
/// with a 4 KiB descriptor block (magic 120897); then blocks, each a 28-byte page header
/// (record number u64, write generation u64, in-memory size u32, entries u32, type u8, flags
/// u8, 2 unused) followed by a 12-byte block header (size on disk u32, checksum u32, flags u8,
/// 3 unused), padded to the 4 KiB allocation size. Page types: 1 extent list, 6 row-store
/// internal page, 7 row-store leaf. A file's live checkpoint is a cookie, written as hex
/// (`addr="…"`) in the metadata for a table file and in `WiredTiger.turtle` for the metadata
/// file itself: a version byte, then packed integers (offset, size, checksum) for the root
/// page, the allocated and the available extent lists and the discard list, then the file
/// size; a block is at (offset + 1) × 4 KiB, size × 4 KiB bytes long. The log
/// (`WiredTigerLog.N`, preallocated and zero after its last record) is a sequence of records
/// (length u32, checksum u32, flags u16, 2 unused, in-memory length u32, body), each padded
/// to 128 bytes; the first is the file's descriptor.
extension CorruptionPlans {
    /// A block of a B-tree file: where it starts, its page type and write generation.
    struct WiredTigerBlock {
        var offset: Int
        var type: UInt8
        var writeGeneration: UInt64
    }

    static let wiredTigerAllocation = 4096

    /// The blocks a checkpoint cookie names (offset and length in bytes; nil when empty).
    struct WiredTigerCheckpoint {
        var root: (offset: Int, size: Int)?
        var allocated: (offset: Int, size: Int)?
        var available: (offset: Int, size: Int)?
    }

    /// One of WiredTiger's packed unsigned integers (1 byte below 64, 2 bytes below 8256, else a
    /// marker with the count of big-endian bytes that follow).
    static func wiredTigerUnpack(_ bytes: Bytes, _ position: inout Int) -> Int? {
        guard position < bytes.count else { return nil }
        let first = bytes[position]
        position += 1
        switch first & 0xE0 {
        case 0x80, 0xA0:
            return Int(first & 0x3F)
        case 0xC0:
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return (Int(first & 0x1F) << 8 | Int(bytes[position])) + 64
        case 0xE0:
            let count = Int(first & 0x0F)
            guard count <= 8, position + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<(position + count)] { value = value << 8 | Int(byte) }
            position += count
            return value + (1 << 13) + 64
        default:
            return nil
        }
    }

    /// Decodes the hex text of a checkpoint cookie (`addr="…"`).
    static func wiredTigerCheckpoint(hex: String) -> WiredTigerCheckpoint? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, digits.count >= 2 else { return nil }
        var bytes: Bytes = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        guard bytes[0] == 1 else { return nil }
        var position = 1
        func block() -> (offset: Int, size: Int)?? {
            guard let offset = wiredTigerUnpack(bytes, &position), let size = wiredTigerUnpack(bytes, &position),
                  wiredTigerUnpack(bytes, &position) != nil else { return nil }
            return .some(size == 0 ? nil : ((offset + 1) * wiredTigerAllocation, size * wiredTigerAllocation))
        }
        guard let root = block(), let allocated = block(), let available = block() else { return nil }
        return WiredTigerCheckpoint(root: root, allocated: allocated, available: available)
    }

    /// The cookie text after `addr="` that follows `key` in `text` (the metadata's entry for a file).
    static func wiredTigerCookie(in text: Bytes, after key: String) -> String? {
        func find(_ needle: Bytes, from start: Int) -> Int? {
            guard needle.count <= text.count else { return nil }
            return (start...(text.count - needle.count)).first { text[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        guard let keyAt = find(Array(key.utf8), from: 0), let addrAt = find(Array("addr=\"".utf8), from: keyAt) else { return nil }
        let start = addrAt + 6
        guard let end = text[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: text[start..<end], as: UTF8.self)
    }

    /// A flip in the middle of the cells of the block at `offset` (its page header gives their length).
    static func wiredTigerCellFlip(_ bytes: Bytes, offset: Int, mask: UInt8) -> CorruptionCase.Action? {
        guard offset + 40 < bytes.count else { return nil }
        let memorySize = min(max(Int(littleEndian(bytes, offset + 16, as: UInt32.self)), 41), bytes.count - offset)
        return .flip(offset: offset + 40 + (memorySize - 40) / 2, mask: mask)
    }

    /// The blocks of a WiredTiger B-tree file, found by walking block headers from the descriptor on.
    static func wiredTigerBlocks(_ bytes: Bytes) -> [WiredTigerBlock] {
        var blocks: [WiredTigerBlock] = []
        var offset = wiredTigerAllocation
        while offset + 40 <= bytes.count {
            let diskSize = Int(littleEndian(bytes, offset + 28, as: UInt32.self))
            guard diskSize >= wiredTigerAllocation, diskSize % wiredTigerAllocation == 0, offset + diskSize <= bytes.count else {
                offset += wiredTigerAllocation
                continue
            }
            blocks.append(WiredTigerBlock(offset: offset, type: bytes[offset + 24], writeGeneration: littleEndian(bytes, offset + 8, as: UInt64.self)))
            offset += diskSize
        }
        return blocks
    }

    /// Start offsets of a WiredTiger log's records (128-byte aligned), and where the last one ends.
    static func wiredTigerLogRecords(_ bytes: Bytes) -> (offsets: [Int], end: Int) {
        var offsets: [Int] = []
        var position = 0
        while position + 16 <= bytes.count {
            let length = Int(littleEndian(bytes, position, as: UInt32.self))
            guard length > 0, position + length <= bytes.count else { break }
            offsets.append(position)
            position += (length + 127) / 128 * 128
        }
        return (offsets, min(position, bytes.count))
    }

    /// Cases for one B-tree file: its descriptor, the newest leaf (cells and checksum), the live
    /// checkpoint's root page and extent lists (from its cookie), truncation, and bytes appended.
    static func wiredTigerTreeCases(file: String, bytes: Bytes, checkpoint: WiredTigerCheckpoint?, label: String) -> [CorruptionCase] {
        guard bytes.count > wiredTigerAllocation else { return [] }
        var cases = [CorruptionCase(name: "\(label): bit flip in the file descriptor's magic", file: file, action: .flip(offset: 1, mask: 0x08))]
        if let leaf = wiredTigerBlocks(bytes).filter({ $0.type == 7 }).max(by: { $0.writeGeneration < $1.writeGeneration }),
           let flip = wiredTigerCellFlip(bytes, offset: leaf.offset, mask: 0x10) {
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest leaf page's cells", file: file, action: flip))
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest leaf page's checksum", file: file, action: .flip(offset: leaf.offset + 32, mask: 0x01)))
        }
        let live: [(String, (offset: Int, size: Int)?)] = [
            ("root page", checkpoint?.root), ("allocated-extent list", checkpoint?.allocated), ("available-extent list", checkpoint?.available),
        ]
        for (what, block) in live {
            if let block, let flip = wiredTigerCellFlip(bytes, offset: block.offset, mask: 0x04) {
                cases.append(CorruptionCase(name: "\(label): bit flip in the live checkpoint's \(what)", file: file, action: flip))
            }
        }
        cases.append(CorruptionCase(name: "\(label): truncated to half", file: file, action: .truncate(length: bytes.count / 2 / wiredTigerAllocation * wiredTigerAllocation)))
        cases.append(CorruptionCase(name: "\(label): zeros appended", file: file, action: .appendZeros(count: 4096)))
        cases.append(CorruptionCase(name: "\(label): garbage appended", file: file, action: .appendGarbage(count: 1000)))
        return cases
    }

    /// WiredTiger (B-tree or LSM table): the table file (for LSM the largest chunk) and a bloom
    /// filter, the metadata file and the turtle file that points to its checkpoint, and the
    /// newest log file with records (its used part; the rest is preallocated zeros).
    public static func wiredTiger(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        let names = try FileSystem.list(directory)
        let turtle = names.contains("WiredTiger.turtle") ? try read(directory + "/WiredTiger.turtle") : []
        let metadata = names.contains("WiredTiger.wt") ? try read(directory + "/WiredTiger.wt") : []
        let metadataCheckpoint = wiredTigerCookie(in: turtle, after: "file:WiredTiger.wt").flatMap { wiredTigerCheckpoint(hex: $0) }
        // The metadata of a small database is one leaf under the root; the newest leaf is the live one.
        let metadataLeaf = wiredTigerBlocks(metadata).filter { $0.type == 7 }.max { $0.writeGeneration < $1.writeGeneration }
        let metadataPage: Bytes = metadataLeaf.map { Array(metadata[$0.offset..<min($0.offset + 32 * wiredTigerAllocation, metadata.count)]) } ?? []
        if let table = try largest(directory, where: { $0 == "kvbench.wt" || $0.hasSuffix(".lsm") }) {
            let checkpoint = wiredTigerCookie(in: metadataPage, after: "file:\(table.name)\u{0}").flatMap { wiredTigerCheckpoint(hex: $0) }
            cases += wiredTigerTreeCases(file: table.name, bytes: try read(directory + "/" + table.name), checkpoint: checkpoint, label: "table")
        }
        if let bloom = try largest(directory, where: { $0.hasSuffix(".bf") }) {
            let bytes = try read(directory + "/" + bloom.name)
            if let page = wiredTigerBlocks(bytes).max(by: { $0.writeGeneration < $1.writeGeneration }),
               let flip = wiredTigerCellFlip(bytes, offset: page.offset, mask: 0x01) {
                cases.append(CorruptionCase(name: "bloom filter: bit flip in its newest page", file: bloom.name, action: flip))
            }
        }
        if let root = metadataCheckpoint?.root, let flip = wiredTigerCellFlip(metadata, offset: root.offset, mask: 0x10) {
            cases.append(CorruptionCase(name: "metadata: bit flip in its live root page", file: "WiredTiger.wt", action: flip))
        }
        if let leaf = metadataLeaf, let flip = wiredTigerCellFlip(metadata, offset: leaf.offset, mask: 0x10) {
            cases.append(CorruptionCase(name: "metadata: bit flip in its newest leaf page (the tables' checkpoint cookies)", file: "WiredTiger.wt", action: flip))
        }
        if !turtle.isEmpty {
            if let cookie = wiredTigerCookie(in: turtle, after: "file:WiredTiger.wt"), cookie.utf8.count > 8,
               let at = turtle.indices.dropLast(cookie.utf8.count).first(where: { turtle[$0..<($0 + cookie.utf8.count)].elementsEqual(cookie.utf8) }) {
                cases.append(CorruptionCase(name: "turtle: bit flip in the metadata checkpoint's cookie", file: "WiredTiger.turtle",
                                            action: .flip(offset: at + 4, mask: 0x01)))
            }
            cases.append(CorruptionCase(name: "turtle: truncated to half", file: "WiredTiger.turtle", action: .truncate(length: turtle.count / 2)))
        }
        for log in names.filter({ $0.hasPrefix("WiredTigerLog.") }).sorted().reversed() {
            let bytes = try read(directory + "/" + log)
            let (records, end) = wiredTigerLogRecords(bytes)
            guard records.count > 2 else { continue }
            cases += logCases(file: log, size: end, records: Array(records.dropFirst()), label: "log")
            break
        }
        return cases
    }
}
