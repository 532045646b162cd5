import KVStore
import StorageIO
import Testing
@_spi(Testing) @testable import LSMEngine

/// Settings under which a few tens of thousands of writes fill several levels.
func strategySettings(_ style: String, ratio: Int = 4) -> [String: String] {
    smallSettings(style).merging(["lsm.base_level_bytes": "65536", "lsm.target_file_bytes": "32768",
                                  "lsm.size_ratio": String(ratio), "lsm.level_size_ratio": String(ratio)]) { $1 }
}

/// Once compaction is idle each strategy leaves the shape it promises: leveled one run
/// per level; tiered fewer than T runs per level; lazy leveling the same above the
/// deepest level and one run at it. The per-level counters agree with the levels.
@Test(arguments: compactionStyles, [3, 5])
func eachStrategyKeepsItsShape(_ style: String, _ ratio: Int) throws {
    try withDirectory { directory in
        let store = try LSMStore.open(StoreOptions(directory: directory, durability: .none, settings: strategySettings(style, ratio: ratio)))
        var model: [Bytes: Bytes] = [:]
        try randomWorkload(store, model: &model, operations: 40000, keySpace: 6000, seed: 31)
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        let levels = store.levels()
        expectLevelInvariants(levels)
        let runs = levels.map { Set($0.map(\.run)).count }
        let deepest = runs.lastIndex { $0 > 0 } ?? 0
        #expect(deepest >= 2, "expected data below L1, runs per level \(runs)")
        #expect(runs[0] < 4, "L0 holds \(runs[0]) tables at rest")
        for level in 1...deepest {
            switch style {
            case "leveled": #expect(runs[level] <= 1, "L\(level) holds \(runs[level]) runs")
            case "tiered": #expect(runs[level] < ratio || level == Version.levelCount - 1, "L\(level) holds \(runs[level]) runs")
            default: #expect(level == deepest ? runs[level] == 1 : runs[level] < ratio, "L\(level) holds \(runs[level]) runs")
            }
        }
        let statistics = store.statistics()
        let counters = statistics.counters
        for level in 0..<Version.levelCount {
            #expect(counters["level.L\(level).runs"] == Double(runs[level]))
            #expect(counters["level.L\(level).tables"] == Double(levels[level].count))
        }
        let readFrom = (0..<Version.levelCount).reduce(0) { $0 + counters["compaction.L\($1).bytes_read_from", default: 0] }
        #expect(readFrom == Double(statistics.compaction?.bytesRead ?? 0))
        #expect(store.settingsReport["compaction"] == style)
        #expect(store.settingsReport["size_ratio"] == String(ratio))
        try expectMatches(store, model, keySpace: 6000)
        try store.close()
    }
}

/// Tiered compaction rewrites each byte about once per level, leveled about T/2 times
/// per level: with the same distinct keys inserted, tiered writes fewer compaction
/// bytes, and its gets probe more tables. The keys arrive in a scrambled order (7,919 is
/// prime to 40,000), so that every run spans the key range: in key order runs would not
/// overlap and a get would probe one table per level under either strategy. One
/// compaction thread: with two, L0 merges within itself whenever the writes outrun
/// it, and how often depends on the machine's timing, not on the strategy. The load
/// waits for background work every 200 puts (a quarter of a memtable), so each flush
/// and the compactions it starts finish before the next flush: the sequence of shapes,
/// and so the figures, do not depend on timing. L0 merges down from its first table, so
/// that at rest L0 is empty and the probes count the levels' runs, not the flushes left
/// in L0.
@Test func tieredWritesLessAndProbesMoreThanLeveled() throws {
    var written: [String: UInt64] = [:]
    var probes: [String: UInt64] = [:]
    for style in ["leveled", "tiered"] {
        try withDirectory { directory in
            let settings = strategySettings(style, ratio: 8).merging(["lsm.compaction_threads": "1", "lsm.l0_compaction_trigger": "1"]) { $1 }
            let store = try LSMStore.open(StoreOptions(directory: directory, durability: .none, settings: settings))
            for step in 0..<40000 {
                let index = step &* 7919 % 40000
                try store.put(testKey(index), Bytes(repeating: UInt8(index & 0xFF), count: 60))
                if step % 200 == 199 { try store.waitForBackgroundWork() }
            }
            try store.flushMemtable()
            try store.waitForBackgroundWork()
            for index in 0..<40000 where index % 7 == 0 { _ = try store.get(testKey(index)) }
            let statistics = store.statistics()
            written[style] = statistics.compaction?.bytesWritten
            probes[style] = statistics.lookupProbes
            try store.close()
        }
    }
    let leveled = try #require(written["leveled"]), tiered = try #require(written["tiered"])
    #expect(tiered * 3 < leveled * 2, "tiered wrote \(tiered) compaction bytes, leveled \(leveled)")
    #expect(try #require(probes["tiered"]) > (try #require(probes["leveled"])), "probes: \(probes)")
}

/// A database written under one strategy opens under another with every key, and
/// compaction brings it into the new shape: runs left by tiered merge into one per level.
@Test(arguments: [("tiered", "leveled"), ("leveled", "tiered"), ("lazy-leveling", "leveled"), ("tiered", "lazy-leveling")])
func aStrategyOpensADatabaseAnotherWrote(_ from: String, _ to: String) throws {
    try withDirectory { directory in
        var model: [Bytes: Bytes] = [:]
        let first = try LSMStore.open(StoreOptions(directory: directory, durability: .os, settings: strategySettings(from)))
        try randomWorkload(first, model: &model, operations: 30000, keySpace: 5000, seed: 41)
        try first.close()
        let second = try LSMStore.open(StoreOptions(directory: directory, durability: .os, settings: strategySettings(to)))
        try expectMatches(second, model, keySpace: 5000)
        try randomWorkload(second, model: &model, operations: 10000, keySpace: 5000, seed: 42)
        try second.flushMemtable()
        try second.waitForBackgroundWork()
        let levels = second.levels()
        expectLevelInvariants(levels)
        if to == "leveled" {
            for (level, tables) in levels.enumerated().dropFirst() {
                #expect(Set(tables.map(\.run)).count <= 1, "L\(level) still holds several runs")
            }
        }
        try expectMatches(second, model, keySpace: 5000)
        try second.close()
    }
}

/// `lsm.size_ratio` and `lsm.level_size_ratio` name one setting; an unknown strategy is refused.
@Test func sizeRatioSettingsAndStrategyNames() throws {
    let both = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: ["lsm.size_ratio": "6", "lsm.level_size_ratio": "6"]))
    #expect(both.sizeRatio == 6)
    let alias = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: ["lsm.level_size_ratio": "3"]))
    #expect(alias.sizeRatio == 3 && alias.compaction == .leveled)
    #expect(throws: StoreError.self) {
        _ = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: ["lsm.size_ratio": "6", "lsm.level_size_ratio": "4"]))
    }
    #expect(throws: StoreError.self) {
        _ = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: ["lsm.compaction": "universal"]))
    }
    #expect(try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: ["lsm.compaction": "lazy-leveling"])).compaction == .lazyLeveling)
}

/// A manifest of format 1 (tables without run ids) still opens: every level below L0 is one run.
@Test func aFormatOneManifestOpens() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .os, settings: smallSettings)
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        try randomWorkload(store, model: &model, operations: 8000, keySpace: 2000, seed: 51)
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        try store.close()
        let state = try ManifestLog.load(directory: directory)
        var edit = Bytes()
        edit.append(1); edit.appendVarint(state.logNumber)
        edit.append(2); edit.appendVarint(state.nextFileNumber)
        for (level, tables) in state.tables.enumerated() {
            for (_, meta) in tables {
                edit.append(3)
                edit.appendVarint(level)
                edit.appendVarint(meta.number)
                edit.appendVarint(meta.size)
                edit.appendVarint(meta.entries)
                edit.appendLengthPrefixed(meta.smallest)
                edit.appendLengthPrefixed(meta.largest)
            }
        }
        var manifest = Bytes()
        manifest.appendFixed64(ManifestLog.magic)
        manifest.appendFixed32(1)
        manifest.appendFixed32(manifest.withUnsafeBytes { CRC32C.checksum($0) })
        let path = directory + "/" + ManifestLog.fileName
        try FileSystem.removeFile(path)
        let file = try StorageFile(path: path, mode: .createNew)
        try file.write(at: 0, manifest)
        let writer = FramedRecordWriter(file: file, offset: manifest.count)
        try writer.append(type: VersionEdit.recordType) { $0.append(contentsOf: edit) }
        try writer.sync()
        let reopened = try LSMStore.open(options)
        for tables in reopened.levels().dropFirst() { #expect(Set(tables.map(\.run)).count <= 1) }
        try expectMatches(reopened, model, keySpace: 2000)
        try reopened.close()
    }
}

/// A table holding the keys `a` and `z`, as every table of a uniform load spans the key space.
private func wideTable(_ number: UInt64, in directory: String) throws -> TableFile {
    let builder = try TableBuilder(directory: directory, number: number, blockSize: 4096, bitsPerKey: 10)
    for key in ["a", "z"] {
        let bytes = Bytes(key.utf8)
        try bytes.withUnsafeBytes { key in try Bytes([1]).withUnsafeBytes { try builder.add(key: key, kind: .value, value: $0) } }
    }
    return try TableFile(directory: directory, meta: try builder.finish())
}

/// L0 that cannot merge down (its oldest runs already merging into L1, or the L1 tables it
/// needs busy) is merged within L0 once it is urgent: its newest flushed tables, newer than
/// every busy run, become one L0 run with the newest input's id. Not before L0 is urgent,
/// not with fewer than `lsm.l0_compaction_trigger` flushed tables on top, and never a run an
/// intra-L0 merge made. Every strategy treats L0 alike.
@Test(arguments: compactionStyles)
func level0MergesWithinItselfWhenItCannotMergeDown(_ style: String) throws {
    try withDirectory { directory in
        try FileSystem.createDirectory(directory)
        let config = try LSMConfiguration(options: StoreOptions(directory: directory, memoryBudget: 64 << 20, settings: ["lsm.compaction": style]))
        let strategy = config.compaction.strategy
        let level1 = SortedRun(id: 1, tables: [try wideTable(1, in: directory)])
        var flushed: [SortedRun] = []
        for number in (UInt64(10)...17).reversed() { flushed.append(SortedRun(id: number, tables: [try wideTable(number, in: directory)])) }
        let merged = SortedRun(id: 9, tables: [try wideTable(30, in: directory), try wideTable(31, in: directory)])
        func levels(_ level0: [SortedRun]) -> Version {
            Version(levels: [level0, [level1]] + Array(repeating: [], count: Version.levelCount - 2))
        }
        func pick(_ level0: [SortedRun], busy: Set<UInt64>, compacting: Bool) -> CompactionPlan? {
            strategy.pick(PickingContext(version: levels(level0), busy: busy, level0Compacting: compacting,
                                         compactionPointers: Array(repeating: nil, count: Version.levelCount), config: config))
        }
        let oldest: Set<UInt64> = [10, 11, 12, 13]
        let intra = try #require(pick(flushed, busy: oldest, compacting: true))
        #expect(intra.level == 0 && intra.outputLevel == 0 && intra.overlapping.isEmpty)
        #expect(intra.inputs.map { $0[0].number } == [17, 16, 15, 14])
        #expect(intra.outputRun == 17)
        // A tiered L0 merges into a new L1 run, so a busy L1 table does not hold it back.
        let blocked = try #require(pick(flushed, busy: [1], compacting: false))
        #expect(blocked.outputLevel == (style == "tiered" ? 1 : 0) && blocked.inputs.count == 8)
        let down = try #require(pick(flushed, busy: [], compacting: false))
        #expect(down.level == 0 && down.outputLevel == 1 && down.inputs.count == 8)
        #expect(pick(Array(flushed.prefix(7)), busy: [10, 11, 12, 13], compacting: true) == nil)
        #expect(pick(Array(flushed.prefix(3)) + [merged] + flushed.suffix(4), busy: oldest, compacting: true) == nil)
    }
}

/// A table of 200 keys `prefix-000` … `prefix-199` with 100-byte values: tables with
/// different prefixes do not overlap, so they can form one leveled run.
private func rangeTable(_ number: UInt64, prefix: String, in directory: String) throws -> TableFile {
    let builder = try TableBuilder(directory: directory, number: number, blockSize: 4096, bitsPerKey: 10)
    let value = Bytes(repeating: 7, count: 100)
    for index in 0..<200 {
        let key = Bytes("\(prefix)-\(String(index + 1000).dropFirst())".utf8)
        try key.withUnsafeBytes { key in try value.withUnsafeBytes { try builder.add(key: key, kind: .value, value: $0) } }
    }
    return try TableFile(directory: directory, meta: try builder.finish())
}

/// An urgent L0 goes first unless L1 is further over its target than L0 is over its
/// trigger, or more than twice its target; then L1's excess moves down in one plan
/// (consecutive tables covering it, a trivial move into an empty L2), and while that
/// plan holds L1 the next pick is an intra-L0 merge, not a second L1 plan. An L1 behind
/// L0 and at most twice its target waits for L0.
@Test func level1DrainsBeforeAnUrgentLevel0WhenItIsFurtherBehindOrTwiceItsTarget() throws {
    try withDirectory { directory in
        try FileSystem.createDirectory(directory)
        let config = try LSMConfiguration(options: StoreOptions(directory: directory, memoryBudget: 64 << 20, settings: [
            "lsm.base_level_bytes": "65536", "lsm.target_file_bytes": "16384",
        ]))
        let strategy = config.compaction.strategy
        var level0: [SortedRun] = []
        for number in (UInt64(100)...115).reversed() { level0.append(SortedRun(id: number, tables: [try wideTable(number, in: directory)])) }
        var level1Tables: [TableFile] = []
        for index in 0..<12 { level1Tables.append(try rangeTable(UInt64(10 + index), prefix: "k\(index + 10)", in: directory)) }
        func pick(level0 runs: Int, level1 count: Int, busy: Set<UInt64> = []) -> CompactionPlan? {
            let levels = [Array(level0.prefix(runs)), [SortedRun(id: 1, tables: Array(level1Tables.prefix(count)))]]
            return strategy.pick(PickingContext(version: Version(levels: levels + Array(repeating: [], count: Version.levelCount - 2)),
                                                busy: busy, level0Compacting: false,
                                                compactionPointers: Array(repeating: nil, count: Version.levelCount), config: config))
        }
        let tableBytes = level1Tables[0].meta.size
        let level1Score = Double(12 * tableBytes) / 65536
        #expect(level1Score > 2, "L1 of 12 tables scores \(level1Score)")
        // L0 urgent at 8 runs (score 2), L1 further behind: L1's excess moves first.
        let drain = try #require(pick(level0: 8, level1: 12))
        #expect(drain.level == 1 && drain.outputLevel == 2 && drain.isTrivialMove)
        let moved = drain.inputs[0]
        let excess = 12 * tableBytes - 65536
        #expect(moved.map(\.number) == Array(level1Tables.prefix(moved.count)).map(\.number))
        #expect(moved.reduce(0) { $0 + $1.meta.size } >= excess)
        #expect(moved.dropLast().reduce(0) { $0 + $1.meta.size } < excess)
        // While it runs, the other thread merges L0 within itself.
        let intra = try #require(pick(level0: 8, level1: 12, busy: Set(moved.map(\.number))))
        #expect(intra.level == 0 && intra.outputLevel == 0)
        // L0 further behind (16 runs, score 4) than an L1 more than twice its target: L1 still goes first.
        #expect(level1Score < 4)
        let first = try #require(pick(level0: 16, level1: 12))
        #expect(first.level == 1 && first.outputLevel == 2)
        // L0 further behind than an L1 at most twice its target: L0 merges down first.
        let withinTwice = Int(2 * 65536 / tableBytes)
        #expect(Double(withinTwice * tableBytes) / 65536 > 1)
        let down = try #require(pick(level0: 16, level1: withinTwice))
        #expect(down.level == 0 && down.outputLevel == 1 && down.overlapping.count == withinTwice)
        // L1 under its target: L0 merges down.
        let small = try #require(pick(level0: 8, level1: 2))
        #expect(small.level == 0 && small.outputLevel == 1)
    }
}
