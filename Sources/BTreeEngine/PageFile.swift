import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The page file: fixed-size pages addressed by number, pages 0 and 1 being
/// the two meta pages. Every page write seals the page's checksum; every page
/// read verifies checksum, page number and type.
///
/// Clean pages are also readable in place through a read-only map of the file
/// (`mappedPage`), as LMDB reads: no copy, and the checksum is verified once, the
/// first time a page is touched after open (a bit per page; a page this process
/// writes is known good). The map covers the pages the file is known to hold (those
/// at open, then every page written); the buffer pool uses it only for pages it does
/// not hold, which are exactly the pages whose file copy is current. When the file
/// cannot be mapped, or grows past the reserved address space, reads copy with `pread`.
///
/// `@unchecked Sendable`: the checked bits are atomics in memory owned for the file's life.
final class PageFile: @unchecked Sendable {
    let file: StorageFile
    let pageSize: Int
    let pagesRead = Atomic<UInt64>(0)
    let pagesWritten = Atomic<UInt64>(0)
    /// Pages read in place through the map (every visit, hits of the map included).
    let pagesMapped = Atomic<UInt64>(0)
    private let map: MappedFile?
    /// Pages below this number are in the file and may be read through the map.
    private let mappedPages = Atomic<Int>(0)
    /// False once a sync of the file failed (see `sync`).
    private let mapUsable = Atomic<Bool>(true)
    /// One bit per page the map can reach: its checksum was verified, or this process wrote it.
    private let checked: UnsafeMutablePointer<Atomic<UInt64>>?
    private let checkedBytes: Int

    /// Address space reserved for the map: pages beyond it are read with `pread`.
    static let mapReserve = 1 << 36

    init(file: StorageFile, pageSize: Int, mapped: Bool) {
        self.file = file
        self.pageSize = pageSize
        let pages = Self.mapReserve / pageSize
        checkedBytes = (pages + 63) / 64 * 8
        if mapped, let map = try? MappedFile(path: file.path, reserve: Self.mapReserve),
           let bits = mmap(nil, checkedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
           bits != MAP_FAILED {
            self.map = map
            checked = bits.bindMemory(to: Atomic<UInt64>.self, capacity: checkedBytes / 8)
            mappedPages.store(min((try? file.size()) ?? 0, Self.mapReserve) / pageSize, ordering: .releasing)
        } else {
            map = nil
            checked = nil
        }
    }

    deinit {
        if let checked { munmap(UnsafeMutableRawPointer(checked), checkedBytes) }
    }

    var path: String { file.path }

    /// True when clean pages can be read through the map.
    var isMapped: Bool { map != nil }

    /// Reads page `pgno` into `buffer` and checks it.
    func readPage(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(StoreError) {
        let got = try file.read(at: Int(pgno) * pageSize, into: UnsafeMutableRawBufferPointer(start: buffer, count: pageSize))
        pagesRead.add(1, ordering: .relaxed)
        guard got == pageSize else {
            throw .corruption(path: path, reason: "page \(pgno) lies beyond the end of the file")
        }
        try check(pgno, buffer)
    }

    /// Page `pgno` in place in the map, checked on its first visit; nil when the map does not reach it.
    /// The memory is read-only. Only for pages whose file copy is current (not dirty in the pool).
    @inline(__always)
    func mappedPage(_ pgno: UInt32) throws(StoreError) -> UnsafeMutableRawPointer? {
        guard let map, let checked, Int(pgno) < mappedPages.load(ordering: .acquiring),
              mapUsable.load(ordering: .relaxed) else { return nil }
        let pointer = UnsafeMutableRawPointer(mutating: map.base + Int(pgno) * pageSize)
        let word = Int(pgno) >> 6, bit = UInt64(1) << (UInt64(pgno) & 63)
        if checked[word].load(ordering: .acquiring) & bit == 0 {
            try check(pgno, pointer)
            pagesRead.add(1, ordering: .relaxed)
            checked[word].bitwiseOr(bit, ordering: .releasing)
        }
        pagesMapped.add(1, ordering: .relaxed)
        return pointer
    }

    private func check(_ pgno: UInt32, _ buffer: UnsafeMutableRawPointer) throws(StoreError) {
        let page = PageView(buffer, size: pageSize)
        guard page.checksumIsValid else {
            throw .corruption(path: path, reason: "checksum mismatch in page \(pgno)")
        }
        guard page.pgno == pgno, page.type != nil else {
            throw .corruption(path: path, reason: "page \(pgno) holds page \(page.pgno) of type \(page.rawType)")
        }
    }

    /// Seals the checksum of the page in `buffer` and writes it as page `pgno`; the map then reaches it.
    func writePage(_ pgno: UInt32, from buffer: UnsafeMutableRawPointer) throws(StoreError) {
        PageView(buffer, size: pageSize).seal()
        try file.write(at: Int(pgno) * pageSize, UnsafeRawBufferPointer(start: buffer, count: pageSize))
        pagesWritten.add(1, ordering: .relaxed)
        guard let checked, Int(pgno) < Self.mapReserve / pageSize else { return }
        checked[Int(pgno) >> 6].bitwiseOr(UInt64(1) << (UInt64(pgno) & 63), ordering: .releasing)
        var known = mappedPages.load(ordering: .relaxed)
        while Int(pgno) >= known {
            let (exchanged, current) = mappedPages.compareExchange(expected: known, desired: Int(pgno) + 1, ordering: .acquiringAndReleasing)
            if exchanged { break }
            known = current
        }
    }

    /// Syncs the file. A failed sync stops reads through the map: the file's
    /// unsynced pages may be gone (as Linux may drop them), and touching a page
    /// past a shortened end would fault; reads then copy and report what they find.
    func sync() throws(StoreError) {
        do throws(StoreError) {
            try file.sync()
        } catch {
            mapUsable.store(false, ordering: .releasing)
            throw error
        }
    }
}
