import CRocksDB
import KVStore

/// A cursor over a RocksDB iterator. The iterator reads an implicit snapshot
/// taken when it was created; it is destroyed when `withCursor` returns.
public final class RocksDBCursor: KeyValueCursor {
    private var iterator: OpaquePointer?
    private let path: String

    init(iterator: OpaquePointer, path: String) {
        self.iterator = iterator
        self.path = path
    }

    deinit { invalidate() }

    /// Destroys the iterator; the cursor is unusable afterwards.
    func invalidate() {
        if let iterator { rocksdb_iter_destroy(iterator) }
        iterator = nil
    }

    private func checkStatus(_ iterator: OpaquePointer) throws(StoreError) {
        try withRocksDBError(path: path) { rocksdb_iter_get_error(iterator, $0) }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard let iterator else { throw .closed }
        key.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
        }
        try checkStatus(iterator)
    }

    public func seekToFirst() throws(StoreError) {
        guard let iterator else { throw .closed }
        rocksdb_iter_seek_to_first(iterator)
        try checkStatus(iterator)
    }

    public func next() throws(StoreError) {
        guard let iterator else { throw .closed }
        rocksdb_iter_next(iterator)
        try checkStatus(iterator)
    }

    public var isValid: Bool {
        guard let iterator else { return false }
        return rocksdb_iter_valid(iterator) != 0
    }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(isValid, "cursor is not positioned on an entry")
        var keyLength = 0
        var valueLength = 0
        let key = rocksdb_iter_key(iterator, &keyLength)
        let value = rocksdb_iter_value(iterator, &valueLength)
        return body(UnsafeRawBufferPointer(start: key, count: keyLength), UnsafeRawBufferPointer(start: value, count: valueLength))
    }
}
