/// The storage protocol every KVBench engine implements.
///
/// Keys and values are byte strings (`Bytes`); any byte is valid and keys
/// order by unsigned byte comparison. Empty keys are rejected by every engine
/// with `StoreError.emptyKey`; empty values are valid and distinct from a
/// missing key. Sizes are checked against `limits` before anything is written.
///
/// Thread safety: every method may be called from any thread. Engines allow
/// at least many concurrent readers together with one writer at a time;
/// concurrent writers are serialized by the engine. A cursor belongs to the
/// thread that called `withCursor` and sees one consistent snapshot.
/// After `close()` every method throws `StoreError.closed`.
public protocol KeyValueStore: AnyObject, Sendable {
    /// The engine's cursor type, valid only inside `withCursor`.
    associatedtype Cursor: KeyValueCursor

    /// Short engine name used on the command line, for example `rocksdb`.
    static var engineName: String { get }
    /// Version of the engine or of the library behind it, for example `7.8.3`.
    static var engineVersion: String { get }
    /// Opens (or with `createIfMissing`, creates) the store in `options.directory`.
    static func open(_ options: StoreOptions) throws(StoreError) -> Self
    /// Refuses what `open` would refuse in `options.settings` (an unknown name, a value out of
    /// range, settings that contradict each other) with the same `StoreError.invalidOption`,
    /// without touching `options.directory`: a command checks its settings before it runs anything.
    static func checkSettings(_ options: StoreOptions) throws(StoreError)

    /// The options the store was opened with.
    var options: StoreOptions { get }
    /// Key and value size limits.
    var limits: StoreLimits { get }
    /// Engine settings in force, as they should appear in a report
    /// (for example `compression: none`, `block_cache_bytes: 33554432`).
    var settingsReport: [String: String] { get }

    /// Stores `value` under `key`, replacing any earlier value.
    func put(_ key: Bytes, _ value: Bytes) throws(StoreError)
    /// Returns a copy of the value stored under `key`, or nil.
    func get(_ key: Bytes) throws(StoreError) -> Bytes?
    /// Lends the value stored under `key` to `body` without copying it;
    /// returns nil without calling `body` when the key is missing.
    /// The buffer is valid only inside `body`.
    func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result?
    /// Removes `key`; removing a missing key is not an error.
    func delete(_ key: Bytes) throws(StoreError)
    /// Applies every operation of `batch` atomically.
    func write(_ batch: WriteBatch) throws(StoreError)
    /// Runs `body` with a cursor over one consistent snapshot of the store.
    /// The cursor starts unpositioned: call `seek(to:)` or `seekToFirst()`.
    func withCursor<Result>(_ body: (inout Cursor) throws(StoreError) -> Result) throws(StoreError) -> Result
    /// Makes every acknowledged write durable against power loss, whatever the durability mode.
    func sync() throws(StoreError)
    /// Compacts the whole store where the engine has such an operation;
    /// returns false when it has none.
    func compactAll() throws(StoreError) -> Bool
    /// A snapshot of the engine's counters.
    func statistics() -> StoreStatistics
    /// Flushes what the durability mode promises, releases every resource and the directory lock.
    /// Closing twice is allowed.
    func close() throws(StoreError)
}

/// A forward cursor over a consistent snapshot of a store.
public protocol KeyValueCursor {
    /// Positions at the first entry whose key is at or after `key`.
    mutating func seek(to key: Bytes) throws(StoreError)
    /// Positions at the smallest key.
    mutating func seekToFirst() throws(StoreError)
    /// Moves to the next entry in key order. Requires `isValid`.
    mutating func next() throws(StoreError)
    /// True while the cursor is positioned on an entry.
    var isValid: Bool { get }
    /// Lends the current key and value to `body`. Requires `isValid`.
    /// The buffers are valid only inside `body`.
    func withCurrent<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Result) -> Result
}

extension KeyValueCursor {
    /// A copy of the current key. Requires `isValid`.
    public var key: Bytes { withCurrent { key, _ in Bytes(key) } }
    /// A copy of the current value. Requires `isValid`.
    public var value: Bytes { withCurrent { _, value in Bytes(value) } }
}

/// One entry returned by a scan.
public struct KeyValuePair: Sendable, Hashable {
    public var key: Bytes
    public var value: Bytes

    public init(key: Bytes, value: Bytes) {
        self.key = key
        self.value = value
    }
}

extension KeyValueStore {
    /// Entries with `start <= key < end` (no upper bound when `end` is nil), in key order, at most `limit`.
    public func scan(from start: Bytes, to end: Bytes? = nil, limit: Int = .max) throws(StoreError) -> [KeyValuePair] {
        try withCursor { (cursor: inout Cursor) throws(StoreError) -> [KeyValuePair] in
            var result: [KeyValuePair] = []
            if start.isEmpty { try cursor.seekToFirst() } else { try cursor.seek(to: start) }
            while cursor.isValid && result.count < limit {
                let entry = cursor.withCurrent { key, value -> KeyValuePair? in
                    if let end, end.withUnsafeBytes({ ByteOrder.compare(key, $0) }) >= 0 { return nil }
                    return KeyValuePair(key: Bytes(key), value: Bytes(value))
                }
                guard let entry else { break }
                result.append(entry)
                try cursor.next()
            }
            return result
        }
    }

    /// Visits up to `limit` entries from `start` without copying them; returns how many were visited.
    @inlinable
    public func scan(from start: Bytes, limit: Int, _ visit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) throws(StoreError) -> Int {
        try withCursor { (cursor: inout Cursor) throws(StoreError) -> Int in
            var visited = 0
            try cursor.seek(to: start)
            while cursor.isValid && visited < limit {
                cursor.withCurrent(visit)
                visited += 1
                try cursor.next()
            }
            return visited
        }
    }
}
