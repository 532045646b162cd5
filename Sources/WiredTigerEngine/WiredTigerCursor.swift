import CWiredTiger
import KVStore

/// A cursor over a WiredTiger table inside a snapshot-isolation transaction that lives for
/// one `withCursor` call; the store resets the cursor and rolls the transaction back after it.
public final class WiredTigerCursor: KeyValueCursor {
    private var cursor: UnsafeMutablePointer<WT_CURSOR>?
    private var positioned = false
    private let path: String
    private let engine: String

    init(cursor: UnsafeMutablePointer<WT_CURSOR>, path: String, engine: String) {
        self.cursor = cursor
        self.path = path
        self.engine = engine
    }

    /// Detaches from the WiredTiger cursor; the cursor is unusable afterwards.
    func invalidate() {
        cursor = nil
        positioned = false
    }

    /// Applies a move's return code: positioned on success, unpositioned on `WT_NOTFOUND`.
    private func moved(_ code: Int32, _ operation: String) throws(StoreError) {
        if code == WT_NOTFOUND {
            positioned = false
            return
        }
        positioned = false
        try checkWiredTiger(code, operation, path: path, engine: engine)
        positioned = true
    }

    public func seek(to key: Bytes) throws(StoreError) {
        guard let cursor else { throw .closed }
        guard !key.isEmpty else { return try seekToFirst() }
        var exact: Int32 = 0
        let code = key.withUnsafeBytes { buffer in
            var item = WT_ITEM()
            item.data = buffer.baseAddress
            item.size = buffer.count
            kvbench_wt_set_key(cursor, &item)
            return cursor.pointee.search_near(cursor, &exact)
        }
        try moved(code, "WT_CURSOR::search_near")
        if positioned && exact < 0 { try moved(cursor.pointee.next(cursor), "WT_CURSOR::next") }
    }

    public func seekToFirst() throws(StoreError) {
        guard let cursor else { throw .closed }
        try checkWiredTiger(cursor.pointee.reset(cursor), "WT_CURSOR::reset", path: path, engine: engine)
        try moved(cursor.pointee.next(cursor), "WT_CURSOR::next")
    }

    public func next() throws(StoreError) {
        precondition(positioned, "cursor is not positioned on an entry")
        guard let cursor else { throw .closed }
        try moved(cursor.pointee.next(cursor), "WT_CURSOR::next")
    }

    public var isValid: Bool { positioned }

    public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(positioned, "cursor is not positioned on an entry")
        var key = WT_ITEM()
        var value = WT_ITEM()
        // A positioned cursor on a `u`/`u` table always has a key and a value.
        let keyCode = kvbench_wt_get_key(cursor, &key)
        let valueCode = kvbench_wt_get_value(cursor, &value)
        precondition(keyCode == 0 && valueCode == 0, "WT_CURSOR::get_key/get_value failed on a positioned cursor")
        return body(UnsafeRawBufferPointer(start: key.data, count: key.size),
                    UnsafeRawBufferPointer(start: value.data, count: value.size))
    }
}
