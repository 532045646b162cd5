import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The store's writes. Every put, delete and batch is one commit: under the writer lock
/// the tree is changed copy-on-write (`TreeWriter+Insertion.swift`, `+Deletion.swift`),
/// the commit's record is appended to the redo log (`WriteAheadLog`, below; read back
/// by `Recovery.swift`) and the new root is published to readers (`TreeWriter.commit`).
///
/// Group commit under `fsync`, as the LSM engine's: the commit's record is written under
/// the writer lock, the sync happens after it. The first committer to find no sync in
/// flight syncs the log for every record written so far (`LogSyncGate`), then publishes
/// the newest commit it covered; committers whose record a sync in flight does not cover
/// wait for it and the next sync covers them all. A commit is published only once its
/// record is durable, so no reader sees a write a power loss could take back.
extension BTreeStore {
    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count, value: value.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try commit({ (writer) throws(StoreError) in try writer.put(k, v) }, log: { WriteAheadLog.appendPut(key: k, value: v, into: &$0) })
            }
        }
        userBytes.add(UInt64(key.count + value.count), ordering: .relaxed)
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try ensureOpen()
        try limits.validate(key: key.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try commit({ (writer) throws(StoreError) in try writer.delete(k) }, log: { WriteAheadLog.appendDelete(key: k, into: &$0) })
        }
        userBytes.add(UInt64(key.count), ordering: .relaxed)
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        guard !batch.isEmpty else { return }
        try commit({ (writer) throws(StoreError) in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    try key.withBorrowedBytes { (k) throws(StoreError) in
                        try value.withBorrowedBytes { (v) throws(StoreError) in try writer.put(k, v) }
                    }
                case .delete(let key):
                    try key.withBorrowedBytes { (k) throws(StoreError) in _ = try writer.delete(k) }
                }
            }
        }, log: { out in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    key.withUnsafeBytes { k in value.withUnsafeBytes { v in WriteAheadLog.appendPut(key: k, value: v, into: &out) } }
                case .delete(let key):
                    key.withUnsafeBytes { WriteAheadLog.appendDelete(key: $0, into: &out) }
                }
            }
        })
        userBytes.add(batch.userBytes, ordering: .relaxed)
    }

    /// Runs one commit: `apply` changes the tree, `encode` appends its operations to the log record.
    func commit(_ apply: (TreeWriter) throws(StoreError) -> Void, log encode: (inout Bytes) -> Void) throws(StoreError) {
        if backpressure.load(ordering: .relaxed) { waitForCheckpoint() }
        let txn = try writer.withLock { (writer) throws(StoreError) -> UInt64 in
            if let failure = writerFailure.withLock({ $0 }) { throw failure }
            if writer.wantsCheckpoint && !writer.checkpointInProgress {
                do throws(StoreError) {
                    if let job = try writer.beginCheckpoint(forceSync: false) { startCheckpoint(job) }
                } catch {
                    writerFailure.withLock { $0 = error }
                    throw error
                }
            }
            writer.begin()
            do throws(StoreError) {
                try apply(writer)
                try writer.log(encode)
            } catch {
                writer.abort()
                throw error
            }
            writer.commit()
            backpressure.store(writer.wantsBackpressure, ordering: .relaxed)
            copyStatistics(writer)
            return writer.lastTxn
        }
        if options.durability == .fsync { try syncLog(through: txn) }
        commits.add(1, ordering: .relaxed)
    }

    /// Returns once commit `txn`'s record is durable and the commit published: syncs the log
    /// when no sync is in flight, else waits for the one in flight and, if it did not cover
    /// `txn`, for the next. A failed sync fails the store: what reached the log is unknown.
    private func syncLog(through txn: UInt64) throws(StoreError) {
        let gate = logSyncGate
        gate.monitor.lock()
        defer { gate.monitor.unlock() }
        while true {
            if gate.syncedTxn >= txn { return }
            if let failure = gate.failure { throw failure }
            if gate.syncing {
                gate.monitor.wait()
                continue
            }
            gate.syncing = true
            gate.monitor.unlock()
            // Every commit up to `covered` has written its record to `log` (or, before a log
            // switch, to the previous file, which the switch synced).
            let (covered, log) = writer.withLock { writer in
                (Snapshot(txn: writer.lastTxn, root: writer.root, height: writer.height), writer.wal?.activeFile)
            }
            var failure: StoreError?
            do throws(StoreError) {
                try log?.sync()
            } catch {
                failure = error
                writerFailure.withLock { $0 = error }
            }
            if failure == nil {
                registry.publish(covered)
                logSyncs.add(1, ordering: .relaxed)
            }
            gate.monitor.lock()
            gate.syncing = false
            if let failure { gate.failure = failure } else { gate.syncedTxn = covered.txn }
            gate.monitor.broadcast()
        }
    }
}

/// The group-commit state under `fsync` (`BTreeStore.syncLog`): the newest synced
/// commit and whether a sync is in flight, guarded by `monitor`.
///
/// `@unchecked Sendable`: the fields are only touched with the monitor held.
final class LogSyncGate: @unchecked Sendable {
    let monitor = Monitor()
    /// Every commit up to this one is durable and published.
    var syncedTxn: UInt64
    var syncing = false
    /// The error of a failed sync; every later commit reports it.
    var failure: StoreError?

    init(syncedTxn: UInt64) { self.syncedTxn = syncedTxn }
}

/// The redo log between checkpoints: two files used in turn, each a log of framed
/// records (`FramedRecords`, `docs/record-format.md`).
///
/// One record (type 1) is one commit. Payload: `u64 lsn, u32 salt, operations`, where
/// the LSN is the commit's transaction id and an operation is `u8 kind (1 put, 2 delete),
/// u32 keyLength, [u32 valueLength], key, [value]`. After checkpoint number `s` (whose
/// meta page covers every commit up to its LSN) records go to file `s % 2`, truncated
/// first and given a new random salt; the other file keeps the commits between the
/// previous checkpoint and this one, so a fall-back to the older meta page still finds
/// every commit after it. The salt tells this use of a file from an earlier one: a power
/// loss can undo the truncation while keeping later bytes, and records of the earlier
/// use (another salt) end the log like a torn tail instead of reading as damage.
/// Used under the writer lock only, so its state skips the runtime exclusivity checks.
final class WriteAheadLog {
    static let fileNames = ["btree.wal.0", "btree.wal.1"]
    static let recordType: UInt8 = 1
    /// Payload bytes before the operations: the LSN and the salt.
    static let payloadHeader = 12

    let files: [StorageFile]
    private let writers: [FramedRecordWriter]
    /// Whether each commit's record is synced before the commit is acknowledged (`fsync`).
    let synced: Bool
    @exclusivity(unchecked) private(set) var active: Int
    @exclusivity(unchecked) private var salt: UInt32

    /// The salt's top bit: set when the file's records are synced before their commits are
    /// acknowledged, so that recovery can tell a lost unsynced log (allowed) from a lost synced one.
    static let syncedSaltBit: UInt32 = 1 << 31

    init(files: [StorageFile], active: Int, synced: Bool) {
        self.files = files
        self.writers = files.map { FramedRecordWriter(file: $0, offset: 0) }
        self.synced = synced
        self.active = active
        self.salt = Self.newSalt(synced: synced)
    }

    /// 31 random bits, and `syncedSaltBit` when `synced`.
    static func newSalt(synced: Bool) -> UInt32 {
        UInt32.random(in: .min ... .max) & ~syncedSaltBit | (synced ? syncedSaltBit : 0)
    }

    /// Bytes in the active file.
    var activeBytes: Int { writers[active].offset }

    /// Bytes written to both files.
    var bytesWritten: UInt64 { writers.reduce(0) { $0 + $1.bytesWritten } }

    /// The file records go to now (its writer), for a sync outside the writer lock.
    var activeFile: FramedRecordWriter { writers[active] }

    /// Starts an empty log for the commits after checkpoint `seq`: file `seq % 2`, truncated, with a new salt.
    /// With `syncingPrevious` the file records went to until now is synced first, so that a sync
    /// of the new file covers every record written before it (group commit).
    func restart(afterCheckpoint seq: UInt64, syncingPrevious: Bool = false) throws(StoreError) {
        let index = Int(seq % 2)
        if syncingPrevious && index != active { try writers[active].sync() }
        try writers[index].truncate(to: 0)
        active = index
        salt = Self.newSalt(synced: synced)
    }

    /// Empties both files and syncs them: recovery found commits it cannot reach (after a gap of
    /// unsynced commits), and they must not be read again once new commits reuse their numbers.
    func discardAll() throws(StoreError) {
        for writer in writers {
            try writer.truncate(to: 0)
            try writer.sync()
        }
    }

    /// Writes the record of commit `lsn`, whose operations `encode` appends
    /// (`appendPut`, `appendDelete`); the record reaches the OS before this returns.
    func append(lsn: UInt64, _ encode: (inout Bytes) -> Void) throws(StoreError) {
        try writers[active].append(type: Self.recordType) { out in
            Self.appendInteger(lsn, to: &out)
            Self.appendInteger(salt, to: &out)
            encode(&out)
        }
    }

    static func appendPut(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(1)
        appendInteger(UInt32(key.count), to: &out)
        appendInteger(UInt32(value.count), to: &out)
        out.append(contentsOf: key)
        out.append(contentsOf: value)
    }

    static func appendDelete(key: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(2)
        appendInteger(UInt32(key.count), to: &out)
        out.append(contentsOf: key)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout Bytes) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Syncs the active file.
    func sync() throws(StoreError) { try writers[active].sync() }

}
