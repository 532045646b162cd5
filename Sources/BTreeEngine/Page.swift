import KVStore
import StorageIO

/// Kinds of page in the page file.
enum PageType: UInt8 {
    case leaf = 1
    case branch = 2
    case overflow = 3
    case freelist = 4
}

/// Byte layout of every non-meta page (all integers little-endian):
///
/// ```
///  0 u32 checksum   CRC32C of bytes 4..<pageSize
///  4 u8  type       PageType
///  5 u8  reserved
///  6 u16 count      cells (leaf entries, branch keys, freelist entries)
///  8 u32 pgno       the page's own number (catches misdirected writes)
/// 12 u32 link       branch: leftmost child; overflow and freelist: next page (0 = none)
/// 16 u64 txn        the commit that created this version of the page
/// 24 u16 lower      end of the slot array
/// 26 u16 upper      start of the cell area (cells grow down from the page end)
/// 28 u16 used       bytes held by cells and slots
/// 30 u16 reserved
/// 32 ...            slots in key order, free gap, cells
/// ```
///
/// A slot is `u16 cellOffset, u64 head`, where the head is the key's first
/// eight bytes (zero-padded) read big-endian: comparing heads as integers
/// orders keys as `memcmp` does until a tie, so a binary search reads the
/// slot array and, for its final comparisons only, the cells.
///
/// Leaf cell: `u16 keyLength, u32 valueField, key, value` where bit 31 of the
/// value field marks an overflow value, whose cell holds the `u32` first
/// overflow page instead of the value bytes. Branch cell: `u32 child, u16
/// keyLength, key`; the child holds keys `>=` its key and `<` the next cell's key.
enum PageLayout {
    static let headerSize = 32
    static let slotSize = 10
    static let checksumOffset = 0
    static let typeOffset = 4
    static let countOffset = 6
    static let pgnoOffset = 8
    static let linkOffset = 12
    static let txnOffset = 16
    static let lowerOffset = 24
    static let upperOffset = 26
    static let usedOffset = 28
    static let overflowFlag: UInt32 = 1 << 31
    static let leafCellHeader = 6
    static let branchCellHeader = 6
    static let minPageSize = 512
    static let maxPageSize = 32768
    static let defaultPageSize = 4096
}

/// A view of one page in memory; does not own the bytes.
struct PageView {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(_ base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    // MARK: header fields

    @inline(__always) private func u16(_ offset: Int) -> Int {
        Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
    @inline(__always) private func setU16(_ offset: Int, _ value: Int) {
        base.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) private func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) private func setU32(_ offset: Int, _ value: UInt32) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    var rawType: UInt8 { base.load(fromByteOffset: PageLayout.typeOffset, as: UInt8.self) }
    var type: PageType? { PageType(rawValue: rawType) }
    var isLeaf: Bool { rawType == PageType.leaf.rawValue }
    var count: Int {
        get { u16(PageLayout.countOffset) }
        nonmutating set { setU16(PageLayout.countOffset, newValue) }
    }
    var pgno: UInt32 {
        get { u32(PageLayout.pgnoOffset) }
        nonmutating set { setU32(PageLayout.pgnoOffset, newValue) }
    }
    var link: UInt32 {
        get { u32(PageLayout.linkOffset) }
        nonmutating set { setU32(PageLayout.linkOffset, newValue) }
    }
    var txn: UInt64 {
        get { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: PageLayout.txnOffset, as: UInt64.self)) }
        nonmutating set { base.storeBytes(of: newValue.littleEndian, toByteOffset: PageLayout.txnOffset, as: UInt64.self) }
    }
    var lower: Int {
        get { u16(PageLayout.lowerOffset) }
        nonmutating set { setU16(PageLayout.lowerOffset, newValue) }
    }
    /// Start of the cell area; stored as `size - upper` so that 32 KiB pages fit in 16 bits.
    var upper: Int {
        get { size - u16(PageLayout.upperOffset) }
        nonmutating set { setU16(PageLayout.upperOffset, size - newValue) }
    }
    var used: Int {
        get { u16(PageLayout.usedOffset) }
        nonmutating set { setU16(PageLayout.usedOffset, newValue) }
    }
    /// Bytes available for cells and slots, counting fragmented holes.
    var freeBytes: Int { size - PageLayout.headerSize - used }
    /// Bytes available to cells and slots in an empty page.
    var capacity: Int { size - PageLayout.headerSize }

    /// Clears the page and makes it an empty page of `type`.
    func initialize(type: PageType, pgno: UInt32, txn: UInt64) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: PageLayout.headerSize)
        base.storeBytes(of: type.rawValue, toByteOffset: PageLayout.typeOffset, as: UInt8.self)
        self.pgno = pgno
        self.txn = txn
        lower = PageLayout.headerSize
        upper = size
        used = 0
    }

    // MARK: checksum

    /// Computes and stores the page checksum (CRC32C of bytes 4..<size).
    func seal() {
        setU32(PageLayout.checksumOffset, CRC32C.checksum(UnsafeRawBufferPointer(start: base + 4, count: size - 4)))
    }

    /// True when the stored checksum matches the page's bytes.
    var checksumIsValid: Bool {
        CRC32C.checksum(UnsafeRawBufferPointer(start: base + 4, count: size - 4)) == u32(PageLayout.checksumOffset)
    }

    // MARK: slots and cells

    @inline(__always) func cellOffset(_ index: Int) -> Int { u16(PageLayout.headerSize + PageLayout.slotSize * index) }
    @inline(__always) private func setCellOffset(_ index: Int, _ offset: Int) { setU16(PageLayout.headerSize + PageLayout.slotSize * index, offset) }
    @inline(__always) func head(_ index: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: PageLayout.headerSize + PageLayout.slotSize * index + 2, as: UInt64.self))
    }
    @inline(__always) private func setSlot(_ index: Int, offset: Int) {
        let slot = PageLayout.headerSize + PageLayout.slotSize * index
        setU16(slot, offset)
        let keyStart = offset + (isLeaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader)
        let keyLength = isLeaf ? u16(offset) : u16(offset + 4)
        let head = PageView.head(of: UnsafeRawBufferPointer(start: base + keyStart, count: keyLength))
        base.storeBytes(of: head.littleEndian, toByteOffset: slot + 2, as: UInt64.self)
    }

    /// The first eight bytes of `key`, zero-padded, as a big-endian integer.
    @inline(__always)
    static func head(of key: UnsafeRawBufferPointer) -> UInt64 {
        if key.count >= 8 { return UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) }
        var head: UInt64 = 0
        for index in 0..<8 { head = head << 8 | UInt64(index < key.count ? key[index] : 0) }
        return head
    }

    /// The key of cell `index`, leaf or branch.
    @inline(__always) func key(_ index: Int) -> UnsafeRawBufferPointer {
        let offset = cellOffset(index)
        if isLeaf {
            return UnsafeRawBufferPointer(start: base + offset + PageLayout.leafCellHeader, count: u16(offset))
        }
        return UnsafeRawBufferPointer(start: base + offset + PageLayout.branchCellHeader, count: u16(offset + 4))
    }

    /// Size in bytes of cell `index` (without its slot).
    func cellSize(_ index: Int) -> Int {
        let offset = cellOffset(index)
        if isLeaf {
            let field = u32(offset + 2)
            let tail = field & PageLayout.overflowFlag != 0 ? 4 : Int(field)
            return PageLayout.leafCellHeader + u16(offset) + tail
        }
        return PageLayout.branchCellHeader + u16(offset + 4)
    }

    /// The raw bytes of cell `index`.
    func cell(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + cellOffset(index), count: cellSize(index))
    }

    /// Leaf: the value of cell `index` (inline bytes, or the overflow head and total length).
    func leafValue(_ index: Int) -> LeafValue {
        let offset = cellOffset(index)
        let keyLength = u16(offset)
        let field = u32(offset + 2)
        let start = offset + PageLayout.leafCellHeader + keyLength
        if field & PageLayout.overflowFlag != 0 {
            return .overflow(head: u32(start), length: Int(field & ~PageLayout.overflowFlag))
        }
        return .inline(UnsafeRawBufferPointer(start: base + start, count: Int(field)))
    }

    /// Branch: child `index`, where -1 is the leftmost child.
    @inline(__always) func child(_ index: Int) -> UInt32 {
        index < 0 ? link : u32(cellOffset(index))
    }

    /// Branch: replaces child `index` (-1 = leftmost).
    func setChild(_ index: Int, _ pgno: UInt32) {
        if index < 0 { link = pgno } else { setU32(cellOffset(index), pgno) }
    }

    /// Index of the first cell whose key is `>= key`, and whether it is equal.
    @inline(__always)
    func lowerBound(_ key: UnsafeRawBufferPointer) -> (index: Int, found: Bool) {
        let target = PageView.head(of: key)
        var low = 0
        var high = count
        if high >= 16 {
            // Seven independent samples first: their cache misses overlap, and they
            // narrow the search to an eighth of the slots (a few adjacent lines).
            let n = high
            for eighth in 1...7 {
                let index = eighth * n >> 3
                let head = self.head(index)
                if head < target { low = index + 1 } else if head > target && index < high { high = index }
            }
            if low > high { low = high }
        }
        while low < high {
            let middle = (low + high) >> 1
            let head = self.head(middle)
            if head < target {
                low = middle + 1
                continue
            }
            if head > target {
                high = middle
                continue
            }
            let order = ByteOrder.compare(self.key(middle), key)
            if order < 0 {
                low = middle + 1
            } else if order > 0 {
                high = middle
            } else {
                return (middle, true)
            }
        }
        return (low, false)
    }

    /// Branch: the index of the child that covers `key` (-1 = leftmost).
    @inline(__always)
    func childIndex(for key: UnsafeRawBufferPointer) -> Int {
        let (index, found) = lowerBound(key)
        return found ? index : index - 1
    }

    /// Inserts a cell of `cellSize` bytes at slot `index`, written by `write`;
    /// returns false (page unchanged) when it does not fit.
    func insertCell(at index: Int, cellSize: Int, scratch: UnsafeMutableRawPointer,
                    _ write: (UnsafeMutableRawPointer) -> Void) -> Bool {
        let slotSize = PageLayout.slotSize
        guard freeBytes >= cellSize + slotSize else { return false }
        if upper - lower < cellSize + slotSize { compact(scratch: scratch) }
        let offset = upper - cellSize
        write(base + offset)
        let slots = base + PageLayout.headerSize
        let n = count
        if index < n {
            (slots + slotSize * (index + 1)).copyMemory(from: slots + slotSize * index, byteCount: slotSize * (n - index))
        }
        setSlot(index, offset: offset)
        upper = offset
        lower = lower + slotSize
        count = n + 1
        used = used + cellSize + slotSize
        return true
    }

    /// Inserts a copy of `cell` at slot `index`; returns false when it does not fit.
    func insertCell(at index: Int, copying cell: UnsafeRawBufferPointer, scratch: UnsafeMutableRawPointer) -> Bool {
        insertCell(at: index, cellSize: cell.count, scratch: scratch) { target in
            target.copyMemory(from: cell.baseAddress!, byteCount: cell.count)
        }
    }

    /// Appends a copy of `cell` after the last slot; the caller guarantees room and order
    /// (room is checked under `KVBENCH_INTERNAL_CHECKS`).
    func appendCell(_ cell: UnsafeRawBufferPointer) {
        #if KVBENCH_INTERNAL_CHECKS
        precondition(upper - lower >= cell.count + PageLayout.slotSize, "appendCell on page \(pgno) without room for the cell")
        #endif
        let offset = upper - cell.count
        (base + offset).copyMemory(from: cell.baseAddress!, byteCount: cell.count)
        let n = count
        setSlot(n, offset: offset)
        upper = offset
        lower = lower + PageLayout.slotSize
        count = n + 1
        used = used + cell.count + PageLayout.slotSize
    }

    /// Removes cell `index`; its bytes become a hole reclaimed by `compact`.
    func removeCell(at index: Int) {
        let size = cellSize(index)
        let slots = base + PageLayout.headerSize
        let n = count
        let slotSize = PageLayout.slotSize
        if index < n - 1 {
            (slots + slotSize * index).copyMemory(from: slots + slotSize * (index + 1), byteCount: slotSize * (n - 1 - index))
        }
        count = n - 1
        lower = lower - slotSize
        used = used - size - slotSize
        if count == 0 { upper = self.size }
    }

    /// Rewrites the cell area without holes, keeping slot order.
    func compact(scratch: UnsafeMutableRawPointer) {
        scratch.copyMemory(from: base, byteCount: size)
        let source = PageView(scratch, size: size)
        var offset = size
        for index in 0..<count {
            let cell = source.cell(index)
            offset -= cell.count
            (base + offset).copyMemory(from: cell.baseAddress!, byteCount: cell.count)
            setCellOffset(index, offset)
        }
        upper = offset
    }

    // MARK: cell encoders

    /// Size of a leaf cell for the given key and stored value part.
    static func leafCellSize(keyLength: Int, storedValueLength: Int) -> Int {
        PageLayout.leafCellHeader + keyLength + storedValueLength
    }

    /// Writes a leaf cell with an inline value.
    static func writeLeafCell(_ target: UnsafeMutableRawPointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        target.storeBytes(of: UInt16(key.count).littleEndian, as: UInt16.self)
        target.storeBytes(of: UInt32(value.count).littleEndian, toByteOffset: 2, as: UInt32.self)
        if key.count > 0 { (target + 6).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        if value.count > 0 { (target + 6 + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count) }
    }

    /// Writes a leaf cell whose value lives in an overflow chain starting at `head`.
    static func writeOverflowLeafCell(_ target: UnsafeMutableRawPointer, key: UnsafeRawBufferPointer, length: Int, head: UInt32) {
        target.storeBytes(of: UInt16(key.count).littleEndian, as: UInt16.self)
        target.storeBytes(of: (UInt32(length) | PageLayout.overflowFlag).littleEndian, toByteOffset: 2, as: UInt32.self)
        (target + 6).copyMemory(from: key.baseAddress!, byteCount: key.count)
        target.storeBytes(of: head.littleEndian, toByteOffset: 6 + key.count, as: UInt32.self)
    }

    /// Writes a branch cell.
    static func writeBranchCell(_ target: UnsafeMutableRawPointer, child: UInt32, key: UnsafeRawBufferPointer) {
        target.storeBytes(of: child.littleEndian, as: UInt32.self)
        target.storeBytes(of: UInt16(key.count).littleEndian, toByteOffset: 4, as: UInt16.self)
        if key.count > 0 { (target + 6).copyMemory(from: key.baseAddress!, byteCount: key.count) }
    }
}

/// Where a leaf entry keeps its value.
enum LeafValue {
    case inline(UnsafeRawBufferPointer)
    case overflow(head: UInt32, length: Int)
}
