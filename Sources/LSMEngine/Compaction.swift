import KVStore
import StorageIO
import Synchronization

/// One unit of compaction work: tables of `level` (newest first for L0)
/// merged with the overlapping tables of `level + 1`.
struct CompactionPlan {
    var level: Int
    var inputs: [TableFile]
    var overlapping: [TableFile]
    var outputLevel: Int { level + 1 }
    /// One table moving down without overlap: a manifest edit, no rewrite.
    var isTrivialMove: Bool { inputs.count == 1 && overlapping.isEmpty }
    var tables: [TableFile] { inputs + overlapping }
}

/// A key range of one compaction, merged by one thread: from `start` (inclusive;
/// nil: the first key) to `end` (exclusive; nil: past the last key).
struct KeyRange: Sendable {
    var start: Bytes?
    var end: Bytes?
}

extension Engine {
    // MARK: picking

    /// With the monitor held: the next compaction for an idle compaction thread, or nil.
    ///
    /// Levels are scored as RocksDB scores them: L0 by its table count over
    /// `lsm.l0_compaction_trigger`, Ln by the bytes not already being compacted
    /// over its target. Levels scoring at least 1 are tried highest first, except
    /// that L0 goes first once writes outrun it (twice `lsm.l0_compaction_trigger`
    /// tables, or the slowdown trigger if lower), and that no L1 table is then taken for an L1
    /// compaction (an L0 compaction needs every L1 table its range overlaps).
    /// A plan never shares a table with a running compaction, so compactions on
    /// different threads touch disjoint key ranges of each level.
    func pickCompaction() -> CompactionPlan? {
        monitor.assertHeld()
        let version = control.version
        let busy = control.compactingTables
        var candidates: [(score: Double, level: Int)] = []
        let level0 = version.levels[0]
        if !control.level0Compacting && !level0.isEmpty {
            let score = Double(level0.count) / Double(config.l0CompactionTrigger)
            if score >= 1 { candidates.append((score, 0)) }
        }
        for level in 1..<(Version.levelCount - 1) {
            let bytes = version.levels[level].reduce(0) { busy.contains($1.number) ? $0 : $0 + $1.meta.size }
            let score = Double(bytes) / config.targetBytes(level: level)
            if score > 1 { candidates.append((score, level)) }
        }
        let level0Urgent = level0.count >= min(2 * config.l0CompactionTrigger, config.l0SlowdownTrigger)
        candidates.sort { $0.score > $1.score }
        var level0Waiting = false
        if level0Urgent, let index = candidates.firstIndex(where: { $0.level == 0 }) {
            candidates.insert(candidates.remove(at: index), at: 0)
            level0Waiting = true
        }
        for candidate in candidates {
            if candidate.level == 0 {
                if let plan = planLevel0(version, busy: busy) { return plan }
            } else if !(candidate.level == 1 && level0Waiting) {
                if let plan = planLevel(candidate.level, version, busy: busy) { return plan }
            }
        }
        return nil
    }

    /// All L0 tables and the L1 tables their range overlaps, unless one of those is busy.
    private func planLevel0(_ version: Version, busy: Set<UInt64>) -> CompactionPlan? {
        let inputs = version.levels[0]
        var smallest = inputs[0].smallest, largest = inputs[0].largest
        for table in inputs {
            if busy.contains(table.number) { return nil }
            if ByteOrder.less(table.smallest, smallest) { smallest = table.smallest }
            if ByteOrder.less(largest, table.largest) { largest = table.largest }
        }
        let overlapping = version.overlapping(level: 1, smallest: smallest, largest: largest)
        if overlapping.contains(where: { busy.contains($0.number) }) { return nil }
        return CompactionPlan(level: 0, inputs: inputs, overlapping: overlapping)
    }

    /// One table of `level` and the tables of the next level it overlaps, none busy:
    /// the first such table after the level's compaction pointer (round-robin through the key space).
    private func planLevel(_ level: Int, _ version: Version, busy: Set<UInt64>) -> CompactionPlan? {
        let tables = version.levels[level]
        guard !tables.isEmpty else { return nil }
        var first = 0
        if let pointer = control.compactionPointers[level],
           let next = tables.firstIndex(where: { ByteOrder.less(pointer, $0.smallest) }) {
            first = next
        }
        for step in 0..<tables.count {
            let chosen = tables[(first + step) % tables.count]
            if busy.contains(chosen.number) { continue }
            let overlapping = version.overlapping(level: level + 1, smallest: chosen.smallest, largest: chosen.largest)
            if overlapping.contains(where: { busy.contains($0.number) }) { continue }
            return CompactionPlan(level: level, inputs: [chosen], overlapping: overlapping)
        }
        return nil
    }

    /// With the monitor held: estimated bytes compaction must still rewrite to bring
    /// every level under its target (RocksDB's `estimated_pending_compaction_bytes`):
    /// L0's bytes once it reaches its trigger, and for each deeper level its excess
    /// over the target times (size ratio + 1), the next level's share of rewriting it.
    static func pendingCompactionBytes(_ version: Version, config: LSMConfiguration) -> UInt64 {
        var pending = 0.0
        if version.levels[0].count >= config.l0CompactionTrigger { pending += Double(version.bytes(level: 0)) }
        for level in 1..<(Version.levelCount - 1) {
            let excess = Double(version.bytes(level: level)) - config.targetBytes(level: level)
            if excess > 0 { pending += excess * Double(config.levelSizeRatio + 1) }
        }
        return UInt64(pending)
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
            guard let plan else {
                monitor.unlock()
                return
            }
            control.runningCompactions += 1
            for table in plan.tables { control.compactingTables.insert(table.number) }
            if plan.level == 0 { control.level0Compacting = true }
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
                if plan.level == 0 { control.level0Compacting = false }
                if finished { control.compactionPointers[plan.level] = plan.inputs.last?.largest }
                if let failure, control.backgroundError == nil { control.backgroundError = failure }
                monitor.broadcast()
            }
            if failure != nil { return }
        }
    }

    /// Runs one planned compaction; false when it was abandoned because the store is closing.
    @discardableResult
    func compact(_ plan: CompactionPlan) throws(StoreError) -> Bool {
        let wallStart = Monotonic.nanoseconds()
        var edit = VersionEdit()
        for table in plan.inputs { edit.deleted.append((plan.level, table.number)) }
        for table in plan.overlapping { edit.deleted.append((plan.outputLevel, table.number)) }
        if plan.isTrivialMove {
            let table = plan.inputs[0]
            edit.added.append((plan.outputLevel, table.meta))
            try install(edit, opened: [table.number: table])
            counters.compaction.withLock { $0.trivialMoves += 1 }
            return true
        }
        var groups: [[TableFile]] = []
        if plan.level == 0 {
            for table in plan.inputs { groups.append([table]) }
        } else {
            groups.append(plan.inputs)
        }
        if !plan.overlapping.isEmpty { groups.append(plan.overlapping) }
        let dropTombstones = monitor.withLock { control.version.isBottom(plan.outputLevel) }
        let ranges = subcompactionRanges(plan.tables)
        guard let merged = try merge(groups: groups, dropTombstones: dropTombstones, ranges: ranges) else { return false }
        try install(edit, inputs: plan.tables, outputs: merged.tables, level: plan.outputLevel,
                    wallStart: wallStart, cpuNanoseconds: merged.cpu, subcompactions: ranges.count)
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

    /// Installs a merge's `outputs` at `level` (with `edit`'s deletions of `inputs`)
    /// and adds the compaction to the totals of that output level.
    private func install(_ edit: VersionEdit, inputs: [TableFile], outputs: [TableFile], level: Int,
                         wallStart: UInt64, cpuNanoseconds: UInt64, subcompactions: Int) throws(StoreError) {
        var edit = edit
        var opened: [UInt64: TableFile] = [:]
        for table in outputs {
            opened[table.number] = table
            edit.added.append((level, table.meta))
        }
        try install(edit, opened: opened)
        let readBytes = inputs.reduce(0) { $0 + UInt64($1.meta.size) }
        let writtenBytes = outputs.reduce(0) { $0 + UInt64($1.meta.size) }
        let wall = Monotonic.nanoseconds() - wallStart
        counters.compaction.withLock { totals in
            totals.count += 1
            totals.wallNanoseconds += wall
            totals.cpuNanoseconds += cpuNanoseconds
            totals.bytesRead[level] += readBytes
            totals.bytesWritten[level] += writtenBytes
            totals.countByLevel[level] += 1
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

    /// Flushes the memtables, then merges every table into one run at the
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
        var deepest = 1
        for level in 1..<Version.levelCount where !version.levels[level].isEmpty { deepest = level }
        var groups: [[TableFile]] = version.levels[0].map { [$0] }
        for level in 1..<Version.levelCount where !version.levels[level].isEmpty { groups.append(version.levels[level]) }
        if groups.isEmpty { return }
        let wallStart = Monotonic.nanoseconds()
        let inputs = Array(groups.joined())
        let ranges = subcompactionRanges(inputs)
        guard let merged = try merge(groups: groups, dropTombstones: true, ranges: ranges) else { return }
        var edit = VersionEdit()
        for (level, tables) in version.levels.enumerated() {
            for table in tables { edit.deleted.append((level, table.number)) }
        }
        try install(edit, inputs: inputs, outputs: merged.tables, level: deepest, wallStart: wallStart,
                    cpuNanoseconds: merged.cpu, subcompactions: ranges.count)
    }
}

/// The outcome of each range of a compaction, filled in by the threads that merge them.
final class RangeResults: Sendable {
    let slots: Mutex<[Result<(metas: [TableMeta], cpu: UInt64)?, StoreError>?]>

    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
}
