import KVStore
import StorageIO

extension BTreeStore {
    /// Where the parts of a closed B+tree store's files lie, read with the engine's own
    /// decoders: the page file's meta pages, root page and leftmost leaf, then the active
    /// redo log (the one holding the newest commit) and its records (for `kvbench corrupt-test`).
    public static func layout(directory: String) throws(StoreError) -> [StoreFileLayout] {
        var layout: [StoreFileLayout] = []
        let path = directory + "/" + fileName
        if FileSystem.exists(path), let pages = pageFileLayout(try StorageFile.contents(of: path)) {
            layout.append(.pageFile(pages))
        }
        var active: (name: String, size: Int, records: [WriteAheadLog.Record])?
        for name in try FileSystem.list(directory) where WriteAheadLog.fileNames.contains(name) {
            let file = try StorageFile(path: directory + "/" + name, mode: .readOnly)
            guard let records = try? WriteAheadLog.readRecords(file), let last = records.last else { continue }
            if last.lsn > (active?.records.last?.lsn ?? 0) { active = (name, try file.size(), records) }
        }
        if let active {
            layout.append(.recordLog(RecordLogLayout(file: active.name, label: "redo log (active)", size: active.size,
                                                     records: active.records.map(\.offset))))
        }
        return layout
    }

    private static func pageFileLayout(_ bytes: Bytes) -> PageFileLayout? {
        func meta(at offset: Int) -> Meta? {
            guard offset + Meta.encodedSize <= bytes.count else { return nil }
            if case .valid(let meta) = bytes.withUnsafeBytes({ Meta.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) { return meta }
            return nil
        }
        func u32(_ offset: Int) -> UInt32 { bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) } }
        func u16(_ offset: Int) -> Int { bytes.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) } }
        let pageSize = meta(at: 0)?.pageSize ?? PageLayout.defaultPageSize
        guard bytes.count >= 2 * pageSize else { return nil }
        let metas = [meta(at: 0), meta(at: pageSize)]
        let newestSlot = (metas[1]?.seq ?? 0) > (metas[0]?.seq ?? 0) ? 1 : 0
        func fields(_ slot: Int) -> MetaPageLayout {
            let start = slot * pageSize
            func shifted(_ range: Range<Int>) -> Range<Int> { (start + range.lowerBound)..<(start + range.upperBound) }
            return MetaPageLayout(magic: shifted(Meta.magicBytes), root: shifted(Meta.rootBytes), checkpoint: shifted(Meta.seqBytes))
        }
        // Cells grow down from the page end, so a page's last bytes lie in a cell; in a leaf
        // (cell: header, key, value) they are the last bytes of a value stored in place.
        func treePage(_ pgno: Int, isLeaf: Bool) -> TreePageLayout {
            let start = pgno * pageSize
            let slots = (start + PageLayout.headerSize)..<(start + PageLayout.headerSize + PageLayout.slotSize * u16(start + PageLayout.countOffset))
            return TreePageLayout(page: start..<(start + pageSize), isLeaf: isLeaf,
                                  type: (start + PageLayout.typeOffset)..<(start + PageLayout.typeOffset + 1), slots: slots,
                                  cellByte: start + pageSize - 12, valueByte: isLeaf ? start + pageSize - 7 : nil)
        }
        var root: TreePageLayout?
        var leaf: TreePageLayout?
        if let newest = metas[newestSlot], newest.root > 1, (Int(newest.root) + 1) * pageSize <= bytes.count {
            var page = Int(newest.root)
            var height = newest.height
            root = treePage(page, isLeaf: height <= 1)
            // Down the leftmost children (a branch page's link) to a leaf.
            while height > 1 {
                let child = Int(u32(page * pageSize + PageLayout.linkOffset))
                guard child > 1, (child + 1) * pageSize <= bytes.count else { break }
                page = child
                height -= 1
            }
            if height == 1 { leaf = treePage(page, isLeaf: true) }
        }
        return PageFileLayout(file: fileName, size: bytes.count, pageSize: pageSize, newestMeta: fields(newestSlot),
                              olderMeta: fields(1 - newestSlot), root: root, leaf: leaf)
    }
}
