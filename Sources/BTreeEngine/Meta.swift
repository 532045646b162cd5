import KVStore
import StorageIO

/// The content of a meta page (pages 0 and 1 hold the two newest checkpoints).
///
/// Layout (little-endian): `0 u32 crc` (CRC32C of bytes 4..<128), `4 magic[8]`
/// "KVBTREE\0", `12 u32 format`, `16 u32 pageSize`, `20 u32 reserved`,
/// `24 u64 seq` (checkpoint number; slot = seq % 2), `32 u64 txn` (last commit
/// included), `40 u32 root` (0 = empty tree), `44 u32 height`, `48 u32 pageCount`,
/// `52 u32 freelistHead`, `56 u64 freeCount`, `64 u64 entries`; the rest of the page is zero.
struct Meta: Equatable {
    static let magic: [UInt8] = Array("KVBTREE".utf8) + [0]
    /// 2: redo log records in the shared framing (`FramedRecords`) with an LSN and a salt.
    static let formatVersion: UInt32 = 2
    static let encodedSize = 128
    /// Where the magic number, the checkpoint number and the root page number lie in the page.
    static let magicBytes = 4..<12
    static let seqBytes = 24..<32
    static let rootBytes = 40..<44

    var pageSize: Int
    var seq: UInt64
    var txn: UInt64
    var root: UInt32
    var height: Int
    var pageCount: UInt32
    var freelistHead: UInt32
    var freeCount: UInt64
    var entries: UInt64

    /// Writes the meta into `page` (pageSize bytes).
    func encode(into page: UnsafeMutableRawBufferPointer) {
        page.initializeMemory(as: UInt8.self, repeating: 0)
        for (index, byte) in Self.magic.enumerated() { page[Self.magicBytes.lowerBound + index] = byte }
        page.storeBytes(of: Self.formatVersion.littleEndian, toByteOffset: 12, as: UInt32.self)
        page.storeBytes(of: UInt32(pageSize).littleEndian, toByteOffset: 16, as: UInt32.self)
        page.storeBytes(of: seq.littleEndian, toByteOffset: Self.seqBytes.lowerBound, as: UInt64.self)
        page.storeBytes(of: txn.littleEndian, toByteOffset: 32, as: UInt64.self)
        page.storeBytes(of: root.littleEndian, toByteOffset: Self.rootBytes.lowerBound, as: UInt32.self)
        page.storeBytes(of: UInt32(height).littleEndian, toByteOffset: 44, as: UInt32.self)
        page.storeBytes(of: pageCount.littleEndian, toByteOffset: 48, as: UInt32.self)
        page.storeBytes(of: freelistHead.littleEndian, toByteOffset: 52, as: UInt32.self)
        page.storeBytes(of: freeCount.littleEndian, toByteOffset: 56, as: UInt64.self)
        page.storeBytes(of: entries.littleEndian, toByteOffset: 64, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: page[4..<Self.encodedSize]))
        page.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
    }

    /// What a meta page slot holds.
    enum Decoded {
        case valid(Meta)
        /// Our magic number but a bad checksum or impossible fields (torn or damaged).
        case damaged(String)
        /// Our magic number and an intact page of another format version.
        case otherVersion(UInt32)
        /// Not our magic number at all.
        case foreign
    }

    /// Decodes a meta page from the first `encodedSize` bytes of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Decoded {
        guard bytes.count >= encodedSize else { return .foreign }
        guard Array(bytes[magicBytes]) == magic else { return .foreign }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[4..<encodedSize])) == crc else {
            return .damaged("meta page checksum mismatch")
        }
        func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        let format = u32(12)
        guard format == formatVersion else { return .otherVersion(format) }
        let meta = Meta(pageSize: Int(u32(16)), seq: u64(seqBytes.lowerBound), txn: u64(32), root: u32(rootBytes.lowerBound), height: Int(u32(44)),
                        pageCount: u32(48), freelistHead: u32(52), freeCount: u64(56), entries: u64(64))
        guard meta.pageSize >= PageLayout.minPageSize, meta.pageSize <= PageLayout.maxPageSize,
              meta.pageSize & (meta.pageSize - 1) == 0, meta.pageCount >= 2,
              meta.root < meta.pageCount, meta.freelistHead < meta.pageCount, meta.height < 64 else {
            return .damaged("meta page fields out of range")
        }
        return .valid(meta)
    }
}
