import Foundation
@testable import KVReports
import KVResults
import Testing

/// 60 MiB of 128-byte records over a 1 MiB memtable, T = 10, L1 = 10 MiB, L0 = 4 memtables; no per-entry overheads.
func sixtyMiBLSM(_ strategy: CostModel.LSM.Strategy) -> CostModel.LSM {
    var lsm = CostModel.LSM(strategy: strategy, records: 491_520, keyBytes: 16, valueBytes: 112, memtableBytes: 1 << 20, sizeRatio: 10,
                            baseLevelBytes: nil, l0CompactionTrigger: 4, bloomBitsPerKey: 8, logged: true)
    lsm.logOverheadBytes = 0
    lsm.tableOverheadBytes = 0
    lsm.memtableOverheadBytes = 0
    return lsm
}

@Test func leveledLSMCostOfAKnownConfiguration() {
    let cost = CostModel.lsm(sixtyMiBLSM(.leveled))
    // L = ⌈log_10(60 MiB / 1 MiB)⌉ = 2: L1 holds 10 MiB (2.5 L0s), L2 the other 50 MiB (5 L1s).
    #expect(cost.structure.hasPrefix("leveled LSM: 60 flushes of 8192 entries, 0 left in L0, 2 levels below L0"))
    // log 1 + flush 1 + L1 (2.5 + 1)/2 + L2 (50/60) × (5 + 1)/2.
    #expect(abs(cost.writeAmp! - 6.25) < 1e-9)
    // One table in L1 for every key, one in L2 for the 5/6 of keys that live there.
    #expect(abs(cost.readAmp! - (1 + 50.0 / 60)) < 1e-9)
    // Tables plus 8 bloom bits per 128-byte entry; the last memtable's log is empty (60 MiB is whole memtables).
    #expect(abs(cost.spaceAmp! - (1 + 1.0 / 128)) < 1e-9)
}

@Test func tieredLSMWritesOncePerLevelAndReadsEveryRun() {
    let cost = CostModel.lsm(sixtyMiBLSM(.tiered))
    #expect(cost.structure.contains("2 levels below L0"))
    #expect(cost.structure.hasPrefix("tiered LSM"))
    #expect(abs(cost.writeAmp! - (1 + 1 + 1 + 50.0 / 60)) < 1e-9)
    // L1: 3 runs (2.5, rounded up) for every key; L2: 5 runs for 5/6 of them.
    #expect(abs(cost.readAmp! - (3 + 5 * 50.0 / 60)) < 1e-9)
}

@Test func lazyLevelingIsTieredAboveTheDeepestLevelAndLeveledInIt() {
    let cost = CostModel.lsm(sixtyMiBLSM(.lazyLeveling))
    #expect(cost.structure.hasPrefix("lazy-leveling LSM"))
    // L1 tiered (written once), L2 the deepest, leveled: (5 + 1)/2 for its 50/60.
    #expect(abs(cost.writeAmp! - (1 + 1 + 1 + 50.0 / 60 * 3)) < 1e-9)
    // L1: 3 runs for every key; L2: one run for 5/6 of them.
    #expect(abs(cost.readAmp! - (3 + 50.0 / 60)) < 1e-9)
}

@Test func filesLeftInL0AndTheMemtableCountInReadsWritesAndSpace() {
    var lsm = sixtyMiBLSM(.leveled)
    // 7 flushes of 8,192 entries and 4,096 in the memtable: 4 flushes compacted into L1, 3 left in L0.
    lsm.records = 7 * 8192 + 4096
    let cost = CostModel.lsm(lsm)
    #expect(cost.structure.hasPrefix("leveled LSM: 7 flushes of 8192 entries, 3 left in L0, 1 level below L0"))
    // 1/15 in the memtable (no probe), 6/15 in L0 (2 probes on average), 8/15 in L1 (3 L0 files, then L1).
    #expect(abs(cost.readAmp! - (6.0 / 15 * 2 + 8.0 / 15 * 4)) < 1e-9)
    // Log, the flush of 14/15, L1's 8/15 written once (it holds one L0's worth).
    #expect(abs(cost.writeAmp! - (1 + 14.0 / 15 + 8.0 / 15)) < 1e-9)
    #expect(abs(cost.spaceAmp! - ((1 + 1.0 / 128) * 14 / 15 + 1.0 / 15)) < 1e-9)
}

@Test func anLSMWhoseDataFitsTheMemtableWritesOnlyItsLog() {
    var lsm = sixtyMiBLSM(.leveled)
    lsm.records = 1000
    let cost = CostModel.lsm(lsm)
    #expect(cost.writeAmp == 1)
    #expect(cost.readAmp == 0)
    lsm.logged = false
    #expect(CostModel.lsm(lsm).writeAmp == 0)
}

@Test func bTreeGeometryOfAKnownConfiguration() {
    // 4 KiB pages, 16 + 100-byte records: 30 cells of 132 bytes per leaf, 127 branch cells of 32 bytes.
    let random = CostModel.btree(CostModel.BTree(records: 1_000_000, keyBytes: 16, valueBytes: 100, pageBytes: 4096, sequential: false,
                                                 logged: true, checkpointPages: nil, checkpointLogBytes: nil))
    // At ln 2 fill: 20.8 per leaf → 48,090 leaves, 547 + 7 + 1 branches: height 4.
    #expect(random.readAmp == 4)
    #expect(random.structure.contains("48090 leaves"))
    #expect(abs(random.spaceAmp! - Double(48_090 + 547 + 7 + 1 + 2) * 4096 / 116e6) < 1e-9)
    // Unbuffered copy-on-write: a 146-byte log record and the 4-page path per commit.
    #expect(abs(random.writeAmp! - (146.0 / 116 + 4 * 4096.0 / 116)) < 1e-9)
    let sequential = CostModel.btree(CostModel.BTree(records: 1_000_000, keyBytes: 16, valueBytes: 100, pageBytes: 4096, sequential: true,
                                                     logged: true, checkpointPages: nil, checkpointLogBytes: nil))
    #expect(sequential.structure.contains("33334 leaves"))
}

@Test func checkpointedBTreeWritesTheDistinctPagesOfEachInterval() {
    let tree = CostModel.BTree(records: 1_000_000, keyBytes: 16, valueBytes: 100, pageBytes: 4096, sequential: false,
                               logged: true, checkpointPages: 2048, checkpointLogBytes: nil)
    let cost = CostModel.btree(tree)
    let pagesPerCommit = (cost.writeAmp! - 146.0 / 116) * 116 / 4096
    // 2,048 dirty pages after 1,550 random commits (48,090 leaves, 547 + 7 + 1 branches, n(1 − e^(−c/n)) each): 1.32 pages per commit.
    #expect(abs(pagesPerCommit - 2048 / 1549.88) < 0.001, "\(pagesPerCommit)")
    // A tree smaller than the interval is written once per checkpoint: far less than a page per commit.
    var small = tree
    small.records = 10_000
    small.checkpointLogBytes = 4 << 20
    let smallPages = (CostModel.btree(small).writeAmp! - 146.0 / 116) * 116 / 4096
    #expect(smallPages < 0.05, "\(smallPages)")
}

@Test func theModelIsChosenFromTheReportedSettings() {
    var run = sampleResults(engine: "lsm").runs[0]
    run.engineSettings = ["memtable_bytes": "1048576", "level_size_ratio": "10", "base_level_bytes": "16777216",
                          "l0_triggers": "compaction 4, slowdown 8, stop 12", "bloom_bits_per_key": "10"]
    #expect(CostModel.estimate(run)?.structure.hasPrefix("leveled LSM") == true)
    run.engineSettings["compaction_strategy"] = "tiered"
    #expect(CostModel.estimate(run)?.structure.hasPrefix("tiered LSM") == true)
    run.engineSettings["compaction_strategy"] = nil
    run.engineSettings["compaction"] = "lazy-leveling"
    #expect(CostModel.estimate(run)?.structure.hasPrefix("lazy-leveling LSM") == true)
    run.engineSettings = ["page_size": "4096", "checkpoint_pages": "2048", "checkpoint_log_bytes": "4194304"]
    #expect(CostModel.estimate(run)?.structure.hasPrefix("B+tree") == true)
    run.engineSettings = ["write_buffer_bytes": "16777216"]
    #expect(CostModel.estimate(run) == nil)
}
