import KVStore
import StorageIO
import Synchronization

/// The page file: fixed-size pages addressed by number, pages 0 and 1 being
/// the two meta pages. Every page write seals the page's checksum; every page
/// read verifies checksum, page number and type.
final class PageFile: Sendable {
    let file: StorageFile
    let pageSize: Int
    let pagesRead = Atomic<UInt64>(0)
    let pagesWritten = Atomic<UInt64>(0)

    init(file: StorageFile, pageSize: Int) {
        self.file = file
        self.pageSize = pageSize
    }

    var path: String { file.path }

    /// Reads page `pgno` into `buffer` and checks it.
    func readPage(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(StoreError) {
        let got = try file.read(at: Int(pgno) * pageSize, into: UnsafeMutableRawBufferPointer(start: buffer, count: pageSize))
        pagesRead.add(1, ordering: .relaxed)
        guard got == pageSize else {
            throw .corruption(path: path, reason: "page \(pgno) lies beyond the end of the file")
        }
        let page = PageView(buffer, size: pageSize)
        guard page.checksumIsValid else {
            throw .corruption(path: path, reason: "checksum mismatch in page \(pgno)")
        }
        guard page.pgno == pgno, page.type != nil else {
            throw .corruption(path: path, reason: "page \(pgno) holds page \(page.pgno) of type \(page.rawType)")
        }
    }

    /// Seals the checksum of the page in `buffer` and writes it as page `pgno`.
    func writePage(_ pgno: UInt32, from buffer: UnsafeMutableRawPointer) throws(StoreError) {
        PageView(buffer, size: pageSize).seal()
        try file.write(at: Int(pgno) * pageSize, UnsafeRawBufferPointer(start: buffer, count: pageSize))
        pagesWritten.add(1, ordering: .relaxed)
    }
}
