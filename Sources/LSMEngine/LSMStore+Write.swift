import KVStore
import StorageIO
#if canImport(Glibc)
import Glibc
#endif

// The write path, in the order a put takes it (as leveldb's `DB::Put` is a
// `WriteBatch` of one): `LSMStore.put` checks the limits and hands a one-entry
// batch to `Engine.write`, which makes room (slowdown, stall or memtable
// rotation, or a pause to the delayed write rate), appends one `LogBatch` record to the `LogFile` (a framed record,
// `StorageIO/FramedRecords.swift`) and inserts the entries into the memtable,
// then in `fsync` mode waits for a group sync covering the record.

extension LSMStore {
    public func put(_ key: Bytes, _ value: Bytes) throws(StoreError) {
        try limits.validate(key: key.count, value: value.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try value.withBorrowedBytes { (v) throws(StoreError) in
                try engine.write(LogBatch.Entry(kind: .value, key: k, value: v))
            }
        }
    }

    public func delete(_ key: Bytes) throws(StoreError) {
        try limits.validate(key: key.count)
        try key.withBorrowedBytes { (k) throws(StoreError) in
            try engine.write(LogBatch.Entry(kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0)))
        }
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        try ensureOpen()
        try limits.validate(batch)
        if batch.isEmpty { return }
        try engine.write(batch)
    }
}

extension Engine {
    /// The write path of every put, delete and write batch: appends one batch
    /// record to the log and the entries to the memtable under the monitor, then
    /// (in `fsync` mode) waits for a group sync covering it.
    @inline(__always)
    func write<Entries: LogBatchEntries>(_ entries: Entries) throws(StoreError) {
        let count = entries.count
        let userBytes = entries.userBytes
        let recordBytes = userBytes + UInt64(count) * UInt64(LogBatch.maxEntryOverhead)
        if recordBytes > UInt64(FramedRecords.maxPayload) {
            throw .unsupported("a write batch of about \(recordBytes) bytes exceeds the LSM log record limit of \(FramedRecords.maxPayload) bytes; split it into smaller batches")
        }
        monitor.lock()
        var syncTarget: (log: UInt64, offset: Int)?
        do throws(StoreError) {
            try makeRoomForWrite(bytes: userBytes)
            let first = control.lastSequence + 1
            if let log = control.log {
                do throws(StoreError) {
                    let written = try log.records.append(type: LogBatch.recordType) { out in
                        out.appendFixed64(first)
                        out.appendVarint(count)
                        entries.encode(into: &out)
                    }
                    counters.logBytes.add(UInt64(written), ordering: .relaxed)
                } catch {
                    control.backgroundError = error
                    throw error
                }
                if durability == .fsync { syncTarget = (log.number, log.records.offset) }
            }
            entries.insert(into: control.memory, first: first)
            control.lastSequence = first + UInt64(count) - 1
            visibleSequence.store(control.lastSequence, ordering: .releasing)
        } catch {
            monitor.unlock()
            throw error
        }
        monitor.unlock()
        if let syncTarget { try groupSync(log: syncTarget.log, offset: syncTarget.offset) }
        counters.userBytes.add(userBytes, ordering: .relaxed)
    }

    /// With the monitor held: makes room for a write of `bytes` user bytes. While
    /// L0 holds `lsm.l0_slowdown_trigger` tables or more, or the pending compaction
    /// bytes pass `lsm.soft_pending_compaction_bytes`, writes are paced to a rate
    /// that falls from `lsm.delayed_write_rate` towards zero as the stop points
    /// near (RocksDB's write controller); a full memtable is rotated, or writers
    /// wait while the previous one is still being flushed, L0 holds
    /// `lsm.l0_stop_trigger` tables, or the pending bytes reach
    /// `lsm.hard_pending_compaction_bytes`. Time spent delayed or waiting counts
    /// as stall time, by cause.
    private func makeRoomForWrite(bytes: UInt64) throws(StoreError) {
        monitor.assertHeld()
        var delayed = false
        while true {
            if control.closing { throw .closed }
            if let error = control.backgroundError { throw error }
            let level0 = control.version.levels[0].count
            let pending = control.pendingCompactionBytes
            if !delayed, let (rate, cause) = Self.delayedRate(level0: level0, pending: pending, config: config) {
                delayed = true
                let now = Monotonic.nanoseconds()
                control.delayedUntil = max(control.delayedUntil, now) &+ UInt64(Double(bytes) * 1e9 / rate)
                let ahead = control.delayedUntil &- now
                if ahead >= 1_000_000 {
                    monitor.unlock()
                    usleep(UInt32(min(ahead / 1000, 1_000_000)))
                    monitor.lock()
                    counters.recordStall(cause, delay: true, nanoseconds: Monotonic.nanoseconds() - now)
                    continue
                }
            }
            if control.memory.approximateBytes < config.memtableBytes { return }
            let cause: StallCause
            if control.immutable != nil {
                cause = .memtables
            } else if level0 >= config.l0StopTrigger {
                cause = .level0Files
            } else if pending >= config.hardPendingCompactionBytes {
                cause = .pendingCompactionBytes
            } else {
                try rotateMemtable()
                continue
            }
            let start = Monotonic.nanoseconds()
            monitor.wait(nanoseconds: 100_000_000)
            counters.recordStall(cause, delay: false, nanoseconds: Monotonic.nanoseconds() - start)
        }
    }

    /// The rate writes are paced to now, and why; nil when they are not slowed.
    /// Between the slowdown and the stop point the rate falls linearly from
    /// `lsm.delayed_write_rate` to a `1 / (stop - slowdown)` part of it.
    static func delayedRate(level0: Int, pending: UInt64, config: LSMConfiguration) -> (Double, StallCause)? {
        var result: (Double, StallCause)?
        let full = Double(config.delayedWriteRate)
        if level0 >= config.l0SlowdownTrigger {
            let span = Double(max(1, config.l0StopTrigger - config.l0SlowdownTrigger))
            let left = Double(max(1, config.l0StopTrigger - level0))
            result = (full * min(1, left / span), .level0Files)
        }
        if pending >= config.softPendingCompactionBytes {
            let span = Double(config.hardPendingCompactionBytes - config.softPendingCompactionBytes)
            let left = max(span / 16, Double(config.hardPendingCompactionBytes) - Double(pending))
            let rate = full * min(1, left / max(1, span))
            if result == nil || rate < result!.0 { result = (rate, .pendingCompactionBytes) }
        }
        return result
    }

    /// With the monitor held: freezes the memtable and starts a new log.
    func rotateMemtable() throws(StoreError) {
        monitor.assertHeld()
        var newLog: LogFile?
        var logNumber: UInt64 = 0
        if durability != .none {
            if let spare = control.spareLog, spare.number > (control.log?.number ?? 0) {
                newLog = spare
                logNumber = spare.number
            } else {
                if let stale = control.spareLog { try? FileSystem.removeFile(stale.records.file.path) }
                logNumber = control.nextFileNumber
                control.nextFileNumber += 1
                newLog = try LogFile.create(in: directory, number: logNumber)
            }
            control.spareLog = nil
            if durability == .fsync, let old = control.log {
                try old.records.sync()
                counters.logSyncs.add(1, ordering: .relaxed)
                markSynced(log: old.number, offset: old.records.offset)
            }
        }
        control.immutable = control.memory
        control.immutableLog = control.log
        control.memory = MemTable(logNumber: logNumber)
        control.log = newLog
        publishReadState()
        monitor.broadcast()
    }

    /// With the monitor held: records that `log` is synced up to `offset`.
    private func markSynced(log: UInt64, offset: Int) {
        monitor.assertHeld()
        if log > control.syncedLog || (log == control.syncedLog && offset > control.syncedOffset) {
            control.syncedLog = log
            control.syncedOffset = offset
        }
    }

    /// Group commit: the first waiter syncs the log for everyone queued behind
    /// it; others wait until a sync covering their record has finished.
    private func groupSync(log: UInt64, offset: Int) throws(StoreError) {
        monitor.lock()
        defer { monitor.unlock() }
        while true {
            if control.syncedLog > log || (control.syncedLog == log && control.syncedOffset >= offset) { return }
            if let error = control.backgroundError { throw error }
            if control.syncing {
                monitor.wait()
                continue
            }
            guard let current = control.log else { throw .closed }
            control.syncing = true
            let end = current.records.offset
            monitor.unlock()
            var failure: StoreError?
            do { try current.records.sync() } catch { failure = error }
            monitor.lock()
            control.syncing = false
            if let failure {
                control.backgroundError = failure
                monitor.broadcast()
                throw failure
            }
            counters.logSyncs.add(1, ordering: .relaxed)
            markSynced(log: current.number, offset: end)
            monitor.broadcast()
        }
    }

    /// Syncs the live logs (the active one and the one awaiting flush).
    func syncLogs() throws(StoreError) {
        let logs: [LogFile] = monitor.withLock { [control.immutableLog, control.log].compactMap { $0 } }
        for log in logs {
            try log.records.sync()
            counters.logSyncs.add(1, ordering: .relaxed)
        }
    }

    /// Flushes both memtables to tables and waits until done.
    func flushAll() throws(StoreError) {
        monitor.lock()
        defer { monitor.unlock() }
        while control.immutable != nil {
            if let error = control.backgroundError { throw error }
            monitor.wait()
        }
        if control.memory.isEmpty { return }
        try rotateMemtable()
        while control.immutable != nil {
            if let error = control.backgroundError { throw error }
            monitor.wait()
        }
    }
}

/// The write-ahead log's record payload: one atomic batch of writes.
/// `sequence u64 | count varint | (kind u8 | key | [value])*`, lengths as varints.
/// A put or a delete is a batch of one (`LogBatch.Entry`), a `WriteBatch` a batch
/// of many; both reach the log and the memtable through `Engine.write`.
enum LogBatch {
    static let recordType: UInt8 = 1
    /// The most bytes an entry adds to its key and value: the kind byte and two varint lengths.
    static let maxEntryOverhead = 1 + 2 * 10

    /// One put or delete, over borrowed bytes.
    struct Entry: LogBatchEntries {
        var kind: EntryKind
        var key: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer

        @inline(__always) var count: Int { 1 }
        @inline(__always) var userBytes: UInt64 { UInt64(key.count + value.count) }

        @inline(__always)
        func encode(into out: inout Bytes) { LogBatch.appendEntry(kind: kind, key: key, value: value, into: &out) }

        @inline(__always)
        func insert(into memory: MemTable, first: UInt64) {
            memory.insert(sequence: first, kind: kind, key: key, value: value)
        }
    }

    /// Appends one entry in the payload's format; a tombstone has no value.
    @inline(__always)
    static func appendEntry(kind: EntryKind, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into out: inout Bytes) {
        out.append(kind.rawValue)
        out.appendLengthPrefixed(key)
        if kind == .value { out.appendLengthPrefixed(value) }
    }

    /// Decodes a batch payload and calls `apply` for each operation in order.
    static func decode(_ payload: UnsafeRawBufferPointer, path: String,
                       _ apply: (UInt64, EntryKind, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) throws(StoreError) -> (first: UInt64, count: Int) {
        var reader = ByteReader(payload)
        let sequence = reader.fixed64()
        let count = reader.length()
        var index = 0
        while index < count && !reader.failed {
            let kindByte = reader.byte()
            let keyLength = reader.length()
            let key = reader.slice(keyLength)
            var value = UnsafeRawBufferPointer(start: nil, count: 0)
            if kindByte == EntryKind.value.rawValue {
                let valueLength = reader.length()
                value = reader.slice(valueLength)
            } else if kindByte != EntryKind.tombstone.rawValue {
                reader.failed = true
            }
            if reader.failed { break }
            apply(sequence + UInt64(index), kindByte == 0 ? .value : .tombstone, key, value)
            index += 1
        }
        if reader.failed || !reader.isAtEnd {
            throw .corruption(path: path, reason: "log record with a valid checksum does not decode as a write batch")
        }
        return (sequence, count)
    }
}

/// The operations of one atomic write, as the log record and the memtable take them.
protocol LogBatchEntries {
    /// Operations in the batch; each takes one sequence number.
    var count: Int { get }
    /// User bytes as `docs/measurement.md` defines them.
    var userBytes: UInt64 { get }
    /// Appends the entries (after the batch header) in `LogBatch`'s format.
    func encode(into out: inout Bytes)
    /// Inserts the entries into `memory`, numbered from `first`.
    func insert(into memory: MemTable, first: UInt64)
}

extension WriteBatch: LogBatchEntries {
    func encode(into out: inout Bytes) {
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                key.withUnsafeBytes { k in
                    value.withUnsafeBytes { v in LogBatch.appendEntry(kind: .value, key: k, value: v, into: &out) }
                }
            case .delete(let key):
                key.withUnsafeBytes { k in
                    LogBatch.appendEntry(kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
                }
            }
        }
    }

    func insert(into memory: MemTable, first: UInt64) {
        var sequence = first
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                key.withUnsafeBytes { k in
                    value.withUnsafeBytes { v in memory.insert(sequence: sequence, kind: .value, key: k, value: v) }
                }
            case .delete(let key):
                key.withUnsafeBytes { k in
                    memory.insert(sequence: sequence, kind: .tombstone, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
            sequence += 1
        }
    }
}

/// One write-ahead log file (`NNNNNN.log`): its number and the framed-record
/// writer (`FramedRecords`) appending to it. Owned by one thread at a time (the
/// store's writer under its monitor).
struct LogFile {
    /// File number, used in its name and by group commit.
    let number: UInt64
    let records: FramedRecordWriter

    /// Creates the empty log `number` in `directory` and syncs the directory.
    static func create(in directory: String, number: UInt64) throws(StoreError) -> LogFile {
        let file = try StorageFile(path: LSMFileName.log(number).path(in: directory), mode: .createNew)
        try FileSystem.syncDirectory(directory)
        return LogFile(number: number, records: FramedRecordWriter(file: file, offset: 0))
    }
}
