import KVStore

/// A cursor over an iterator of a LevelDB-style C API (LevelDB's or RocksDB's). The iterator
/// reads the implicit snapshot taken when it was created; `withCursor` destroys it on return.
public final class LevelDBStyleCursor: KeyValueCursor {
    private var iterator: OpaquePointer?
    private let library: LevelDBStyleLibrary
    private let path: String

    init(iterator: OpaquePointer, library: LevelDBStyleLibrary, path: String) {
        self.iterator = iterator
        self.library = library
        self.path = path
    }

    deinit { invalidate() }

    /// Destroys the iterator; the cursor is unusable afterwards.
    func invalidate() {
        if let iterator { library.iterator.destroy(iterator) }
        iterator = nil
    }

    private func checkStatus(_ iterator: OpaquePointer) throws(StoreError) {
        try library.check(path: path) { library.iterator.error(iterator, $0) }
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard let iterator else { throw .closed }
        key.withUnsafeBytes { k in library.iterator.seek(iterator, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count) }
        try checkStatus(iterator)
    }

    public func seekToFirst() throws(StoreError) {
        guard let iterator else { throw .closed }
        library.iterator.seekToFirst(iterator)
        try checkStatus(iterator)
    }

    public func next() throws(StoreError) {
        guard let iterator else { throw .closed }
        precondition(library.iterator.valid(iterator) != 0, "cursor is not positioned on an entry")
        library.iterator.next(iterator)
        try checkStatus(iterator)
    }

    public var isValid: Bool {
        guard let iterator else { return false }
        return library.iterator.valid(iterator) != 0
    }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(isValid, "cursor is not positioned on an entry")
        var keyLength = 0
        var valueLength = 0
        let key = library.iterator.key(iterator, &keyLength)
        let value = library.iterator.value(iterator, &valueLength)
        return body(UnsafeRawBufferPointer(start: key, count: keyLength), UnsafeRawBufferPointer(start: value, count: valueLength))
    }
}
