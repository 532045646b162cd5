import KVStore
import StorageIO
import Synchronization

/// A deliberately small engine for the fault tests: a sorted map in memory and an
/// append-only log through StorageIO (so the fault layer sees every byte).
/// Records are framed by `FramedRecords` (type 1); a batch is one record, so it is
/// atomic. Durability: `fsync` writes and syncs every record before acknowledging;
/// `os` writes every record; `none` buffers up to 64 KiB in memory. Recovery replays
/// the log by the framing's rule (a torn tail is cut off, and the cut synced before
/// anything is appended; damage before intact records is corruption).
final class LogStore: KeyValueStore, @unchecked Sendable {
    // @unchecked Sendable: every mutable field is guarded by `lock`.
    typealias Cursor = LogStoreCursor

    static let engineName = "logstore"
    static let engineVersion = "1"
    static let recordType: UInt8 = 1

    let options: StoreOptions
    let limits = StoreLimits(maxKeySize: 1024, maxValueSize: 1 << 20)
    let settingsReport: [String: String] = [:]

    private struct Inner {
        var map: [Bytes: Bytes] = [:]
        var file: StorageFile?
        var end = 0
        var buffer: Bytes = []
    }

    private let lock: Mutex<Inner>
    private let directoryLock: DirectoryLock

    private init(options: StoreOptions, directoryLock: DirectoryLock, inner: Inner) {
        self.options = options
        self.directoryLock = directoryLock
        self.lock = Mutex(inner)
    }

    deinit { try? close() }

    static func checkSettings(_ options: StoreOptions) throws(StoreError) { _ = try EngineSettings(options.settings, engine: "log", known: []) }

    static func open(_ options: StoreOptions) throws(StoreError) -> LogStore {
        if !FileSystem.exists(options.directory) {
            guard options.createIfMissing else { throw .notFound(path: options.directory) }
            try FileSystem.createDirectory(options.directory)
        }
        let directoryLock = try DirectoryLock(directory: options.directory)
        let path = options.directory + "/log"
        let isNew = !FileSystem.exists(path)
        let file = try StorageFile(path: path, mode: .createOrOpen)
        if isNew {
            try file.sync()
            try FileSystem.syncDirectory(options.directory)
        }
        var inner = Inner()
        let size = try file.size()
        let bytes = try file.read(at: 0, count: size)
        let scan = try bytes.withBorrowedBytes { (raw) throws(StoreError) in try FramedRecords.scan(raw, types: recordType...recordType, path: path) }
        for record in scan.records { apply(Array(bytes[record.payload]), to: &inner.map) }
        if scan.validEnd < size {
            try file.truncate(to: scan.validEnd)
            try file.sync()
        }
        inner.file = file
        inner.end = scan.validEnd
        return LogStore(options: options, directoryLock: directoryLock, inner: inner)
    }

    /// Payload: repeated `[op u8][key length u32][key][value length u32][value]` (op 1 put, 2 delete).
    private static func apply(_ payload: Bytes, to map: inout [Bytes: Bytes]) {
        var position = 0
        func readLength() -> Int {
            let value = payload.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: position, as: UInt32.self)) }
            position += 4
            return value
        }
        while position < payload.count {
            let op = payload[position]
            position += 1
            let keyLength = readLength()
            let key = Array(payload[position..<(position + keyLength)])
            position += keyLength
            if op == 1 {
                let valueLength = readLength()
                map[key] = Array(payload[position..<(position + valueLength)])
                position += valueLength
            } else {
                map[key] = nil
            }
        }
    }

    private static func encode(_ operations: [WriteBatch.Operation]) -> Bytes {
        var payload: Bytes = []
        func appendLength(_ count: Int) { withUnsafeBytes(of: UInt32(count)) { payload.append(contentsOf: $0) } }
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                payload.append(1); appendLength(key.count); payload += key; appendLength(value.count); payload += value
            case .delete(let key):
                payload.append(2); appendLength(key.count); payload += key
            }
        }
        return payload
    }

    private func commit(_ operations: [WriteBatch.Operation]) throws(StoreError) {
        // An empty batch changes nothing and has no record (the framing has no empty records).
        guard !operations.isEmpty else { return }
        let payload = Self.encode(operations)
        try lock.withLock { (inner: inout Inner) throws(StoreError) in
            guard let file = inner.file else { throw .closed }
            FramedRecords.frame(type: Self.recordType, into: &inner.buffer) { $0 += payload }
            if options.durability != .none || inner.buffer.count >= 64 << 10 {
                try file.write(at: inner.end, inner.buffer)
                inner.end += inner.buffer.count
                inner.buffer.removeAll(keepingCapacity: true)
            }
            if options.durability == .fsync { try file.sync() }
            Self.apply(payload, to: &inner.map)
        }
    }

    func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try limits.validate(key: key.count, value: value.count)
        try commit([.put(key: key, value: value)])
    }

    func get(_ key: Bytes) throws(StoreError) -> Bytes? {
        try lock.withLock { (inner: inout Inner) throws(StoreError) -> Bytes? in
            guard inner.file != nil else { throw .closed }
            return inner.map[key]
        }
    }

    func withValue<Result>(forKey key: Bytes, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        guard let value = try get(key) else { return nil }
        return value.withUnsafeBytes(body)
    }

    func delete(_ key: Bytes) throws(StoreError) {
        try limits.validate(key: key.count)
        try commit([.delete(key: key)])
    }

    func write(_ batch: WriteBatch) throws(StoreError) {
        try limits.validate(batch)
        try commit(batch.operations)
    }

    func withCursor<Result>(_ body: (inout LogStoreCursor) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let entries = try lock.withLock { (inner: inout Inner) throws(StoreError) -> [KeyValuePair] in
            guard inner.file != nil else { throw .closed }
            return inner.map.map { KeyValuePair(key: $0.key, value: $0.value) }.sorted { ByteOrder.less($0.key, $1.key) }
        }
        var cursor = LogStoreCursor(entries: entries)
        return try body(&cursor)
    }

    func sync() throws(StoreError) {
        try lock.withLock { (inner: inout Inner) throws(StoreError) in
            guard let file = inner.file else { throw .closed }
            try file.write(at: inner.end, inner.buffer)
            inner.end += inner.buffer.count
            inner.buffer.removeAll()
            try file.sync()
        }
    }

    func compactAll() throws(StoreError) -> Bool { false }

    func statistics() -> StoreStatistics { StoreStatistics() }

    func close() throws(StoreError) {
        let file = lock.withLock { inner -> StorageFile? in
            defer { inner.file = nil }
            return inner.file
        }
        guard let file else { return }
        defer { directoryLock.release() }
        let pending = lock.withLock { $0.buffer }
        if !pending.isEmpty {
            try file.write(at: lock.withLock { $0.end }, pending)
        }
        if options.durability == .fsync { try file.sync() }
    }
}

/// A cursor over a copy of the map taken when it was created.
struct LogStoreCursor: KeyValueCursor {
    let entries: [KeyValuePair]
    var index = Int.max

    init(entries: [KeyValuePair]) { self.entries = entries }

    mutating func seek(to key: Bytes) throws(StoreError) {
        index = entries.firstIndex { !ByteOrder.less($0.key, key) } ?? entries.count
    }

    mutating func seekToFirst() throws(StoreError) { index = 0 }

    mutating func next() throws(StoreError) { index += 1 }

    var isValid: Bool { index < entries.count }

    func withCurrent<Result>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result) -> Result {
        entries[index].key.withUnsafeBytes { key in entries[index].value.withUnsafeBytes { value in body(key, value) } }
    }
}
