import Dispatch
import KVStore
import StorageIO
import Synchronization

/// The store's writes. Every put, delete and batch is one commit: under the writer lock
/// the tree is changed copy-on-write (`TreeWriter+Insertion.swift`, `+Deletion.swift`),
/// the commit's record is appended to the redo log (`WriteAheadLog`, below; read back
/// by `Recovery.swift`), synced under `fsync`, and the new root is published to readers
/// (`TreeWriter.commit`).
///
/// Group commit under `fsync`, as leveldb's writer queue: committers line up; the first
/// in line leads, applying the operations of everyone queued (at most `maxGroup`) as one
/// commit with one log record and one `fdatasync`, then wakes them. Whoever arrives while
/// a group is being written waits and forms the next group. A group whose operations
/// fail is undone and its members are committed one at a time, so that one member's
/// error is not another's. Other modes commit one at a time (no sync to share).
extension BTreeStore {
    /// Most commits one group carries.
    static let maxGroup = 128

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
        if options.durability == .fsync {
            try groupCommit(apply, log: encode)
        } else {
            if backpressure.load(ordering: .relaxed) { waitForCheckpoint() }
            try writer.withLock { (writer) throws(StoreError) in
                try prepareCommit(writer)
                try runCommit(writer, apply, log: encode)
                finishCommit(writer)
            }
        }
        commits.add(1, ordering: .relaxed)
    }

    /// Queues the commit and waits until a leader (this thread, when first in line) has written it.
    private func groupCommit(_ apply: (TreeWriter) throws(StoreError) -> Void, log encode: (inout Bytes) -> Void) throws(StoreError) {
        // The closures stay on this thread's stack: the leader runs them while this thread
        // waits, and the request leaves the queue before this call returns.
        let failure = withoutActuallyEscaping(apply) { apply in
            withoutActuallyEscaping(encode) { encode -> StoreError? in
                let request = PendingCommit(apply: apply, encode: encode)
                let leads = commitQueue.withLock { queue in
                    queue.append(request)
                    return queue.count == 1
                }
                if !leads {
                    request.turn.wait()
                    if request.done { return request.failure }
                }
                leadGroup()
                return request.failure
            }
        }
        if let failure { throw failure }
    }

    /// Writes the group at the head of the queue (whose first request is the caller's) and
    /// wakes its members, then the next in line, who leads the next group.
    private func leadGroup() {
        if backpressure.load(ordering: .relaxed) { waitForCheckpoint() }
        let group = writer.withLock { writer -> [PendingCommit] in
            // Taken under the writer lock: whoever queued while the previous group was written joins.
            let group = commitQueue.withLock { Array($0.prefix(Self.maxGroup)) }
            do throws(StoreError) {
                try prepareCommit(writer)
            } catch {
                for request in group { request.failure = error }
                return group
            }
            runGroup(writer, group)
            finishCommit(writer)
            return group
        }
        for request in group { request.release() }
        let next = commitQueue.withLock { queue in
            queue.removeFirst(group.count)
            return queue.first
        }
        for request in group.dropFirst() {
            request.done = true
            request.turn.signal()
        }
        next?.turn.signal()
    }

    /// Commits `group` as one commit, or, when that fails before its record is synced, one at a time.
    private func runGroup(_ writer: TreeWriter, _ group: [PendingCommit]) {
        if group.count > 1 {
            do throws(StoreError) {
                try runCommit(writer, { (writer) throws(StoreError) in
                    for request in group { try request.apply(writer) }
                }, log: { out in
                    for request in group { request.encode(into: &out) }
                })
                return
            } catch {
                if writerFailure.withLock({ $0 }) != nil {
                    for request in group { request.failure = error }
                    return
                }
            }
        }
        for request in group {
            do throws(StoreError) {
                try runCommit(writer, { (writer) throws(StoreError) in try request.apply(writer) }, log: { request.encode(into: &$0) })
            } catch {
                request.failure = error
            }
        }
    }

    /// Under the writer lock, before a commit: refuses it after a failed write, starts a due checkpoint.
    private func prepareCommit(_ writer: TreeWriter) throws(StoreError) {
        if let failure = writerFailure.withLock({ $0 }) { throw failure }
        guard writer.wantsCheckpoint && !writer.checkpointInProgress else { return }
        do throws(StoreError) {
            if let job = try writer.beginCheckpoint(forceSync: false) { startCheckpoint(job) }
        } catch {
            writerFailure.withLock { $0 = error }
            throw error
        }
    }

    /// Applies, logs and (under `fsync`) syncs one commit, then publishes it; a failure undoes
    /// the commit. A failed sync also fails the store: what reached the log is unknown.
    private func runCommit(_ writer: TreeWriter, _ apply: (TreeWriter) throws(StoreError) -> Void,
                           log encode: (inout Bytes) -> Void) throws(StoreError) {
        writer.begin()
        do throws(StoreError) {
            try apply(writer)
            try writer.log(encode)
        } catch {
            writer.abort()
            throw error
        }
        if options.durability == .fsync {
            do throws(StoreError) {
                try writer.syncLog()
            } catch {
                writer.abort()
                writerFailure.withLock { $0 = error }
                throw error
            }
        }
        writer.commit()
    }

    /// Under the writer lock, after a commit: backpressure and statistics.
    private func finishCommit(_ writer: TreeWriter) {
        backpressure.store(writer.wantsBackpressure, ordering: .relaxed)
        copyStatistics(writer)
    }
}

/// A commit waiting in the group-commit queue. Its closures are borrowed from the
/// waiting caller (`withoutActuallyEscaping`): the leader drops them before it wakes the caller.
///
/// `@unchecked Sendable`: the leader writes the fields before it signals `turn`, and
/// the waiting owner reads them after the wait returns.
final class PendingCommit: @unchecked Sendable {
    private var applyBody: ((TreeWriter) throws(StoreError) -> Void)?
    private var encodeBody: ((inout Bytes) -> Void)?
    var failure: StoreError?
    var done = false
    /// Signalled when the commit is written (`done`) or when its owner is to lead the next group.
    let turn = DispatchSemaphore(value: 0)

    init(apply: @escaping (TreeWriter) throws(StoreError) -> Void, encode: @escaping (inout Bytes) -> Void) {
        self.applyBody = apply
        self.encodeBody = encode
    }

    func apply(_ writer: TreeWriter) throws(StoreError) { try applyBody?(writer) }

    func encode(into out: inout Bytes) { encodeBody?(&out) }

    /// Drops the borrowed closures; call before waking the owner.
    func release() {
        applyBody = nil
        encodeBody = nil
    }
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
final class WriteAheadLog {
    static let fileNames = ["btree.wal.0", "btree.wal.1"]
    static let recordType: UInt8 = 1
    /// Payload bytes before the operations: the LSN and the salt.
    static let payloadHeader = 12

    let files: [StorageFile]
    private let writers: [FramedRecordWriter]
    private(set) var active: Int
    private var salt: UInt32

    init(files: [StorageFile], active: Int) {
        self.files = files
        self.writers = files.map { FramedRecordWriter(file: $0, offset: 0) }
        self.active = active
        self.salt = UInt32.random(in: .min ... .max)
    }

    /// Bytes in the active file.
    var activeBytes: Int { writers[active].offset }

    /// Bytes written to both files.
    var bytesWritten: UInt64 { writers.reduce(0) { $0 + $1.bytesWritten } }

    /// Starts an empty log for the commits after checkpoint `seq`: file `seq % 2`, truncated, with a new salt.
    func restart(afterCheckpoint seq: UInt64) throws(StoreError) {
        let index = Int(seq % 2)
        try writers[index].truncate(to: 0)
        active = index
        salt = UInt32.random(in: .min ... .max)
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
