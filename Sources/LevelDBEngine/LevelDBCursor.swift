import CLevelDB
import KVStore

/// A cursor over a LevelDB iterator, which reads the implicit snapshot taken
/// when it was created; it is destroyed when `withCursor` returns.
public final class LevelDBCursor: KeyValueCursor {
    private var iterator: OpaquePointer?
    private let path: String

    init(iterator: OpaquePointer, path: String) {
        self.iterator = iterator
        self.path = path
    }

    deinit { invalidate() }

    /// Destroys the iterator; the cursor is unusable afterwards.
    func invalidate() {
        if let iterator { leveldb_iter_destroy(iterator) }
        iterator = nil
    }

    private func checkStatus(_ iterator: OpaquePointer) throws(StoreError) {
        try withLevelDBError(path: path) { leveldb_iter_get_error(iterator, $0) }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard let iterator else { throw .closed }
        key.withUnsafeBytes { k in leveldb_iter_seek(iterator, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count) }
        try checkStatus(iterator)
    }

    public func seekToFirst() throws(StoreError) {
        guard let iterator else { throw .closed }
        leveldb_iter_seek_to_first(iterator)
        try checkStatus(iterator)
    }

    public func next() throws(StoreError) {
        guard let iterator else { throw .closed }
        precondition(leveldb_iter_valid(iterator) != 0, "cursor is not positioned on an entry")
        leveldb_iter_next(iterator)
        try checkStatus(iterator)
    }

    public var isValid: Bool {
        guard let iterator else { return false }
        return leveldb_iter_valid(iterator) != 0
    }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(isValid, "cursor is not positioned on an entry")
        var keyLength = 0
        var valueLength = 0
        let key = leveldb_iter_key(iterator, &keyLength)
        let value = leveldb_iter_value(iterator, &valueLength)
        return body(UnsafeRawBufferPointer(start: key, count: keyLength), UnsafeRawBufferPointer(start: value, count: valueLength))
    }
}
