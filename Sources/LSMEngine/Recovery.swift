import KVStore
import StorageIO

/// Opening a directory: read the manifest, open its tables, remove files no
/// version lists, replay the live logs into tables, and start a fresh log and
/// a fresh manifest.
enum Recovery {
    static func open(directory: String, durability: Durability, config: LSMConfiguration, isNew: Bool) throws(StoreError) -> Engine {
        var state = ManifestLog.State()
        if !isNew { state = try ManifestLog.load(directory: directory) }

        // Checked before anything is removed: a manifest that lost edits must leave every file as it was.
        let names = try FileSystem.list(directory)
        try checkManifestIsComplete(state, names: names, directory: directory)
        let present = Set(names)

        var opened: [UInt64: TableFile] = [:]
        var listed = VersionEdit()
        for (level, tables) in state.tables.enumerated() {
            for (run, meta) in tables {
                let name = LSMFileName.table(meta.number).name
                guard present.contains(name) else {
                    throw .corruption(path: LSMFileName.manifest.path(in: directory),
                                      reason: "the manifest names table \(name), which is missing (the manifest lost the edit that removed it, or the table was deleted)")
                }
                let table = try TableFile(directory: directory, meta: meta)
                opened[meta.number] = table
                listed.added.append((level, run, meta))
            }
        }
        var version = Version.empty.applying(listed, opened: opened)
        var nextFile = state.nextFileNumber

        // Remove leftovers: tables no version lists, logs already flushed, a half-written manifest.
        var liveLogs: [UInt64] = []
        for name in names {
            let path = directory + "/" + name
            switch LSMFileName.parse(name) {
            case .manifestTemporary:
                try FileSystem.removeFile(path)
            case .table(let number):
                nextFile = max(nextFile, number + 1)
                if opened[number] == nil { try FileSystem.removeFile(path) }
            case .log(let number):
                nextFile = max(nextFile, number + 1)
                if number < state.logNumber { try FileSystem.removeFile(path) } else { liveLogs.append(number) }
            case .manifest, nil:
                break
            }
        }
        liveLogs.sort()

        // Replay live logs in order; full memtables become L0 tables as in normal operation.
        var edit = VersionEdit()
        var memory = MemTable(logNumber: 0)
        var lastSequence: UInt64 = 0
        func flushRecovered() throws(StoreError) {
            let number = nextFile
            nextFile += 1
            if let meta = try Flush.writeTable(memory, directory: directory, number: number, config: config) {
                opened[meta.number] = try TableFile(directory: directory, meta: meta)
                edit.added.append((0, meta.number, meta))
            }
            memory = MemTable(logNumber: 0)
        }
        for number in liveLogs {
            let path = LSMFileName.log(number).path(in: directory)
            let file = try StorageFile(path: path, mode: .readOnly)
            let contents = try file.read(at: 0, count: try file.size())
            try contents.withBorrowedBytes { (raw) throws(StoreError) in
                let parsed = try FramedRecords.scan(raw, types: LogBatch.recordType...LogBatch.recordType, path: path)
                for record in parsed.records {
                    let batch = try LogBatch.decode(UnsafeRawBufferPointer(rebasing: raw[record.payload]), path: path) { sequence, kind, key, value in
                        memory.insert(sequence: sequence, kind: kind, key: key, value: value)
                    }
                    lastSequence = max(lastSequence, batch.first + UInt64(batch.count))
                    if memory.approximateBytes >= config.memtableBytes { try flushRecovered() }
                }
            }
        }
        if !memory.isEmpty { try flushRecovered() }
        if !edit.added.isEmpty {
            try FileSystem.syncDirectory(directory)
            version = version.applying(edit, opened: opened)
        }

        // A fresh manifest naming a new log as the first live one, then that log.
        // (Manifest first, so even a crash during the first open of a new
        // directory leaves it recognizable as an LSM database.)
        var log: LogFile?
        let logNumber = nextFile
        nextFile += 1
        let snapshot = version.snapshotEdit(logNumber: logNumber, nextFileNumber: nextFile)
        let (writer, _) = try ManifestLog.rewrite(directory: directory, edit: snapshot)
        for number in liveLogs { try FileSystem.removeFile(LSMFileName.log(number).path(in: directory)) }
        if durability != .none {
            log = try LogFile.create(in: directory, number: logNumber)
        }

        let control = ControlState(memory: MemTable(logNumber: durability == .none ? 0 : logNumber), log: log, version: version,
                                   lastSequence: lastSequence, nextFileNumber: nextFile)
        return Engine(directory: directory, durability: durability, config: config, control: control,
                      manifest: ManifestState(writer: writer, logNumber: logNumber))
    }

    /// Refuses a manifest that lost synced edits (cut short, or an older copy put back).
    ///
    /// The engine removes a log only after a synced manifest edit names a newer log as the
    /// first live one (flush), so the manifest's first live log missing while a newer log
    /// exists proves that edit was lost: replaying the newer log over the older tables would
    /// serve stale values, and the tables the lost edits added would be removed as leftovers.
    /// Leftovers of a crash never look like this: a table written by an interrupted flush or
    /// compaction is simply not named yet (its data is still in a live log or in the tables it
    /// was merged from), and a log created after the last edit is newer than the first live
    /// one, which is still there. Log number 0 means no log (durability `none`).
    static func checkManifestIsComplete(_ state: ManifestLog.State, names: [String], directory: String) throws(StoreError) {
        guard state.logNumber > 0 else { return }
        let logs = names.compactMap { name -> UInt64? in
            if case .log(let number) = LSMFileName.parse(name) { number } else { nil }
        }
        guard !logs.contains(state.logNumber), let newer = logs.filter({ $0 > state.logNumber }).min() else { return }
        throw .corruption(path: LSMFileName.manifest.path(in: directory),
                          reason: "the manifest names log \(LSMFileName.log(state.logNumber).name) as the first live one, but it is gone while the newer log \(LSMFileName.log(newer).name) exists: the manifest lost edits")
    }
}
