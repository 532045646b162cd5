import KVStore
import StorageIO

extension CorruptionPlans {
    /// SQLite (`kv.sqlite`, one `WITHOUT ROWID` table whose B-tree is rooted at page 2):
    /// the file header, the root page's header, a leaf page's header and one of its stored
    /// values (down the leftmost children), truncation and appended bytes; and the WAL.
    public static func sqlite(_ directory: String) throws(StoreError) -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        let file = "kv.sqlite"
        if FileSystem.exists(directory + "/" + file) {
            let bytes = try read(directory + "/" + file)
            if bytes.count >= 100 {
                let raw = Int(bytes[16]) << 8 | Int(bytes[17])
                let pageSize = raw == 1 ? 65536 : raw
                cases.append(CorruptionCase(name: "file header: bit flip in the magic string", file: file, action: .flip(offset: 3, mask: 0x01)))
                if pageSize >= 512, bytes.count >= 2 * pageSize {
                    func start(_ page: Int) -> Int { (page - 1) * pageSize }
                    func u16(_ offset: Int) -> Int { Int(bytes[offset]) << 8 | Int(bytes[offset + 1]) }
                    func u32(_ offset: Int) -> Int { u16(offset) << 16 | u16(offset + 2) }
                    cases.append(CorruptionCase(name: "root page: bit flip in the page type", file: file, action: .flip(offset: start(2), mask: 0x08)))
                    // Down the leftmost children (interior index pages, type 2) to a leaf (type 10).
                    var page = 2
                    var depth = 0
                    while bytes[start(page)] == 0x02, depth < 20 {
                        let cell = start(page) + u16(start(page) + 12)
                        let child = u32(cell)
                        guard child >= 2, start(child) + pageSize <= bytes.count else { break }
                        page = child
                        depth += 1
                    }
                    if bytes[start(page)] == 0x0A, u16(start(page) + 3) > 0 {
                        let leaf = start(page)
                        cases.append(CorruptionCase(name: "leaf page: bit flip in the cell count", file: file, action: .flip(offset: leaf + 4, mask: 0x01)))
                        // The first cell's last payload byte: the end of its value (the record is key, value).
                        var cursor = leaf + u16(leaf + 8)
                        if let payload = sqliteVarint(bytes, &cursor), payload > 1, cursor + payload <= leaf + pageSize {
                            cases.append(CorruptionCase(name: "leaf page: bit flip in a stored value", file: file, action: .flip(offset: cursor + payload - 1, mask: 0x10)))
                        }
                    }
                    cases.append(CorruptionCase(name: "database file truncated to half", file: file, action: .truncate(length: bytes.count / 2 / pageSize * pageSize)))
                    cases.append(CorruptionCase(name: "database file truncated mid-page", file: file, action: .truncate(length: bytes.count - pageSize / 2)))
                }
                cases.append(CorruptionCase(name: "database file: zeros appended", file: file, action: .appendZeros(count: 4096)))
                cases.append(CorruptionCase(name: "database file: garbage appended", file: file, action: .appendGarbage(count: 1000)))
            }
        }
        // The WAL: 32-byte header, then frames of a 24-byte header and one page.
        let wal = file + "-wal"
        if FileSystem.exists(directory + "/" + wal) {
            let bytes = try read(directory + "/" + wal)
            if bytes.count > 32 {
                let pageSize = Int(bytes[8]) << 24 | Int(bytes[9]) << 16 | Int(bytes[10]) << 8 | Int(bytes[11])
                let frame = 24 + max(pageSize, 512)
                let frames = (bytes.count - 32) / frame
                let records = (0..<frames).map { 32 + $0 * frame }
                cases += logCases(file: wal, size: bytes.count, records: records, label: "WAL")
            }
        }
        return cases
    }

    /// SQLite's big-endian varint (up to 9 bytes, the ninth contributing all 8 bits).
    static func sqliteVarint(_ bytes: Bytes, _ offset: inout Int) -> Int? {
        var result = 0
        for index in 0..<9 {
            guard offset < bytes.count else { return nil }
            let byte = Int(bytes[offset])
            offset += 1
            if index == 8 { return result << 8 | byte }
            result = result << 7 | (byte & 0x7F)
            if byte & 0x80 == 0 { return result }
        }
        return result
    }
}
