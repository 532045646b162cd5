import KVStore

/// The shape of the levels (`lsm.compaction`), and the strategy that picks compactions for it.
enum CompactionStyle: String, Sendable, CaseIterable {
    /// One run per level; a level over its target merges one table into the overlapping tables of the next.
    case leveled
    /// Up to `lsm.size_ratio` runs per level; a level with that many merges them into one new run of the next.
    case tiered
    /// Dostoevsky's lazy leveling: tiered at every level but the deepest, leveled at the deepest.
    case lazyLeveling = "lazy-leveling"

    var strategy: any CompactionStrategy {
        switch self {
        case .leveled: LeveledStrategy()
        case .tiered: TieredStrategy(leveledBottom: false)
        case .lazyLeveling: TieredStrategy(leveledBottom: true)
        }
    }
}

/// Picks the next compaction for one style of levels. Only picking differs
/// between strategies: every plan is run by the same merge, output and install
/// step (`Engine.compact`), and read by the same run-by-run lookup.
protocol CompactionStrategy: Sendable {
    /// The next compaction, or nil when none is due or every due one would take a busy table.
    func pick(_ context: PickingContext) -> CompactionPlan?
    /// Estimated bytes compaction must still rewrite to bring the levels back into shape
    /// (RocksDB's `estimated_pending_compaction_bytes`), for the write slowdown.
    func pendingCompactionBytes(_ version: Version, config: LSMConfiguration) -> UInt64
}

/// What a strategy picks from, copied from the engine's control state under its monitor.
struct PickingContext {
    let version: Version
    /// Tables that running compactions hold; a plan never takes one.
    let busy: Set<UInt64>
    let level0Compacting: Bool
    /// Per level, the largest key of the last compaction from it (leveled round-robin).
    let compactionPointers: [Bytes?]
    let config: LSMConfiguration

    static let lastLevel = Version.levelCount - 1
    /// The run id a leveled merge into an empty level uses, so that compactions running at
    /// once into that level join one run instead of starting one each.
    static let leveledRun: UInt64 = 0

    /// L0's score (runs over `lsm.l0_compaction_trigger`) when it is due.
    var level0Score: Double? {
        let score = Double(version.levels[0].count) / Double(config.l0CompactionTrigger)
        return score >= 1 ? score : nil
    }

    /// L0 goes first once writes outrun it: twice its compaction trigger, or the slowdown trigger if lower.
    var level0Urgent: Bool { version.levels[0].count >= min(2 * config.l0CompactionTrigger, config.l0SlowdownTrigger) }

    func isBusy(_ tables: [TableFile]) -> Bool { tables.contains { busy.contains($0.number) } }

    /// L1's score above which it goes before an urgent L0 even when L0's score is higher.
    static let level1DrainScore = 2.0

    /// Tries `candidates` highest score first and returns the first plan `plan` makes.
    /// Once L0 is urgent it goes first, unless L1 is further over its target than L0 is
    /// over its trigger, or more than `level1DrainScore` times its target: merging L0
    /// into an L1 that large rewrites all of L1 each time, and while L0 stays urgent (an
    /// overwrite's steady state, where intra-L0 merges keep L0 urgent) L1 would
    /// never drain into L2. While L0 waits to merge down, L1 compacts only in that case
    /// and only when no compaction holds an L1 table (each such plan takes a table's
    /// worth or more of L1's excess; the other threads keep L0's count down by intra-L0
    /// merges); otherwise no plan is made from L1, as it would hold L1 tables the L0
    /// merge needs.
    func first(of candidates: [(score: Double, level: Int)], _ plan: (Int) -> CompactionPlan?) -> CompactionPlan? {
        var ordered = candidates.sorted { $0.score > $1.score }
        var level1Allowed = true
        if level0Urgent, let index = ordered.firstIndex(where: { $0.level == 0 }) {
            let level0 = ordered.remove(at: index)
            let level1First = ordered.first { $0.level == 1 }.map { $0.score > min(level0.score, Self.level1DrainScore) } ?? false
            if level1First, let level1 = ordered.firstIndex(where: { $0.level == 1 }) {
                ordered.insert(level0, at: level1 + 1)
            } else {
                ordered.insert(level0, at: 0)
            }
            if !level0Compacting {
                level1Allowed = level1First && !isBusy(version.tables(level: 1))
            }
        }
        for candidate in ordered where candidate.level != 1 || level1Allowed {
            if let found = plan(candidate.level) { return found }
        }
        return nil
    }

    /// L0's compaction: every L0 run merged into the next level (into its run when
    /// `leveledTarget`), or, when that cannot start (L0 is already merging down, or a
    /// table it needs is busy), an intra-L0 merge.
    func planLevel0(leveledTarget: Bool) -> CompactionPlan? {
        if !level0Compacting, let plan = planWholeLevel(0, leveledTarget: leveledTarget) { return plan }
        return planIntraLevel0()
    }

    /// An intra-L0 merge (as RocksDB's): while L0 is urgent and cannot merge down, its
    /// newest flushed tables — the runs of one table that no compaction holds, newer than
    /// every other kind of run, at least `lsm.l0_compaction_trigger` of them — merge into
    /// one L0 run in their place (its id the newest input's, so L0 stays newest first).
    /// The table count that paces and stops writes falls without waiting for L1; a run an
    /// intra-L0 merge made is not merged again within L0.
    func planIntraLevel0() -> CompactionPlan? {
        guard level0Urgent else { return nil }
        let newest = version.levels[0].prefix { $0.tables.count == 1 && !isBusy($0.tables) }
        guard newest.count >= config.l0CompactionTrigger, let first = newest.first else { return nil }
        return CompactionPlan(level: 0, outputLevel: 0, inputs: newest.map(\.tables), overlapping: [], outputRun: first.id)
    }

    /// Every run of `level` merged into one run: in place at the last level (or when
    /// `inPlace`), else into the next level — into its run when `leveledTarget` (with
    /// the tables of it the inputs overlap), as a new run otherwise. Nil when a table
    /// it needs is busy, or a leveled target holds more than one run.
    func planWholeLevel(_ level: Int, leveledTarget: Bool, inPlace: Bool = false) -> CompactionPlan? {
        let runs = version.levels[level]
        guard !runs.isEmpty, !runs.contains(where: { isBusy($0.tables) }) else { return nil }
        let inputs = runs.map(\.tables)
        if inPlace || level == Self.lastLevel {
            return CompactionPlan(level: level, outputLevel: level, inputs: inputs, overlapping: [], outputRun: runs.map(\.id).max())
        }
        let output = level + 1
        guard leveledTarget else {
            return CompactionPlan(level: level, outputLevel: output, inputs: inputs, overlapping: [], outputRun: nil)
        }
        let targetRuns = version.levels[output]
        guard targetRuns.count <= 1 else { return nil }
        let all = inputs.joined()
        var smallest = all.first!.smallest, largest = all.first!.largest
        for table in all {
            if ByteOrder.less(table.smallest, smallest) { smallest = table.smallest }
            if ByteOrder.less(largest, table.largest) { largest = table.largest }
        }
        let overlapping = targetRuns.first?.overlapping(smallest: smallest, largest: largest) ?? []
        if isBusy(overlapping) { return nil }
        return CompactionPlan(level: level, outputLevel: output, inputs: inputs, overlapping: overlapping,
                              outputRun: targetRuns.first?.id ?? Self.leveledRun)
    }
}

/// Leveled compaction (RocksDB's default): L0 merges into L1's run; a level over its
/// target (`lsm.base_level_bytes` × `lsm.size_ratio`^(n−1)) merges the consecutive tables
/// that cover its excess (one, when it is a little over), round-robin through the key
/// space, with the tables of the next level's run they overlap. Levels
/// are scored as RocksDB scores them: L0 by its table count over
/// `lsm.l0_compaction_trigger`, Ln by the bytes not already being compacted over its
/// target. A level left with several runs (a database written with another strategy)
/// is merged whole first.
struct LeveledStrategy: CompactionStrategy {
    func pick(_ context: PickingContext) -> CompactionPlan? {
        let version = context.version
        var candidates: [(score: Double, level: Int)] = []
        if let score = context.level0Score { candidates.append((score, 0)) }
        for level in 1...PickingContext.lastLevel {
            let runs = version.levels[level]
            if runs.count > 1 {
                candidates.append((Double(runs.count) * 1e6, level))
            } else if level < PickingContext.lastLevel, let run = runs.first {
                let bytes = run.tables.reduce(0) { context.busy.contains($1.number) ? $0 : $0 + $1.meta.size }
                let score = Double(bytes) / context.config.targetBytes(level: level)
                if score > 1 { candidates.append((score, level)) }
            }
        }
        return context.first(of: candidates) { level in
            if level == 0 { return context.planLevel0(leveledTarget: true) }
            if version.levels[level].count > 1 { return context.planWholeLevel(level, leveledTarget: true) }
            return planTables(level, context)
        }
    }

    /// Consecutive tables of `level` and the tables of the next level they overlap, none
    /// busy: from the first free table after the level's compaction pointer, as many as
    /// cover the level's excess over its target (at least one, at most
    /// `LSMConfiguration.maxCompactionBytes` of them, never past the level's end or a busy
    /// table). A level a little over its target moves one table; one far over it (L1
    /// after L0 merges ran while it could not drain) moves its excess in one plan, which
    /// subcompactions split across threads.
    private func planTables(_ level: Int, _ context: PickingContext) -> CompactionPlan? {
        let version = context.version
        guard let tables = version.levels[level].first?.tables, version.levels[level + 1].count <= 1 else { return nil }
        let target = version.levels[level + 1].first
        let free = tables.reduce(0) { context.busy.contains($1.number) ? $0 : $0 + $1.meta.size }
        let wanted = min(max(0, free - Int(context.config.targetBytes(level: level))), context.config.maxCompactionBytes)
        var first = 0
        if let pointer = context.compactionPointers[level],
           let next = tables.firstIndex(where: { ByteOrder.less(pointer, $0.smallest) }) {
            first = next
        }
        for step in 0..<tables.count {
            let start = (first + step) % tables.count
            if context.busy.contains(tables[start].number) { continue }
            var overlapping = target?.overlapping(smallest: tables[start].smallest, largest: tables[start].largest) ?? []
            if context.isBusy(overlapping) { continue }
            var end = start + 1
            var bytes = tables[start].meta.size
            while bytes < wanted, end < tables.count, !context.busy.contains(tables[end].number) {
                let wider = target?.overlapping(smallest: tables[start].smallest, largest: tables[end].largest) ?? []
                if context.isBusy(wider) { break }
                overlapping = wider
                bytes += tables[end].meta.size
                end += 1
            }
            return CompactionPlan(level: level, outputLevel: level + 1, inputs: [Array(tables[start..<end])], overlapping: overlapping,
                                  outputRun: target?.id ?? PickingContext.leveledRun)
        }
        return nil
    }

    /// L0's bytes once it reaches its trigger, and for each deeper level its excess over
    /// the target times (size ratio + 1), the next level's share of rewriting it.
    func pendingCompactionBytes(_ version: Version, config: LSMConfiguration) -> UInt64 {
        var pending = 0.0
        if version.levels[0].count >= config.l0CompactionTrigger { pending += Double(version.bytes(level: 0)) }
        for level in 1..<PickingContext.lastLevel {
            let excess = Double(version.bytes(level: level)) - config.targetBytes(level: level)
            if excess > 0 { pending += excess * Double(config.sizeRatio + 1) }
        }
        return UInt64(pending)
    }
}

/// Tiered compaction, and with `leveledBottom` lazy leveling (Dostoevsky, Dayan and
/// Idreos, SIGMOD 2018). L0 is the same in every strategy: its tables merge once it
/// holds `lsm.l0_compaction_trigger` of them. A level holding `lsm.size_ratio` (T) runs
/// merges all of them into one new run of the next level (at the last level, in place);
/// the runs of a level are never merged with the runs already below, so each byte is
/// rewritten about once per level. With `leveledBottom` the deepest level holding data
/// keeps one run: merges into it take the tables of it they overlap (as leveled
/// compaction does), and once it outgrows its target (`lsm.base_level_bytes` ×
/// T^(n−1)) its run moves down a level whole (a manifest edit, no rewrite) and the
/// level it left becomes tiered. Scores: runs over T, L0 as in leveled compaction.
struct TieredStrategy: CompactionStrategy {
    let leveledBottom: Bool

    func pick(_ context: PickingContext) -> CompactionPlan? {
        let version = context.version
        let ratio = context.config.sizeRatio
        let deepest = version.deepestLevel
        var candidates: [(score: Double, level: Int)] = []
        if let score = context.level0Score { candidates.append((score, 0)) }
        for level in 1...PickingContext.lastLevel {
            let runs = version.levels[level].count
            if leveledBottom && level == deepest {
                if runs > 1 {
                    candidates.append((Double(runs) * 1e6, level))
                } else if runs == 1 && level < PickingContext.lastLevel {
                    let score = Double(version.bytes(level: level)) / context.config.targetBytes(level: level)
                    if score > 1 { candidates.append((score, level)) }
                }
            } else if runs >= ratio {
                candidates.append((Double(runs) / Double(ratio), level))
            }
        }
        return context.first(of: candidates) { level in
            let leveledTarget = leveledBottom && level + 1 == deepest
            if level == 0 { return context.planLevel0(leveledTarget: leveledTarget) }
            guard leveledBottom && level == deepest else { return context.planWholeLevel(level, leveledTarget: leveledTarget) }
            if version.levels[level].count > 1 { return context.planWholeLevel(level, leveledTarget: true, inPlace: true) }
            return planMoveDown(level, context)
        }
    }

    /// The deepest level's one run moved whole to the empty level below.
    private func planMoveDown(_ level: Int, _ context: PickingContext) -> CompactionPlan? {
        guard let run = context.version.levels[level].first, !context.isBusy(run.tables) else { return nil }
        return CompactionPlan(level: level, outputLevel: level + 1, inputs: [run.tables], overlapping: [], outputRun: run.id)
    }

    /// L0's bytes once it reaches its trigger, and every level due for a merge: its bytes,
    /// plus, when it merges into a leveled deepest level, that level's bytes.
    func pendingCompactionBytes(_ version: Version, config: LSMConfiguration) -> UInt64 {
        var pending = 0
        let deepest = version.deepestLevel
        if version.levels[0].count >= config.l0CompactionTrigger {
            pending += version.bytes(level: 0)
            if leveledBottom && deepest == 1 { pending += version.bytes(level: 1) }
        }
        for level in 1...PickingContext.lastLevel where version.levels[level].count >= config.sizeRatio {
            if leveledBottom && level == deepest { continue }
            pending += version.bytes(level: level)
            if leveledBottom && level + 1 == deepest { pending += version.bytes(level: deepest) }
        }
        return UInt64(pending)
    }
}
