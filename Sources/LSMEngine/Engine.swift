import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Mutable control state of an open engine. Every field is read and written
/// only while holding `Engine.monitor`.
///
/// `@unchecked Sendable`: guarded by the monitor, as stated above.
final class ControlState: @unchecked Sendable {
    var memory: MemTable
    var immutable: MemTable?
    var log: LogFile?
    /// The log of the immutable memtable, kept so `sync()` can reach it.
    var immutableLog: LogFile?
    /// An empty log created ahead of time by the flush thread, so a rotation
    /// does not create a file and sync the directory while writers wait.
    var spareLog: LogFile?
    var version: Version
    var lastSequence: UInt64
    var nextFileNumber: UInt64
    var closing = false
    var aborting = false
    var backgroundError: StoreError?
    var syncing = false
    var syncedLog: UInt64 = 0
    var syncedOffset = 0
    var compactionRunning = false
    var manualCompaction = false

    init(memory: MemTable, log: LogFile?, version: Version, lastSequence: UInt64, nextFileNumber: UInt64) {
        self.memory = memory
        self.log = log
        self.version = version
        self.lastSequence = lastSequence
        self.nextFileNumber = nextFileNumber
    }
}

/// The manifest writer and the log number it last recorded. Guarded by `Engine.manifestMonitor`.
///
/// `@unchecked Sendable`: only touched while holding that monitor.
final class ManifestState: @unchecked Sendable {
    var writer: FramedRecordWriter
    var logNumber: UInt64

    init(writer: FramedRecordWriter, logNumber: UInt64) {
        self.writer = writer
        self.logNumber = logNumber
    }
}

/// The engine behind `LSMStore`: write path, read path, background flush and
/// compaction threads. Background threads hold the engine, not the store, so
/// dropping the store can close it.
final class Engine: Sendable {
    let directory: String
    let durability: Durability
    let config: LSMConfiguration
    let counters = EngineCounters()
    let cache: BlockCache
    let monitor = Monitor()
    let control: ControlState
    let manifestMonitor = Monitor()
    let manifest: ManifestState
    let readState: Mutex<ReadState>
    let visibleSequence: Atomic<UInt64>
    private let threads = Mutex<[OSThread]>([])

    init(directory: String, durability: Durability, config: LSMConfiguration, control: ControlState, manifest: ManifestState) {
        self.directory = directory
        self.durability = durability
        self.config = config
        self.cache = BlockCache(capacity: config.blockCacheBytes)
        self.control = control
        self.manifest = manifest
        self.readState = Mutex(ReadState(memory: control.memory, immutable: nil, version: control.version))
        self.visibleSequence = Atomic(control.lastSequence)
        cache.reserve(control.version.metadataBytes)
    }

    func startBackground() {
        let flusher = OSThread.start { [self] in flushLoop() }
        let compactor = OSThread.start { [self] in compactionLoop() }
        threads.withLock { $0 = [flusher, compactor] }
    }

    /// Asks the background threads to stop (finishing a pending flush unless
    /// aborting) and waits for them.
    func stopBackground(abort: Bool) {
        monitor.withLock {
            control.closing = true
            if abort { control.aborting = true }
            monitor.broadcast()
        }
        let running = threads.withLock { threads -> [OSThread] in
            let copy = threads
            threads = []
            return copy
        }
        for thread in running { thread.join() }
    }

    /// With the monitor held: publishes the current memtables and version to readers.
    func publishReadState() {
        monitor.assertHeld()
        let state = ReadState(memory: control.memory, immutable: control.immutable, version: control.version)
        readState.withLock { $0 = state }
    }

    @inline(__always)
    func currentReadState() -> ReadState { readState.withLock { $0 } }

    // MARK: write path

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
            try makeRoomForWrite()
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

    /// With the monitor held: waits or rotates the memtable until a write fits;
    /// time spent waiting counts as stall time.
    private func makeRoomForWrite() throws(StoreError) {
        monitor.assertHeld()
        var delayed = false
        while true {
            if let error = control.backgroundError { throw error }
            if control.closing { throw .closed }
            let level0 = control.version.levels[0].count
            if !delayed && level0 >= config.l0SlowdownTrigger && level0 < config.l0StopTrigger {
                delayed = true
                let start = Monotonic.nanoseconds()
                monitor.unlock()
                usleep(1000)
                monitor.lock()
                counters.stallNanoseconds.add(Monotonic.nanoseconds() - start, ordering: .relaxed)
                counters.slowdowns.add(1, ordering: .relaxed)
                continue
            }
            if control.memory.approximateBytes < config.memtableBytes { return }
            if control.immutable != nil || level0 >= config.l0StopTrigger {
                if level0 >= config.l0StopTrigger { counters.stops.add(1, ordering: .relaxed) }
                let start = Monotonic.nanoseconds()
                monitor.wait(nanoseconds: 100_000_000)
                counters.stallNanoseconds.add(Monotonic.nanoseconds() - start, ordering: .relaxed)
                continue
            }
            try rotateMemtable()
        }
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

    // MARK: read path

    /// Finds the newest version of `key`; calls `body` with its value.
    @inline(__always)
    func lookup<Result>(_ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result? {
        counters.pointLookups.add(1, ordering: .relaxed)
        let sequence = visibleSequence.load(ordering: .acquiring)
        let state = currentReadState()
        if let node = state.memory.find(key, sequence: sequence) {
            counters.memtableHits.add(1, ordering: .relaxed)
            return MemTable.kind(node) == .tombstone ? nil : body(MemTable.value(node))
        }
        if let immutable = state.immutable, let node = immutable.find(key, sequence: sequence) {
            counters.memtableHits.add(1, ordering: .relaxed)
            return MemTable.kind(node) == .tombstone ? nil : body(MemTable.value(node))
        }
        let hash = KeyHash.hash(key)
        var probes: UInt64 = 0
        var negatives: UInt64 = 0
        defer {
            counters.tableProbes.add(probes, ordering: .relaxed)
            if negatives > 0 { counters.bloomNegatives.add(negatives, ordering: .relaxed) }
        }
        let levels = state.version.levels
        for table in levels[0] {
            let inRange = table.smallest.withUnsafeBytes { compareKeys($0, key) <= 0 }
                && table.largest.withUnsafeBytes { compareKeys($0, key) >= 0 }
            guard inRange else { continue }
            if let hit = try probe(table, key, hash: hash, probes: &probes, negatives: &negatives) { return hit.value(body) }
        }
        for level in 1..<levels.count {
            let tables = levels[level]
            if tables.isEmpty { continue }
            var low = 0, high = tables.count
            while low < high {
                let middle = (low + high) >> 1
                if tables[middle].largest.withUnsafeBytes({ compareKeys($0, key) < 0 }) { low = middle + 1 } else { high = middle }
            }
            guard low < tables.count else { continue }
            let table = tables[low]
            guard table.smallest.withUnsafeBytes({ compareKeys($0, key) <= 0 }) else { continue }
            if let hit = try probe(table, key, hash: hash, probes: &probes, negatives: &negatives) { return hit.value(body) }
        }
        return nil
    }

    /// Looks `key` up in one table whose key range holds it, past its bloom filter.
    @inline(__always)
    private func probe(_ table: TableFile, _ key: UnsafeRawBufferPointer, hash: UInt64,
                       probes: inout UInt64, negatives: inout UInt64) throws(StoreError) -> TableHit? {
        probes += 1
        guard table.mayContain(hash: hash) else {
            negatives += 1
            return nil
        }
        if let hit = try table.find(key, cache: cache, counters: counters) {
            return TableHit(block: hit.block, kind: hit.kind, range: hit.value)
        }
        counters.bloomFalsePositives.add(1, ordering: .relaxed)
        return nil
    }

    // MARK: version changes

    /// Applies `edit` to the current version: appends it to the manifest,
    /// syncs, then publishes the new version (running `update` under the
    /// monitor) and marks removed tables obsolete.
    func install(_ edit: VersionEdit, opened: [UInt64: TableFile], update: (ControlState) -> Void = { _ in }) throws(StoreError) {
        manifestMonitor.lock()
        defer { manifestMonitor.unlock() }
        var edit = edit
        let (base, nextFile) = monitor.withLock { (control.version, control.nextFileNumber) }
        edit.nextFileNumber = nextFile
        if let logNumber = edit.logNumber { manifest.logNumber = logNumber }
        let next = base.applying(edit, opened: opened)
        // A failed append or sync may leave the edit on disk but not in memory (or half of it):
        // the store stops taking writes rather than append later edits after it.
        do throws(StoreError) {
            let written = try manifest.writer.append(type: VersionEdit.recordType) { edit.encode(into: &$0) }
            try manifest.writer.sync()
            counters.manifestBytes.add(UInt64(written), ordering: .relaxed)
            if manifest.writer.offset > 4 << 20 {
                let (writer, bytes) = try ManifestLog.rewrite(directory: directory,
                                                           edit: next.snapshotEdit(logNumber: manifest.logNumber, nextFileNumber: nextFile))
                manifest.writer = writer
                counters.manifestBytes.add(UInt64(bytes), ordering: .relaxed)
            }
        } catch {
            monitor.withLock {
                if control.backgroundError == nil { control.backgroundError = error }
                monitor.broadcast()
            }
            throw error
        }
        monitor.withLock {
            control.version = next
            update(control)
            publishReadState()
            monitor.broadcast()
        }
        cache.reserve(next.metadataBytes)
        let removed = Set(edit.deleted.map(\.number)).subtracting(edit.added.map(\.meta.number))
        for tables in base.levels {
            for table in tables where removed.contains(table.number) { table.markObsolete() }
        }
    }

    /// Takes a new file number.
    func newFileNumber() -> UInt64 {
        monitor.withLock {
            let number = control.nextFileNumber
            control.nextFileNumber += 1
            return number
        }
    }
}

/// The newest entry for a key in one table: a value or a tombstone, inside a cached block.
struct TableHit {
    var block: Block
    var kind: EntryKind
    var range: Range<Int>

    /// `body` applied to the value, or nil for a tombstone.
    @inline(__always)
    func value<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        kind == .tombstone ? nil : withExtendedLifetime(block) { body(UnsafeRawBufferPointer(rebasing: block.bytes[range])) }
    }
}
