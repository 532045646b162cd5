#if canImport(Glibc)
import Glibc
#endif
import KVStore
import StorageIO
import Synchronization

/// Describes a finished table as the manifest records it.
struct TableMeta: Sendable, Hashable {
    var number: UInt64
    var size: Int
    var entries: Int
    var smallest: Bytes
    var largest: Bytes
}

/// Sorted string table layout (see docs/lsm-format.md):
/// `data block* | filter block | index block | footer`, each block followed by
/// its CRC-32C; the footer is fixed-size and checksummed itself.
enum TableFormat {
    static let magic: UInt64 = 0x4B56_424C_534D_5354   // "KVBLSMST"
    static let version: UInt32 = 1
    static let footerSize = 56
    /// Offset of the magic number in the footer (its last eight bytes).
    static let magicOffsetInFooter = 48

    /// The fields of a footer (the last `footerSize` bytes of a table), decoded without judging them.
    struct Footer {
        var indexOffset: Int
        var indexSize: Int
        var filterOffset: Int
        var filterSize: Int
        var version: UInt32
        var checksumHolds: Bool
        var magic: UInt64

        init(_ raw: UnsafeRawBufferPointer) {
            var footer = ByteReader(raw)
            indexOffset = Int(truncatingIfNeeded: footer.fixed64())
            indexSize = Int(truncatingIfNeeded: footer.fixed64())
            filterOffset = Int(truncatingIfNeeded: footer.fixed64())
            filterSize = Int(truncatingIfNeeded: footer.fixed64())
            _ = footer.fixed64()
            version = footer.fixed32()
            let crc = footer.fixed32()
            magic = footer.fixed64()
            checksumHolds = raw.count >= 44 && crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<44]))
        }
    }
}

/// Writes one table: blocks are buffered and written sequentially, then the
/// filter, index and footer; `finish` syncs the file.
///
/// One thread at a time builds a table (a flush or one range of a compaction), so
/// its stored state is `@exclusivity(unchecked)`, keeping the runtime's access checks
/// off the merge's hot path.
final class TableBuilder {
    let number: UInt64
    let path: String
    private let file: StorageFile
    private let blockSize: Int
    private let bitsPerKey: Int
    private let block = BlockBuilder()
    @exclusivity(unchecked) private var pending: Bytes = []
    @exclusivity(unchecked) private var written = 0
    @exclusivity(unchecked) private var hashes: [UInt64] = []
    @exclusivity(unchecked) private var index: Bytes = []
    @exclusivity(unchecked) private var indexCount = 0
    @exclusivity(unchecked) private var smallest: Bytes = []
    @exclusivity(unchecked) private var largestKey: Bytes = []
    @exclusivity(unchecked) private(set) var entries = 0
    #if KVBENCH_INTERNAL_CHECKS
    @exclusivity(unchecked) private var previousKey: Bytes?
    #endif

    init(directory: String, number: UInt64, blockSize: Int, bitsPerKey: Int) throws(StoreError) {
        self.number = number
        self.path = LSMFileName.table(number).path(in: directory)
        self.file = try StorageFile(path: path, mode: .createNew)
        self.blockSize = blockSize
        self.bitsPerKey = bitsPerKey
        pending.reserveCapacity(1 << 18)
    }

    /// Bytes the table would have if finished now (approximately).
    var estimatedSize: Int { written + pending.count + block.estimatedSize }

    /// Adds an entry; keys must arrive in strictly increasing order (checked under `KVBENCH_INTERNAL_CHECKS`).
    func add(key: UnsafeRawBufferPointer, kind: EntryKind, value: UnsafeRawBufferPointer) throws(StoreError) {
        #if KVBENCH_INTERNAL_CHECKS
        if let previousKey {
            precondition(previousKey.withUnsafeBytes { compareKeys($0, key) } < 0, "table keys must arrive in strictly increasing order")
        }
        previousKey = Bytes(key)
        #endif
        if entries == 0 { smallest = Bytes(key) }
        block.add(key: key, kind: kind, value: value)
        hashes.append(KeyHash.hash(key))
        entries += 1
        if block.estimatedSize >= blockSize { try finishBlock() }
    }

    private var offset: Int { written + pending.count }

    private func appendBlock(_ payload: UnsafeRawBufferPointer) -> (offset: Int, size: Int) {
        let start = offset
        pending.append(contentsOf: payload)
        pending.appendFixed32(CRC32C.checksum(payload))
        return (start, payload.count)
    }

    private func finishBlock() throws(StoreError) {
        guard !block.isEmpty else { return }
        largestKey.removeAll(keepingCapacity: true)
        largestKey.append(contentsOf: block.lastKey)
        let handle = block.finish { payload in appendBlock(payload) }
        index.appendLengthPrefixed(largestKey)
        index.appendVarint(handle.offset)
        index.appendVarint(handle.size)
        indexCount += 1
        block.reset()
        if pending.count >= 1 << 18 { try flushPending() }
    }

    private func flushPending() throws(StoreError) {
        guard !pending.isEmpty else { return }
        try file.write(at: written, pending)
        written += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes filter, index and footer, syncs, and returns the table's metadata.
    func finish() throws(StoreError) -> TableMeta {
        try finishBlock()
        let filter = BloomFilter.build(hashes: hashes, bitsPerKey: bitsPerKey).withUnsafeBytes { appendBlock($0) }
        var indexPayload: Bytes = []
        indexPayload.appendVarint(indexCount)
        indexPayload.append(contentsOf: index)
        let indexHandle = indexPayload.withUnsafeBytes { appendBlock($0) }
        var footer: Bytes = []
        footer.appendFixed64(UInt64(indexHandle.offset))
        footer.appendFixed64(UInt64(indexHandle.size))
        footer.appendFixed64(UInt64(filter.offset))
        footer.appendFixed64(UInt64(filter.size))
        footer.appendFixed64(UInt64(entries))
        footer.appendFixed32(TableFormat.version)
        footer.appendFixed32(footer.withUnsafeBytes { CRC32C.checksum($0) })
        footer.appendFixed64(TableFormat.magic)
        pending.append(contentsOf: footer)
        try flushPending()
        try file.sync()
        return TableMeta(number: number, size: written, entries: entries, smallest: smallest, largest: largestKey)
    }

    /// Removes the partly written file (after a failure or an aborted compaction).
    func abandon() {
        try? FileSystem.removeFile(path)
    }
}

/// An open, immutable table: its file, bloom filter and block index in memory.
///
/// Shared by every version that lists it; when the last version lets go of an
/// obsolete table, `deinit` deletes its file — so a file is never removed
/// while a reader or cursor may still use it.
final class TableFile: Sendable {
    let meta: TableMeta
    let path: String
    private let file: StorageFile
    private let filter: OwnedBuffer
    private let indexKeys: OwnedBuffer
    private let keyOffsets: [UInt32]
    private let blockOffsets: [UInt64]
    private let blockSizes: [UInt32]
    private let obsolete = Atomic<Bool>(false)

    var number: UInt64 { meta.number }
    var smallest: Bytes { meta.smallest }
    var largest: Bytes { meta.largest }
    var blockCount: Int { blockSizes.count }
    /// Memory held outside the block cache (filter and index).
    var metadataBytes: Int { filter.count + indexKeys.count + blockSizes.count * 16 }

    /// Opens `directory/NNNNNN.sst`, verifying footer, index and filter.
    init(directory: String, meta: TableMeta) throws(StoreError) {
        let path = LSMFileName.table(meta.number).path(in: directory)
        self.path = path
        self.meta = meta
        let file = try StorageFile(path: path, mode: .readOnly)
        self.file = file
        let size = try file.size()
        guard size >= TableFormat.footerSize else { throw .corruption(path: path, reason: "table is shorter than its footer") }
        let footerBytes = try file.read(at: size - TableFormat.footerSize, count: TableFormat.footerSize)
        let footer = footerBytes.withUnsafeBytes { TableFormat.Footer($0) }
        let (indexOffset, indexSize, filterOffset, filterSize) = (footer.indexOffset, footer.indexSize, footer.filterOffset, footer.filterSize)
        guard footer.magic == TableFormat.magic else { throw .corruption(path: path, reason: "table footer has a wrong magic number") }
        guard footer.checksumHolds else { throw .corruption(path: path, reason: "table footer checksum mismatch") }
        guard footer.version == TableFormat.version else {
            throw .corruption(path: path, reason: "table format version \(footer.version), this build reads \(TableFormat.version)")
        }
        let dataEnd = size - TableFormat.footerSize
        guard indexOffset >= 0, indexSize >= 0, filterOffset >= 0, filterSize >= 0,
              indexOffset + indexSize + 4 <= dataEnd, filterOffset + filterSize + 4 <= dataEnd else {
            throw .corruption(path: path, reason: "table footer points outside the file")
        }
        filter = try Self.readVerified(file, offset: filterOffset, size: filterSize, path: path)
        let indexBlock = try Self.readVerified(file, offset: indexOffset, size: indexSize, path: path)

        var keys: Bytes = []
        var offsets: [UInt32] = [0]
        var blockOffsets: [UInt64] = []
        var blockSizes: [UInt32] = []
        var reader = ByteReader(indexBlock.bytes)
        let count = reader.length()
        keys.reserveCapacity(count * 24)
        offsets.reserveCapacity(count + 1)
        for _ in 0..<count where !reader.failed {
            let keyLength = reader.length()
            keys.append(contentsOf: reader.slice(keyLength))
            offsets.append(UInt32(keys.count))
            blockOffsets.append(reader.varint())
            blockSizes.append(UInt32(truncatingIfNeeded: reader.varint()))
        }
        guard !reader.failed, reader.isAtEnd, count > 0 else { throw .corruption(path: path, reason: "table index block does not decode") }
        for i in 0..<count where Int(blockOffsets[i]) + Int(blockSizes[i]) + 4 > dataEnd {
            throw .corruption(path: path, reason: "table index points outside the file")
        }
        indexKeys = keys.withUnsafeBytes { OwnedBuffer(copying: $0) }
        keyOffsets = offsets
        self.blockOffsets = blockOffsets
        self.blockSizes = blockSizes
        file.adviseRandomAccess()
    }

    deinit {
        if obsolete.load(ordering: .acquiring) { try? FileSystem.removeFile(path) }
    }

    /// Marks the table as no longer listed by the newest version; its file is
    /// deleted when the last version holding it goes away.
    func markObsolete() { obsolete.store(true, ordering: .releasing) }

    private static func readVerified(_ file: StorageFile, offset: Int, size: Int, path: String) throws(StoreError) -> OwnedBuffer {
        let buffer = OwnedBuffer(count: size + 4)
        let got = try file.read(at: offset, into: buffer.mutableBytes)
        guard got == size + 4 else { throw .corruption(path: path, reason: "block at offset \(offset) is cut short") }
        let stored = UInt32(littleEndian: buffer.bytes.loadUnaligned(fromByteOffset: size, as: UInt32.self))
        guard CRC32C.checksum(buffer.prefix(size)) == stored else {
            throw .corruption(path: path, reason: "block checksum mismatch at offset \(offset)")
        }
        return OwnedBuffer(copying: buffer.prefix(size))
    }

    @inline(__always)
    private func indexKey(_ i: Int) -> UnsafeRawBufferPointer {
        let start = Int(keyOffsets[i]), end = Int(keyOffsets[i + 1])
        return UnsafeRawBufferPointer(rebasing: indexKeys.bytes[start..<end])
    }

    /// The first block whose last key is at or after `key`, or nil past the end.
    @inline(__always)
    func blockIndex(for key: UnsafeRawBufferPointer) -> Int? {
        var low = 0, high = blockSizes.count
        while low < high {
            let middle = (low + high) >> 1
            if compareKeys(indexKey(middle), key) < 0 { low = middle + 1 } else { high = middle }
        }
        return low < blockSizes.count ? low : nil
    }

    /// True unless the bloom filter proves `hash`'s key absent.
    @inline(__always)
    /// Appends the last key of every `every`-th data block (and of the last one), each
    /// with the bytes of the blocks since the previous boundary: where a compaction
    /// over this table may be split (`Engine.subcompactionRanges`).
    func appendBlockBoundaries(into boundaries: inout [(key: Bytes, bytes: Int)], every: Int) {
        var bytes = 0
        for index in 0..<blockCount {
            bytes += Int(blockSizes[index])
            if (index + 1) % every == 0 || index == blockCount - 1 {
                boundaries.append((Bytes(indexKey(index)), bytes))
                bytes = 0
            }
        }
    }

    func mayContain(hash: UInt64) -> Bool { BloomFilter.mayContain(filter.bytes, hash: hash) }

    /// Reads a data block, through the cache when one is given.
    func block(_ index: Int, cache: BlockCache?, counters: EngineCounters) throws(StoreError) -> Block {
        let offset = blockOffsets[index]
        let key = BlockKey(file: meta.number, offset: offset)
        if let cache {
            if let cached = cache.lookup(key) {
                counters.cacheHits.add(1, ordering: .relaxed)
                return cached
            }
            counters.cacheMisses.add(1, ordering: .relaxed)
        }
        let size = Int(blockSizes[index]) + 4
        let storage = OwnedBuffer(count: size)
        let got = try file.read(at: Int(offset), into: storage.mutableBytes)
        guard got == size else { throw .corruption(path: path, reason: "data block at offset \(offset) is cut short") }
        counters.bytesRead.add(UInt64(size), ordering: .relaxed)
        let block = try Block(storage: storage, path: path, offset: Int(offset))
        cache?.insert(key, block)
        return block
    }

    /// Looks `key` up in this table (after the caller checked the filter).
    func find(_ key: UnsafeRawBufferPointer, cache: BlockCache, counters: EngineCounters) throws(StoreError)
        -> (block: Block, kind: EntryKind, value: Range<Int>)?
    {
        guard let index = blockIndex(for: key) else { return nil }
        let block = try block(index, cache: cache, counters: counters)
        do {
            guard let hit = try block.find(key) else { return nil }
            return (block, hit.kind, hit.value)
        } catch {
            throw .corruption(path: path, reason: "malformed data block \(index)")
        }
    }
}

/// Iterates one table in key order.
struct TableIterator {
    let table: TableFile
    private let cache: BlockCache?
    private let counters: EngineCounters
    private var blockNumber = 0
    private var current: BlockIterator?

    /// `cache` nil reads blocks without caching them (compaction input).
    init(table: TableFile, cache: BlockCache?, counters: EngineCounters) {
        self.table = table
        self.cache = cache
        self.counters = counters
    }

    var isValid: Bool { current?.isValid ?? false }
    var key: UnsafeRawBufferPointer { current!.key.bytes }
    var value: UnsafeRawBufferPointer { current!.value }
    var kind: EntryKind { current!.kind }

    private mutating func load(_ index: Int) throws(StoreError) {
        blockNumber = index
        guard index < table.blockCount else { current = nil; return }
        current = BlockIterator(block: try table.block(index, cache: cache, counters: counters))
    }

    private mutating func skipEmpty() throws(StoreError) {
        while current != nil && !current!.isValid {
            try load(blockNumber + 1)
            if current != nil { try current!.seekToFirst() }
        }
    }

    mutating func seekToFirst() throws(StoreError) {
        try load(0)
        if current != nil { try current!.seekToFirst() }
        try skipEmpty()
    }

    mutating func seek(_ target: UnsafeRawBufferPointer) throws(StoreError) {
        guard let index = table.blockIndex(for: target) else { current = nil; return }
        try load(index)
        if current != nil { try current!.seek(target) }
        try skipEmpty()
    }

    mutating func next() throws(StoreError) {
        try current!.next()
        try skipEmpty()
    }
}

/// A cache-line-blocked bloom filter: each key maps to one 64-byte line and
/// sets `probes` bits inside it, so a lookup touches one cache line.
///
/// Layout: `lines × 64 bytes | probes u8 | 0 u8 × 3 | lineCount u32`.
/// The bit positions come from the key's 64-bit `KeyHash`: the high half picks
/// the line, the low half is stepped by a golden-ratio multiply per probe.
enum BloomFilter {
    static let lineBytes = 64
    static let trailerBytes = 8

    /// Number of probes for a bits-per-key setting (≈ bits × ln 2).
    static func probes(bitsPerKey: Int) -> Int {
        min(30, max(1, Int((Double(bitsPerKey) * 0.69).rounded())))
    }

    /// The false-positive rate a standard bloom filter of this size would have.
    static func designFalsePositiveRate(bitsPerKey: Int) -> Double {
        let k = Double(probes(bitsPerKey: bitsPerKey))
        return Glibc.pow(1 - Glibc.exp(-k / Double(bitsPerKey)), k)
    }

    /// Builds the filter bytes for keys given by their hashes.
    static func build(hashes: [UInt64], bitsPerKey: Int) -> Bytes {
        let k = probes(bitsPerKey: bitsPerKey)
        let totalBits = max(1, hashes.count) * max(1, bitsPerKey)
        let lines = max(1, (totalBits + 511) / 512)
        var filter = Bytes(repeating: 0, count: lines * lineBytes + trailerBytes)
        filter.withUnsafeMutableBytes { raw in
            for hash in hashes {
                let line = Int(((hash >> 32) &* UInt64(lines)) >> 32)
                var g = UInt32(truncatingIfNeeded: hash)
                let base = line * lineBytes
                for _ in 0..<k {
                    let bit = Int(g >> 23)
                    raw[base + bit >> 3] |= UInt8(1) << UInt8(bit & 7)
                    g = g &* 0x9E37_79B9
                }
            }
            raw[lines * lineBytes] = UInt8(k)
            raw.storeBytes(of: UInt32(lines).littleEndian, toByteOffset: lines * lineBytes + 4, as: UInt32.self)
        }
        return filter
    }

    /// False when the key is certainly absent. A malformed filter answers true.
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        guard filter.count >= trailerBytes + lineBytes else { return true }
        let lines = Int(UInt32(littleEndian: filter.loadUnaligned(fromByteOffset: filter.count - 4, as: UInt32.self)))
        let k = Int(filter[filter.count - trailerBytes])
        guard lines * lineBytes + trailerBytes == filter.count, k > 0 else { return true }
        let line = Int(((hash >> 32) &* UInt64(lines)) >> 32)
        var g = UInt32(truncatingIfNeeded: hash)
        let base = line * lineBytes
        for _ in 0..<k {
            let bit = Int(g >> 23)
            if filter[base + bit >> 3] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
            g = g &* 0x9E37_79B9
        }
        return true
    }
}

/// Fast 64-bit hash of a key, used by the bloom filters (not stored anywhere
/// else). A multiply-rotate mix over 8-byte words with a murmur-style finalizer.
enum KeyHash {
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let k1: UInt64 = 0x9E37_79B9_7F4A_7C15
        let k2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        var h: UInt64 = 0x2545_F491_4F6C_DD1D ^ (UInt64(key.count) &* k1)
        var index = 0
        let count = key.count
        while index + 8 <= count {
            let word = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            h = (h ^ (word &* k2)).rotateLeft(31) &* k1
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(key[index]) << shift
                shift += 8
                index += 1
            }
            h = (h ^ (tail &* k2)).rotateLeft(27) &* k1
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}

extension UInt64 {
    @inline(__always)
    func rotateLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
