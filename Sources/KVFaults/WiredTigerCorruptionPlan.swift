import KVStore
import StorageIO

/// WiredTiger's on-disk format, as far as corrupt-test needs it (WiredTiger 3.2).
///
/// A B-tree file (`kvbench.wt`, the metadata `WiredTiger.wt`, an LSM chunk `*.lsm`) starts
/// with a 4 KiB descriptor block (magic 120897); then blocks, each a 28-byte page header
/// (record number u64, write generation u64, in-memory size u32, entries u32, type u8, flags
/// u8, 2 unused) followed by a 12-byte block header (size on disk u32, checksum u32, flags u8,
/// 3 unused), padded to the 4 KiB allocation size. Page types: 1 extent list, 6 row-store
/// internal page, 7 row-store leaf. Blocks written by the newest checkpoint have the highest
/// write generation, so the newest leaf and internal page are live (older ones may be free).
/// The log (`WiredTigerLog.N`, preallocated and zero after its last record) is a sequence of
/// records (length u32, checksum u32, flags u16, 2 unused, in-memory length u32, body), each
/// padded to 128 bytes; the first is the file's descriptor.
extension CorruptionPlans {
    struct WiredTigerBlock {
        var offset: Int
        var diskSize: Int
        var memorySize: Int
        var type: UInt8
        var writeGeneration: UInt64
    }

    static let wiredTigerAllocation = 4096

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
            let memorySize = Int(littleEndian(bytes, offset + 16, as: UInt32.self))
            blocks.append(WiredTigerBlock(offset: offset, diskSize: diskSize, memorySize: min(max(memorySize, 40), diskSize),
                                          type: bytes[offset + 24], writeGeneration: littleEndian(bytes, offset + 8, as: UInt64.self)))
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

    /// Cases for one B-tree file: its descriptor, the newest leaf (body and checksum), the newest
    /// internal page, the newest extent list, truncation, and bytes appended.
    static func wiredTigerTreeCases(file: String, bytes: Bytes, label: String) -> [CorruptionCase] {
        guard bytes.count > wiredTigerAllocation else { return [] }
        var cases = [CorruptionCase(name: "\(label): bit flip in the file descriptor's magic", file: file, action: .flip(offset: 1, mask: 0x08))]
        let blocks = wiredTigerBlocks(bytes)
        func newest(_ type: UInt8) -> WiredTigerBlock? {
            blocks.filter { $0.type == type }.max { $0.writeGeneration < $1.writeGeneration }
        }
        if let leaf = newest(7) {
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest leaf page's cells", file: file,
                                        action: .flip(offset: leaf.offset + 40 + (leaf.memorySize - 40) / 2, mask: 0x10)))
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest leaf page's checksum", file: file,
                                        action: .flip(offset: leaf.offset + 32, mask: 0x01)))
        }
        if let root = newest(6) {
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest internal (root) page", file: file,
                                        action: .flip(offset: root.offset + 40 + (root.memorySize - 40) / 2, mask: 0x04)))
        }
        if let extents = newest(1) {
            cases.append(CorruptionCase(name: "\(label): bit flip in the newest extent list", file: file,
                                        action: .flip(offset: extents.offset + 40 + (extents.memorySize - 40) / 2, mask: 0x02)))
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
        if let table = try largest(directory, where: { $0 == "kvbench.wt" || $0.hasSuffix(".lsm") }) {
            cases += wiredTigerTreeCases(file: table.name, bytes: try read(directory + "/" + table.name), label: "table")
        }
        if let bloom = try largest(directory, where: { $0.hasSuffix(".bf") }) {
            let bytes = try read(directory + "/" + bloom.name)
            if let page = wiredTigerBlocks(bytes).max(by: { $0.writeGeneration < $1.writeGeneration }) {
                cases.append(CorruptionCase(name: "bloom filter: bit flip in its newest page", file: bloom.name,
                                            action: .flip(offset: page.offset + 40 + (page.memorySize - 40) / 2, mask: 0x01)))
            }
        }
        if names.contains("WiredTiger.wt") {
            let bytes = try read(directory + "/WiredTiger.wt")
            if let leaf = wiredTigerBlocks(bytes).filter({ $0.type == 7 }).max(by: { $0.writeGeneration < $1.writeGeneration }) {
                cases.append(CorruptionCase(name: "metadata: bit flip in the newest leaf page (checkpoint addresses)", file: "WiredTiger.wt",
                                            action: .flip(offset: leaf.offset + 40 + (leaf.memorySize - 40) / 2, mask: 0x10)))
            }
        }
        if names.contains("WiredTiger.turtle") {
            let text = try read(directory + "/WiredTiger.turtle")
            let marker = Array("addr=\"".utf8)
            if let start = (0...(max(text.count - marker.count, 0))).first(where: { Array(text[$0..<min($0 + marker.count, text.count)]) == marker }) {
                cases.append(CorruptionCase(name: "turtle: bit flip in the metadata checkpoint's address", file: "WiredTiger.turtle",
                                            action: .flip(offset: start + marker.count + 8, mask: 0x01)))
            }
            cases.append(CorruptionCase(name: "turtle: truncated to half", file: "WiredTiger.turtle", action: .truncate(length: text.count / 2)))
        }
        let logs = names.filter { $0.hasPrefix("WiredTigerLog.") }.sorted()
        for log in logs.reversed() {
            let bytes = try read(directory + "/" + log)
            let (records, end) = wiredTigerLogRecords(bytes)
            guard records.count > 2 else { continue }
            cases += logCases(file: log, bytes: Array(bytes[..<end]), records: Array(records.dropFirst()), label: "log")
            break
        }
        return cases
    }
}
