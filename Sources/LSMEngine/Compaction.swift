import KVStore
import StorageIO
import Synchronization

/// One unit of compaction work, as a strategy (`CompactionStrategy.swift`) picks it:
/// the runs `inputs` of `level` (newest first) merged, with the tables `overlapping`
/// of the output level's run `outputRun`, into tables of that run.
struct CompactionPlan {
    var level: Int
    /// The next level, or `level` itself for a merge in place (at the last level, or within L0).
    var outputLevel: Int
    /// Runs of `level`, newest first: every L0 run (or, within L0, its newest flushed tables), every run of a tiered level, or one table of a leveled level.
    var inputs: [[TableFile]]
    /// The tables of the output level's run that the inputs' key range overlaps (leveled targets).
    var overlapping: [TableFile]
    /// The run the outputs join: the target level's run, the newest input run for a merge
    /// in place, or nil for a new run, numbered when a compaction thread takes the plan.
    var outputRun: UInt64?
    /// One run moving down without overlap: a manifest edit, no rewrite.
    var isTrivialMove: Bool { inputs.count == 1 && overlapping.isEmpty && outputLevel != level }
    var tables: [TableFile] { Array(inputs.joined()) + overlapping }
}

/// A key range of one compaction, merged by one thread: from `start` (inclusive;
/// nil: the first key) to `end` (exclusive; nil: past the last key).
struct KeyRange: Sendable {
    var start: Bytes?
    var end: Bytes?
}

extension Engine {
    // MARK: picking

    /// With the monitor held: the next compaction for an idle compaction thread, or nil,
    /// as the strategy of `lsm.compaction` picks it. A plan never shares a table with a
    /// running compaction, so compactions on different threads touch disjoint key ranges.
    func pickCompaction() -> CompactionPlan? {
        monitor.assertHeld()
        return strategy.pick(PickingContext(version: control.version, busy: control.compactingTables,
                                            level0Compacting: control.level0Compacting,
                                            compactionPointers: control.compactionPointers, config: config))
    }

    // MARK: running

    /// One compaction thread (`lsm.compaction_threads` of them): picks a plan,
    /// marks its tables busy, runs it, and repeats until the store closes.
    func compactionLoop() {
        while true {
            monitor.lock()
            var plan: CompactionPlan?
            while !control.closing && control.backgroundError == nil {
                if !control.manualCompaction, let found = pickCompaction() {
                    plan = found
                    break
                }
                monitor.wait()
            }
            guard var plan else {
                monitor.unlock()
                return
            }
            if plan.outputRun == nil {
                plan.outputRun = control.nextFileNumber
                control.nextFileNumber += 1
            }
            control.runningCompactions += 1
            for table in plan.tables { control.compactingTables.insert(table.number) }
            if plan.level == 0 && plan.outputLevel > 0 { control.level0Compacting = true }
            monitor.unlock()
            var failure: StoreError?
            var finished = false
            do {
                finished = try compact(plan)
            } catch {
                failure = error
            }
            monitor.withLock {
                control.runningCompactions -= 1
                for table in plan.tables { control.compactingTables.remove(table.number) }
                if plan.level == 0 && plan.outputLevel > 0 { control.level0Compacting = false }
                if finished { control.compactionPointers[plan.level] = plan.inputs.last?.last?.largest }
                if let failure, control.backgroundError == nil { control.backgroundError = failure }
                monitor.broadcast()
            }
            if failure != nil { return }
        }
    }

    /// Runs one planned compaction (its `outputRun` numbered); false when it was abandoned
    /// because the store is closing. Tombstones are dropped only when nothing older than
    /// the output can hold their keys: no level below, and no run of the output level
    /// besides the one the outputs join and the runs merged whole.
    @discardableResult
    func compact(_ plan: CompactionPlan) throws(StoreError) -> Bool {
        let wallStart = Monotonic.nanoseconds()
        let run = plan.outputRun!
        var edit = VersionEdit()
        for table in plan.inputs.joined() { edit.deleted.append((plan.level, table.number)) }
        for table in plan.overlapping { edit.deleted.append((plan.outputLevel, table.number)) }
        if plan.isTrivialMove {
            var opened: [UInt64: TableFile] = [:]
            for table in plan.inputs[0] {
                edit.added.append((plan.outputLevel, run, table.meta))
                opened[table.number] = table
            }
            try install(edit, opened: opened)
            counters.compaction.withLock { $0.trivialMoves += 1 }
            return true
        }
        var groups = plan.inputs
        if !plan.overlapping.isEmpty { groups.append(plan.overlapping) }
        let merged = Set(plan.tables.map(\.number))
        let dropTombstones = monitor.withLock {
            let version = control.version
            return version.isBottom(plan.outputLevel) && version.levels[plan.outputLevel].allSatisfy { other in
                other.id == run || other.tables.allSatisfy { merged.contains($0.number) }
            }
        }
        let ranges = subcompactionRanges(plan.tables)
        guard let outputs = try merge(groups: groups, dropTombstones: dropTombstones, ranges: ranges) else { return false }
        let inputs = plan.inputs.joined().map { (plan.level, $0) } + plan.overlapping.map { (plan.outputLevel, $0) }
        try install(edit, inputs: inputs, outputs: outputs.tables, level: plan.outputLevel, run: run,
                    wallStart: wallStart, cpuNanoseconds: outputs.cpu, subcompactions: ranges.count)
        return true
    }

    /// Splits a compaction over `tables` into up to `lsm.subcompactions` key ranges of
    /// about equal input bytes, cut at data-block boundaries of the inputs' indexes;
    /// one range when the inputs are under four output files.
    func subcompactionRanges(_ tables: [TableFile]) -> [KeyRange] {
        let inputBytes = tables.reduce(0) { $0 + $1.meta.size }
        let wanted = min(config.subcompactions, inputBytes / max(1, 2 * config.targetFileBytes))
        guard wanted > 1 else { return [KeyRange()] }
        var boundaries: [(key: Bytes, bytes: Int)] = []
        for table in tables { table.appendBlockBoundaries(into: &boundaries, every: 16) }
        boundaries.sort { ByteOrder.less($0.key, $1.key) }
        let total = boundaries.reduce(0) { $0 + $1.bytes }
        var ranges: [KeyRange] = []
        var start: Bytes?
        var accumulated = 0
        for boundary in boundaries {
            accumulated += boundary.bytes
            let due = total * (ranges.count + 1) / wanted
            guard ranges.count < wanted - 1, accumulated >= due else { continue }
            if let start, !ByteOrder.less(start, boundary.key) { continue }
            ranges.append(KeyRange(start: start, end: boundary.key))
            start = boundary.key
        }
        ranges.append(KeyRange(start: start, end: nil))
        return ranges
    }

    /// Installs a merge's `outputs` in run `run` of `level` (with `edit`'s deletions of
    /// `inputs`, each with its level) and adds the compaction to the totals: bytes read
    /// and written by compactions into `level`, bytes read from each input's level.
    private func install(_ edit: VersionEdit, inputs: [(level: Int, table: TableFile)], outputs: [TableFile], level: Int, run: UInt64,
                         wallStart: UInt64, cpuNanoseconds: UInt64, subcompactions: Int) throws(StoreError) {
        var edit = edit
        var opened: [UInt64: TableFile] = [:]
        for table in outputs {
            opened[table.number] = table
            edit.added.append((level, run, table.meta))
        }
        try install(edit, opened: opened)
        let readBytes = inputs.reduce(0) { $0 + UInt64($1.table.meta.size) }
        let writtenBytes = outputs.reduce(0) { $0 + UInt64($1.meta.size) }
        let wall = Monotonic.nanoseconds() - wallStart
        counters.compaction.withLock { totals in
            totals.count += 1
            totals.wallNanoseconds += wall
            totals.cpuNanoseconds += cpuNanoseconds
            totals.bytesRead[level] += readBytes
            totals.bytesWritten[level] += writtenBytes
            totals.countByLevel[level] += 1
            for input in inputs { totals.bytesReadFrom[input.level] += UInt64(input.table.meta.size) }
            if subcompactions > 1 { totals.subcompactions += UInt64(subcompactions) }
        }
    }

    /// Merges `groups` (newest first; each group a run of disjoint tables) into new
    /// tables cut at the target file size, one thread per range of `ranges` (the
    /// calling thread takes the first). Returns the tables in key order and the CPU
    /// time of all the threads, or nil when the store began closing meanwhile.
    /// Either every range's outputs are returned or none are left on disk.
    func merge(groups: [[TableFile]], dropTombstones: Bool, ranges: [KeyRange]) throws(StoreError) -> (tables: [TableFile], cpu: UInt64)? {
        let results = RangeResults(count: ranges.count)
        var threads: [OSThread] = []
        for index in ranges.indices.dropFirst() {
            let range = ranges[index]
            threads.append(OSThread.start { [self] in
                let outcome = Result { () throws(StoreError) in try mergeRange(groups: groups, dropTombstones: dropTombstones, range: range) }
                results.slots.withLock { $0[index] = outcome }
            })
        }
        let first = Result { () throws(StoreError) in try mergeRange(groups: groups, dropTombstones: dropTombstones, range: ranges[0]) }
        for thread in threads { thread.join() }
        let outcomes = results.slots.withLock { all in
            all[0] = first
            return all.map { $0! }
        }
        var metas: [TableMeta] = []
        var cpu: UInt64 = 0
        var failure: StoreError?
        var abandoned = false
        for outcome in outcomes {
            switch outcome {
            case .success(let part?):
                metas += part.metas
                cpu += part.cpu
            case .success(nil): abandoned = true
            case .failure(let error): if failure == nil { failure = error }
            }
        }
        if failure != nil || abandoned {
            abandon(nil, metas)
            if let failure { throw failure }
            return nil
        }
        do {
            if !metas.isEmpty { try FileSystem.syncDirectory(directory) }
            var tables: [TableFile] = []
            for meta in metas { tables.append(try TableFile(directory: directory, meta: meta)) }
            return (tables, cpu)
        } catch {
            abandon(nil, metas)
            throw error
        }
    }

    /// Merges the part of `groups` inside `range` into finished (synced) tables and
    /// returns them with this thread's CPU time; nil when the store began closing.
    private func mergeRange(groups: [[TableFile]], dropTombstones: Bool, range: KeyRange) throws(StoreError) -> (metas: [TableMeta], cpu: UInt64)? {
        let cpuStart = ThreadCPUTime.nanoseconds()
        let levels = groups.map { LevelIterator(tables: $0, cache: nil, counters: counters) }
        var iterator = MergingIterator(memories: [], levels: levels)
        var finished: [TableMeta] = []
        var builder: TableBuilder?
        do {
            if let start = range.start {
                try start.withBorrowedBytes { (key) throws(StoreError) in try iterator.seek(key) }
            } else {
                try iterator.seekToFirst()
            }
            var steps = 0
            while iterator.isValid {
                if let end = range.end, end.withUnsafeBytes({ compareKeys(iterator.key, $0) >= 0 }) { break }
                steps += 1
                if steps & 4095 == 0 && monitor.withLock({ control.closing }) {
                    abandon(builder, finished)
                    return nil
                }
                if !(dropTombstones && iterator.kind == .tombstone) {
                    if builder == nil {
                        builder = try TableBuilder(directory: directory, number: newFileNumber(),
                                                   blockSize: config.blockBytes, bitsPerKey: config.bloomBitsPerKey)
                    }
                    try builder!.add(key: iterator.key, kind: iterator.kind, value: iterator.value)
                    if builder!.estimatedSize >= config.targetFileBytes {
                        finished.append(try builder!.finish())
                        builder = nil
                    }
                }
                try iterator.next()
            }
            if let open = builder {
                finished.append(try open.finish())
                builder = nil
            }
            return (finished, ThreadCPUTime.nanoseconds() - cpuStart)
        } catch {
            abandon(builder, finished)
            throw error
        }
    }

    /// Removes the outputs of a merge that will not be installed: the open table and the finished ones.
    private func abandon(_ builder: TableBuilder?, _ finished: [TableMeta]) {
        builder?.abandon()
        for meta in finished { try? FileSystem.removeFile(LSMFileName.table(meta.number).path(in: directory)) }
    }

    /// Flushes the memtables, then merges every run into one run at the
    /// deepest non-empty level (at least L1), dropping tombstones.
    func compactEverything() throws(StoreError) {
        try flushAll()
        monitor.lock()
        while control.manualCompaction { monitor.wait() }
        control.manualCompaction = true
        while control.runningCompactions > 0 { monitor.wait() }
        let version = control.version
        monitor.unlock()
        defer {
            monitor.withLock {
                control.manualCompaction = false
                monitor.broadcast()
            }
        }
        let deepest = max(1, version.deepestLevel)
        let groups = version.levels.flatMap { runs in runs.map(\.tables) }
        if groups.isEmpty { return }
        let wallStart = Monotonic.nanoseconds()
        var inputs: [(level: Int, table: TableFile)] = []
        var edit = VersionEdit()
        for (level, runs) in version.levels.enumerated() {
            for table in runs.flatMap(\.tables) {
                inputs.append((level, table))
                edit.deleted.append((level, table.number))
            }
        }
        let ranges = subcompactionRanges(inputs.map(\.table))
        guard let merged = try merge(groups: groups, dropTombstones: true, ranges: ranges) else { return }
        try install(edit, inputs: inputs, outputs: merged.tables, level: deepest, run: newFileNumber(), wallStart: wallStart,
                    cpuNanoseconds: merged.cpu, subcompactions: ranges.count)
    }
}

/// The outcome of each range of a compaction, filled in by the threads that merge them.
final class RangeResults: Sendable {
    let slots: Mutex<[Result<(metas: [TableMeta], cpu: UInt64)?, StoreError>?]>

    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
}
