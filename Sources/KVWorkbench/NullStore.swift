#if canImport(Glibc)
import Glibc
#endif
import KVStore
import Synchronization

/// An engine that stores nothing: every write is accepted and dropped, every
/// read misses. Running a workload against it measures the harness itself
/// (clock reads, histograms, key generation). Its point operations are
/// `@inlinable`, so the harness's specialized loop sees them whole.
///
/// Test hook: the setting `null.abort=open` or `null.abort=close` makes the
/// process abort (SIGABRT) when the store is opened or closed, to test how
/// `compare` reports a run whose process dies.
public final class NullStore: KeyValueStore {
    public static let engineName = "null"
    public static let engineVersion = SystemManifest.toolVersion

    public let options: StoreOptions
    public let limits = StoreLimits(maxKeySize: 1 << 20, maxValueSize: 1 << 30)
    public let settingsReport: [String: String]
    @usableFromInline let userBytes = Atomic<UInt64>(0)
    @usableFromInline let isClosed = Atomic<Bool>(false)

    private let abortOnClose: Bool

    private init(options: StoreOptions, abortOnClose: Bool) {
        self.options = options
        self.abortOnClose = abortOnClose
        var report = ["stores": "nothing (measures the harness)"]
        if abortOnClose { report["abort"] = "close (test hook)" }
        settingsReport = report
    }

    /// `null.abort` (a test hook): nil, `open` or `close`.
    private static func readAbort(_ options: StoreOptions) throws(StoreError) -> String? {
        try EngineSettings(options.settings, engine: "null", known: ["null.abort"]).choice("null.abort", of: ["open", "close"])
    }

    public static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try readAbort(options) }

    public static func open(_ options: StoreOptions) throws(StoreError) -> NullStore {
        let abort = try readAbort(options)
        if abort == "open" { abortForTest("open") }
        return NullStore(options: options, abortOnClose: abort == "close")
    }

    @inlinable @inline(__always)
    func ensureOpen() throws(StoreError) {
        if isClosed.load(ordering: .relaxed) { throw .closed }
    }

    @inlinable
    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try ensureOpen()
        try limits.validate(key: key.count)
        return nil
    }

    @inlinable
    public func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        try ensureOpen()
        try limits.validate(key: key.count)
        return nil
    }

    @inlinable
    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    public func withCursor<Result>(_ body: (inout EmptyCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try ensureOpen()
        var cursor = EmptyCursor()
        return try body(&cursor)
    }

    public func sync() throws(StoreError) { try ensureOpen() }

    public func compactAll() throws(StoreError) -> Bool { false }

    public func statistics() -> StoreStatistics {
        StoreStatistics(userBytesWritten: userBytes.load(ordering: .relaxed), engineBytesWritten: 0)
    }

    /// Says why on standard error, then aborts.
    private static func abortForTest(_ when: String) -> Never {
        let message = "null engine: abort() at \(when), as asked by the test hook null.abort=\(when)\n"
        _ = message.withCString { Glibc.write(2, $0, strlen($0)) }
        abort()
    }

    public func close() throws(StoreError) {
        if abortOnClose { Self.abortForTest("close") }
        isClosed.store(true, ordering: .relaxed)
    }

    /// The cursor of the null engine: never positioned.
    public struct EmptyCursor: KeyValueCursor {
        public init() {}
        public mutating func seek(to key: Bytes) throws(StoreError) {}
        public mutating func seekToFirst() throws(StoreError) {}
        public mutating func next() throws(StoreError) {}
        public var isValid: Bool { false }
        public func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
            preconditionFailure("the null engine's cursor is never positioned")
        }
    }
}
