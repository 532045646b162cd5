import KVStore
import StorageIO

/// Opening a directory: read the manifest, open its tables, remove files no
/// version lists, replay the live logs into tables, and start a fresh log and
/// a fresh manifest.
enum Recovery {
    static func open(directory: String, durability: Durability, config: LSMConfiguration, isNew: Bool) throws(StoreError) -> Engine {
        var state = Manifest.State()
        if !isNew { state = try Manifest.load(directory: directory) }

        var opened: [UInt64: TableFile] = [:]
        var levels: [[TableFile]] = Array(repeating: [], count: Version.levelCount)
        for (level, metas) in state.tables.enumerated() {
            for meta in metas {
                let table = try TableFile(directory: directory, meta: meta)
                opened[meta.number] = table
                levels[level].append(table)
            }
        }
        var version = Version(levels: levels).applying(VersionEdit(), opened: [:])
        var nextFile = state.nextFileNumber

        // Remove leftovers: tables no version lists, logs already flushed, a half-written manifest.
        var liveLogs: [UInt64] = []
        for name in try FileSystem.list(directory) {
            let path = directory + "/" + name
            if name == Manifest.temporaryName {
                try FileSystem.removeFile(path)
            } else if name.hasSuffix(".sst"), let number = UInt64(name.dropLast(4)) {
                nextFile = max(nextFile, number + 1)
                if opened[number] == nil { try FileSystem.removeFile(path) }
            } else if name.hasSuffix(".log"), let number = UInt64(name.dropLast(4)) {
                nextFile = max(nextFile, number + 1)
                if number < state.logNumber { try FileSystem.removeFile(path) } else { liveLogs.append(number) }
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
            if let meta = try writeTable(memory, directory: directory, number: number, config: config) {
                opened[meta.number] = try TableFile(directory: directory, meta: meta)
                edit.added.append((0, meta))
            }
            memory = MemTable(logNumber: 0)
        }
        for number in liveLogs {
            let path = directory + "/" + Engine.logName(number)
            let file = try StorageFile(path: path, mode: .readOnly)
            let contents = try file.read(at: 0, count: try file.size())
            try contents.withBorrowedBytes { (raw) throws(StoreError) in
                let parsed = try RecordFormat.readAll(raw, from: 0, validTypes: LogBatch.recordType...LogBatch.recordType, path: path)
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
        var log: RecordWriter?
        let logNumber = nextFile
        nextFile += 1
        let snapshot = version.snapshotEdit(logNumber: logNumber, nextFileNumber: nextFile)
        let (writer, _) = try Manifest.rewrite(directory: directory, edit: snapshot)
        for number in liveLogs { try FileSystem.removeFile(directory + "/" + Engine.logName(number)) }
        if durability != .none {
            let file = try StorageFile(path: directory + "/" + Engine.logName(logNumber), mode: .createNew)
            try FileSystem.syncDirectory(directory)
            log = RecordWriter(file: file, number: logNumber, offset: 0)
        }

        let control = ControlState(memory: MemTable(logNumber: durability == .none ? 0 : logNumber), log: log, version: version,
                                   lastSequence: lastSequence, nextFileNumber: nextFile)
        return Engine(directory: directory, durability: durability, config: config, control: control,
                      manifest: ManifestState(writer: writer, logNumber: logNumber))
    }

    /// Writes a recovered memtable as a table; nil when it is empty.
    static func writeTable(_ memory: MemTable, directory: String, number: UInt64, config: LSMConfiguration) throws(StoreError) -> TableMeta? {
        var iterator = MemTableIterator(table: memory, snapshot: .max)
        iterator.seekToFirst()
        guard iterator.isValid else { return nil }
        let builder = try TableBuilder(directory: directory, number: number, blockSize: config.blockBytes, bitsPerKey: config.bloomBitsPerKey)
        do {
            while iterator.isValid {
                try builder.add(key: iterator.key, kind: iterator.kind, value: iterator.value)
                iterator.next()
            }
            return try builder.finish()
        } catch {
            builder.abandon()
            throw error
        }
    }
}
