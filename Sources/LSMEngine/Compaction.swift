import KVStore
import StorageIO

/// One unit of compaction work: tables of `level` (newest first for L0)
/// merged with the overlapping tables of `level + 1`.
struct CompactionPlan {
    var level: Int
    var inputs: [TableFile]
    var overlapping: [TableFile]
    var outputLevel: Int { level + 1 }
    /// One table moving down without overlap: a manifest edit, no rewrite.
    var isTrivialMove: Bool { inputs.count == 1 && overlapping.isEmpty }
}

extension Engine {
    /// Chooses the level whose size (L0: table count) most exceeds its target.
    /// `pointers` remembers, per level, where the last compaction ended so
    /// successive compactions walk the key space round-robin.
    func pickCompaction(_ version: Version, pointers: [Bytes?]) -> CompactionPlan? {
        var bestLevel = -1
        var bestScore = 1.0
        let level0Score = Double(version.levels[0].count) / Double(config.l0CompactionTrigger)
        if level0Score >= bestScore {
            bestScore = level0Score
            bestLevel = 0
        }
        for level in 1..<(Version.levelCount - 1) {
            let score = Double(version.bytes(level: level)) / config.targetBytes(level: level)
            if score > bestScore {
                bestScore = score
                bestLevel = level
            }
        }
        guard bestLevel >= 0 else { return nil }
        if bestLevel == 0 {
            let inputs = version.levels[0]
            var smallest = inputs[0].smallest, largest = inputs[0].largest
            for table in inputs {
                if ByteOrder.less(table.smallest, smallest) { smallest = table.smallest }
                if ByteOrder.less(largest, table.largest) { largest = table.largest }
            }
            return CompactionPlan(level: 0, inputs: inputs, overlapping: version.overlapping(level: 1, smallest: smallest, largest: largest))
        }
        let tables = version.levels[bestLevel]
        var chosen = tables[0]
        if let pointer = pointers[bestLevel], let next = tables.first(where: { ByteOrder.less(pointer, $0.smallest) }) {
            chosen = next
        }
        return CompactionPlan(level: bestLevel, inputs: [chosen],
                              overlapping: version.overlapping(level: bestLevel + 1, smallest: chosen.smallest, largest: chosen.largest))
    }

    func compactionLoop() {
        var pointers = [Bytes?](repeating: nil, count: Version.levelCount)
        while true {
            monitor.lock()
            var plan: CompactionPlan?
            while !control.closing && control.backgroundError == nil {
                if !control.manualCompaction, let found = pickCompaction(control.version, pointers: pointers) {
                    plan = found
                    break
                }
                monitor.wait()
            }
            guard let plan else {
                monitor.unlock()
                return
            }
            control.compactionRunning = true
            monitor.unlock()
            var failure: StoreError?
            do {
                if try compact(plan) { pointers[plan.level] = plan.inputs.last?.largest }
            } catch {
                failure = error
            }
            monitor.withLock {
                control.compactionRunning = false
                if let failure { control.backgroundError = failure }
                monitor.broadcast()
            }
            if failure != nil { return }
        }
    }

    /// Runs one planned compaction; false when it was abandoned because the store is closing.
    @discardableResult
    func compact(_ plan: CompactionPlan) throws(StoreError) -> Bool {
        let wallStart = Monotonic.nanoseconds()
        let cpuStart = threadCPUNanoseconds()
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
        guard let outputs = try merge(groups: groups, dropTombstones: dropTombstones) else { return false }
        try install(edit, inputs: plan.inputs + plan.overlapping, outputs: outputs, level: plan.outputLevel,
                    wallStart: wallStart, cpuStart: cpuStart)
        return true
    }

    /// Installs a merge's `outputs` at `level` (with `edit`'s deletions of `inputs`)
    /// and adds the compaction to the totals of that output level.
    private func install(_ edit: VersionEdit, inputs: [TableFile], outputs: [TableFile], level: Int,
                         wallStart: UInt64, cpuStart: UInt64) throws(StoreError) {
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
        let cpu = threadCPUNanoseconds() - cpuStart
        counters.compaction.withLock { totals in
            totals.count += 1
            totals.wallNanoseconds += wall
            totals.cpuNanoseconds += cpu
            totals.bytesRead[level] += readBytes
            totals.bytesWritten[level] += writtenBytes
            totals.countByLevel[level] += 1
        }
    }

    /// Merges `groups` (newest first; each group a run of disjoint tables)
    /// into new tables cut at the target file size. Returns nil when the
    /// store began closing meanwhile (partial outputs are removed).
    func merge(groups: [[TableFile]], dropTombstones: Bool) throws(StoreError) -> [TableFile]? {
        let levels = groups.map { LevelIterator(tables: $0, cache: nil, counters: counters) }
        var iterator = MergingIterator(memories: [], levels: levels)
        var finished: [TableMeta] = []
        var builder: TableBuilder?
        do {
            try iterator.seekToFirst()
            var steps = 0
            while iterator.isValid {
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
            if !finished.isEmpty { try FileSystem.syncDirectory(directory) }
            var tables: [TableFile] = []
            for meta in finished { tables.append(try TableFile(directory: directory, meta: meta)) }
            return tables
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
        while control.compactionRunning { monitor.wait() }
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
        let cpuStart = threadCPUNanoseconds()
        guard let outputs = try merge(groups: groups, dropTombstones: true) else { return }
        var edit = VersionEdit()
        for (level, tables) in version.levels.enumerated() {
            for table in tables { edit.deleted.append((level, table.number)) }
        }
        try install(edit, inputs: Array(groups.joined()), outputs: outputs, level: deepest, wallStart: wallStart, cpuStart: cpuStart)
    }
}
