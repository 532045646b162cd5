import KVStore
import Testing
@_spi(Testing) @testable import LSMEngine

/// Compaction on several threads, split into key ranges: the same data, levels
/// that stay disjoint, and the subcompactions counted.
@Test(arguments: compactionStyles)
func compactionOnSeveralThreadsWithSubcompactionsKeepsEveryKey(_ style: String) throws {
    try withDirectory { directory in
        var settings = smallSettings(style)
        settings["lsm.base_level_bytes"] = "65536"
        settings["lsm.target_file_bytes"] = "16384"
        settings["lsm.compaction_threads"] = "3"
        settings["lsm.subcompactions"] = "4"
        let options = StoreOptions(directory: directory, durability: .none, settings: settings)
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        #expect(store.settingsReport["compaction_threads"] == "3")
        #expect(store.settingsReport["subcompactions"] == "4")
        for round in 0..<4 {
            try randomWorkload(store, model: &model, operations: 15000, keySpace: 3000, seed: 200 + UInt64(round))
            try store.waitForBackgroundWork()
            expectLevelInvariants(store.levels())
            try expectMatches(store, model, keySpace: 3000)
        }
        #expect((store.statistics().counters["compaction.subcompactions"] ?? 0) > 0)
        #expect(try store.compactAll())
        let compacted = store.levels()
        expectLevelInvariants(compacted)
        #expect(compacted.joined().reduce(0) { $0 + $1.entries } == model.count)
        try expectMatches(store, model, keySpace: 3000)
        try store.close()
        let reopened = try LSMStore.open(options)
        try expectMatches(reopened, model, keySpace: 3000)
        try reopened.close()
    }
}

/// The write controller: no delay below the slowdown trigger, the full delayed
/// rate at it, a rate that falls with every further L0 table and stays above
/// zero before the stop; the pending compaction bytes slow writes the same way.
@Test func writesSlowDownGraduallyBeforeTheStop() throws {
    let config = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: [
        "lsm.l0_compaction_trigger": "4", "lsm.l0_slowdown_trigger": "8", "lsm.l0_stop_trigger": "12",
        "lsm.delayed_write_rate": "1048576",
        "lsm.soft_pending_compaction_bytes": "1048576", "lsm.hard_pending_compaction_bytes": "2097152",
    ]))
    #expect(Engine.delayedRate(level0: 7, pending: 0, config: config) == nil)
    var previous = Double.infinity
    for level0 in 8..<12 {
        let (rate, cause) = try #require(Engine.delayedRate(level0: level0, pending: 0, config: config))
        #expect(cause == .level0Files)
        #expect(rate > 0 && rate < previous)
        #expect(rate <= 1_048_576)
        previous = rate
    }
    #expect(Engine.delayedRate(level0: 8, pending: 0, config: config)?.0 == 1_048_576)
    let (pendingRate, pendingCause) = try #require(Engine.delayedRate(level0: 0, pending: 1_572_864, config: config))
    #expect(pendingCause == .pendingCompactionBytes)
    #expect(pendingRate == 524_288)
    #expect(Engine.delayedRate(level0: 0, pending: 1_048_575, config: config) == nil)
}

/// Stall time is reported by cause and by kind, and the parts add up to the total.
@Test func stallTimeIsReportedByCause() throws {
    try withDirectory { directory in
        var settings = smallSettings
        settings["lsm.compaction_threads"] = "1"
        let store = try LSMStore.open(StoreOptions(directory: directory, durability: .none, settings: settings))
        var model: [Bytes: Bytes] = [:]
        try randomWorkload(store, model: &model, operations: 20000, keySpace: 5000, seed: 9)
        try store.waitForBackgroundWork()
        let statistics = store.statistics()
        let counters = statistics.counters
        let total = try #require(statistics.compaction?.stallSeconds)
        let causes = ["stall.l0_files_seconds", "stall.pending_compaction_bytes_seconds", "stall.memtables_seconds"]
        let kinds = ["stall.delayed_seconds", "stall.stopped_seconds"]
        for name in causes + kinds + ["compaction.pending_bytes"] { #expect(counters[name] != nil, "missing \(name)") }
        #expect(abs(causes.reduce(0) { $0 + counters[$1]! } - total) < 1e-6)
        #expect(abs(kinds.reduce(0) { $0 + counters[$1]! } - total) < 1e-6)
        try store.close()
    }
}

@Test func pendingCompactionLimitsMustBeOrdered() throws {
    #expect(throws: StoreError.self) {
        _ = try LSMConfiguration(options: StoreOptions(directory: "/nonexistent", settings: [
            "lsm.soft_pending_compaction_bytes": "4194304", "lsm.hard_pending_compaction_bytes": "2097152",
        ]))
    }
}
