import KVStore
import StorageIO

/// Writing a memtable as an L0 table: the flush thread's loop (normal
/// operation) and `Flush.writeTable`, which recovery also uses for the
/// memtables it rebuilds from the logs.
enum Flush {
    /// Writes `memory` as table `number` (synced, not yet in any version); nil when it is empty.
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

extension Engine {
    /// The flush thread: waits for an immutable memtable, writes it, installs it.
    func flushLoop() {
        while true {
            monitor.lock()
            while control.immutable == nil && !control.closing { monitor.wait() }
            guard !control.aborting, control.backgroundError == nil, let immutable = control.immutable else {
                monitor.unlock()
                return
            }
            let number = control.nextFileNumber
            control.nextFileNumber += 1
            let liveLog = control.memory.logNumber
            monitor.unlock()
            do {
                try prepareSpareLog()
                try flush(immutable, number: number, liveLog: liveLog)
            } catch {
                monitor.withLock {
                    control.backgroundError = error
                    monitor.broadcast()
                }
                return
            }
        }
    }

    /// Creates the next log file ahead of the next rotation (flush thread only).
    /// A rotation uses it only when its number is above the active log's.
    private func prepareSpareLog() throws(StoreError) {
        guard durability != .none else { return }
        let number: UInt64? = monitor.withLock {
            guard control.spareLog == nil else { return nil }
            let number = control.nextFileNumber
            control.nextFileNumber += 1
            return number
        }
        guard let number else { return }
        let log = try LogFile.create(in: directory, number: number)
        monitor.withLock { control.spareLog = log }
    }

    /// Writes the immutable memtable as an L0 table and installs it; the logs
    /// before `liveLog` are then no longer needed and are deleted.
    private func flush(_ table: MemTable, number: UInt64, liveLog: UInt64) throws(StoreError) {
        var edit = VersionEdit()
        edit.logNumber = durability == .none ? 0 : liveLog
        var opened: [UInt64: TableFile] = [:]
        if let meta = try Flush.writeTable(table, directory: directory, number: number, config: config) {
            try FileSystem.syncDirectory(directory)
            opened[meta.number] = try TableFile(directory: directory, meta: meta)
            edit.added.append((0, meta.number, meta))
            counters.flushBytes.add(UInt64(meta.size), ordering: .relaxed)
        }
        counters.flushes.add(1, ordering: .relaxed)
        try install(edit, opened: opened) { control in
            control.immutable = nil
            control.immutableLog = nil
        }
        if durability != .none { removeLogs(before: liveLog) }
    }

    /// Deletes log files numbered below `number`.
    private func removeLogs(before number: UInt64) {
        guard let names = try? FileSystem.list(directory) else { return }
        for name in names {
            if case .log(let value) = LSMFileName.parse(name), value < number {
                try? FileSystem.removeFile(directory + "/" + name)
            }
        }
    }
}
