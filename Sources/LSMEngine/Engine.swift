import KVStore
import StorageIO
import Synchronization

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
    /// Compactions running now, the tables they hold, and whether one of them is L0's.
    var runningCompactions = 0
    var compactingTables = Set<UInt64>()
    var level0Compacting = false
    /// Per level, the largest key of the last compaction from it (round-robin picking).
    var compactionPointers = [Bytes?](repeating: nil, count: Version.levelCount)
    /// The strategy's `pendingCompactionBytes` of `version`, updated with it.
    var pendingCompactionBytes: UInt64 = 0
    /// Paced writes: the time by which the bytes let through so far are due at the delayed rate.
    var delayedUntil: UInt64 = 0
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

/// The engine behind `LSMStore`: its state, the background threads' start and
/// stop, and version changes. Its write path is in `LSMStore+Write.swift`, its
/// read path in `LSMStore+Read.swift`, flushing in `Flush.swift` and compaction
/// in `Compaction.swift`. Background threads hold the engine, not the store, so
/// dropping the store can close it.
final class Engine: Sendable {
    let directory: String
    let durability: Durability
    let config: LSMConfiguration
    /// Picks compactions for `config.compaction`.
    let strategy: any CompactionStrategy
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
        self.strategy = config.compaction.strategy
        self.cache = BlockCache(capacity: config.blockCacheBytes)
        self.control = control
        self.manifest = manifest
        self.readState = Mutex(ReadState(memory: control.memory, immutable: nil, version: control.version))
        self.visibleSequence = Atomic(control.lastSequence)
        cache.reserve(control.version.metadataBytes)
        control.pendingCompactionBytes = strategy.pendingCompactionBytes(control.version, config: config)
    }

    func startBackground() {
        var started = [OSThread.start { [self] in flushLoop() }]
        for _ in 0..<config.compactionThreads { started.append(OSThread.start { [self] in compactionLoop() }) }
        threads.withLock { $0 = started }
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
            control.pendingCompactionBytes = strategy.pendingCompactionBytes(next, config: config)
            update(control)
            publishReadState()
            monitor.broadcast()
        }
        cache.reserve(next.metadataBytes)
        let removed = Set(edit.deleted.map(\.number)).subtracting(edit.added.map(\.meta.number))
        for runs in base.levels {
            for table in runs.flatMap(\.tables) where removed.contains(table.number) { table.markObsolete() }
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
