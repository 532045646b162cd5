import Foundation
@testable import KVReports
import KVResults
import Testing

func capacityPlan(start: Double = 1000, max: Double = 10_000_000, resolution: Double = 0.05) -> CapacitySearchPlan {
    CapacitySearchPlan(startRate: start, maxRate: max, growth: 2, resolution: resolution, windowS: 5, operations: nil, warmup: "1s",
                       rule: "rule", database: "reloaded for every probe")
}

/// Runs a search against an engine that meets the objective up to `capacity` ops/s; the rates probed.
func simulate(_ search: inout CapacitySearch, capacity: Double) -> [Double] {
    var probed: [Double] = []
    while let rate = search.next, probed.count < 100 {
        probed.append(rate)
        search.record(rate: rate, met: rate <= capacity)
    }
    return probed
}

@Test(arguments: [1000.0, 1500, 84_000, 333_333, 9_999_999])
func searchBracketsTheKneeToTheResolution(capacity: Double) {
    var search = CapacitySearch(plan: capacityPlan())
    let probed = simulate(&search, capacity: capacity)
    let low = try! #require(search.highestMeeting), high = try! #require(search.lowestMissing)
    #expect(low <= capacity && high > capacity)
    #expect(high / low <= 1.05)
    #expect(search.outcome() == .sustained)
    #expect(probed.first == 1000)
    #expect(probed.count < 35, "\(probed)")
}

@Test func searchThatMissesAtTheStartClaimsNothing() {
    var search = CapacitySearch(plan: capacityPlan())
    #expect(simulate(&search, capacity: 500) == [1000])
    #expect(search.outcome() == .missedAtStart)
    let answer = CapacityAnswer(engine: "btree", repetitions: [CapacityRepetition(repetition: 1, outcome: search.outcome(), sustainedOpsS: nil, lowestMissingOpsS: 1000, probes: 1)],
                                objective: LatencyObjective(percentile: "p99", boundUs: 1000), plan: capacityPlan())
    #expect(answer.statement == "btree misses p99 ≤ 1 ms even at 1,000 ops/s")
    #expect(answer.sustainedOpsS == nil)
}

@Test func searchStopsAtTheCeiling() {
    var search = CapacitySearch(plan: capacityPlan(max: 5000))
    #expect(simulate(&search, capacity: 1e9) == [1000, 2000, 4000, 5000])
    #expect(search.outcome() == .ceiling)
}

@Test func answerIsTheMedianWithTheRangeOfRepetitions() {
    let repetitions = [84_000.0, 80_000, 90_000].enumerated().map {
        CapacityRepetition(repetition: $0.offset + 1, outcome: .sustained, sustainedOpsS: $0.element, lowestMissingOpsS: $0.element * 1.04, probes: 12)
    }
    let answer = CapacityAnswer(engine: "rocksdb", repetitions: repetitions, objective: LatencyObjective(percentile: "p99", boundUs: 1000), plan: capacityPlan())
    #expect(answer.sustainedOpsS == 84_000 && answer.minOpsS == 80_000 && answer.maxOpsS == 90_000)
    #expect(answer.statement == "rocksdb sustains 84,000 ops/s at p99 ≤ 1 ms (median of 3; 80,000–90,000 ops/s across repetitions)")
}

@Test func objectivesParseOrSayWhy() throws {
    #expect(try LatencyObjective.parse("p99=1ms").get() == LatencyObjective(percentile: "p99", boundUs: 1000))
    #expect(try LatencyObjective.parse("p99.9=250us").get() == LatencyObjective(percentile: "p99.9", boundUs: 250))
    #expect(try LatencyObjective.parse("p50=2s").get().boundUs == 2_000_000)
    #expect(try LatencyObjective.parse("p90=500ns").get().boundUs == 0.5)
    for bad in ["p99", "p98=1ms", "p99=fast", "p99=1", "p99=-1ms", "p99=0ms", "=1ms"] {
        guard case .failure(let error) = LatencyObjective.parse(bad) else {
            Issue.record("--slo \(bad) was accepted")
            continue
        }
        #expect(error.description.contains("--slo") && error.description.contains("e.g. --slo"))
    }
}

func phase(p99: Double, throughput: Double, errors: UInt64 = 0) -> PhaseResult {
    let summary = LatencySummary(p50: p99 / 4, p90: p99 / 2, p99: p99, p999: p99 * 2, p9999: p99 * 3, max: p99 * 4, mean: p99 / 3)
    let read = OperationResult(count: 1000, errors: errors, notFound: 0, latencyUs: summary, serviceUs: summary, percentileCurve: [])
    return PhaseResult(name: "run", elapsedS: 1, operations: 1000, throughputOpsS: throughput, ops: ["read": read], userBytesWritten: 0,
                       engineBytesWritten: nil, osWriteBytes: nil, osReadBytes: nil, wchar: nil, writeAmpEngine: nil, writeAmpOS: nil,
                       readAmp: nil, readAmpBytes: nil, spaceAmp: nil, diskBytes: 0, liveBytes: 0, compaction: nil, peakRSSBytes: nil,
                       cpuS: nil, timeseries: [], engineCounters: [:])
}

@Test func probesAreJudgedOnLatencyFailuresAndAchievedRate() {
    let objective = LatencyObjective(percentile: "p99", boundUs: 1000)
    #expect(CapacityProbe.judge(phase(p99: 900, throughput: 1000), offered: 1000, objective: objective).meets)
    #expect(!CapacityProbe.judge(phase(p99: 1100, throughput: 1000), offered: 1000, objective: objective).meets)
    let failed = CapacityProbe.judge(phase(p99: 10, throughput: 999, errors: 1), offered: 1000, objective: objective)
    #expect(!failed.meets && failed.reason == "1 operations failed")
    #expect(!CapacityProbe.judge(phase(p99: 10, throughput: 900), offered: 1000, objective: objective).meets)
}

@Test func capacityReportDrawsTheCurveAndTheObjective() throws {
    let objective = LatencyObjective(percentile: "p99", boundUs: 1000)
    var probes: [CapacityProbe] = []
    for (engine, knee) in [("rocksdb", 8000.0), ("btree", 3000)] {
        var search = CapacitySearch(plan: capacityPlan())
        var step = 0
        while let rate = search.next {
            step += 1
            let p99 = rate <= knee ? 100 * rate / knee : 5000 * rate / knee
            probes.append(CapacityProbe(engine: engine, repetition: 1, step: step, stage: search.stage, offeredOpsS: rate, achievedOpsS: rate,
                                        operations: 1000, errors: 0, elapsedS: 1, percentileUs: p99, latencyUs: nil, meetsSLO: p99 <= 1000, reason: nil))
            search.record(rate: rate, met: p99 <= 1000)
        }
    }
    let manifest = sampleResults().manifest
    let answers = ["rocksdb", "btree"].map { engine in
        CapacityAnswer(engine: engine, repetitions: [CapacityRepetition(repetition: 1, outcome: .sustained,
                                                                         sustainedOpsS: probes.filter { $0.engine == engine && $0.meetsSLO }.map(\.offeredOpsS).max(),
                                                                         lowestMissingOpsS: nil, probes: 0)],
                       objective: objective, plan: capacityPlan())
    }
    let results = CapacityResults(manifest: manifest, slo: objective, search: capacityPlan(), parameters: nil, engines: answers, probes: probes, failedRuns: [], partial: false)
    let svg = try #require(Charts.capacityCurve(results))
    #expect(svg.contains("objective: p99 ≤ 1 ms"))
    #expect(svg.contains("stroke-dasharray=\"8 4\""))
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
    let directory = NSTemporaryDirectory() + "kvbench-capacity-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let written = try CapacityReport.write(results, to: directory)
    #expect(written.charts == ["capacity.svg"])
    let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
    #expect(markdown.contains("rocksdb sustains 8,000 ops/s at p99 ≤ 1 ms"))
    #expect(markdown.contains("btree sustains 2,953 ops/s at p99 ≤ 1 ms"))
    #expect(markdown.contains("| offered (ops/s) |"))
    let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
    #expect(html.components(separatedBy: "<svg").count - 1 == 1)
    #expect(html.components(separatedBy: "<table").count - 1 == 3)
    let decoded = try JSONDecoder().decode(CapacityResults.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/results.json")))
    #expect(decoded.kind == "capacity" && decoded.probes.count == probes.count)
    let json = try Data(contentsOf: URL(fileURLWithPath: directory + "/results.json"))
    #expect(CapacityResults.isCapacityFile(json))
    #expect(!CapacityResults.isCapacityFile(try JSONEncoder().encode(sampleResults())))
    let text = String(decoding: json, as: UTF8.self)
    #expect(text.contains("\"parameters\" : null") && text.contains("\"reason\" : null") && text.contains("\"operations\" : null"))
}

/// An answer sustained at `rates` (one per repetition).
func sustainedAnswer(_ engine: String, _ rates: [Double]) -> CapacityAnswer {
    CapacityAnswer(engine: engine, repetitions: rates.enumerated().map { CapacityRepetition(repetition: $0.offset + 1, outcome: .sustained, sustainedOpsS: $0.element,
                                                                                            lowestMissingOpsS: nil, probes: 0) },
                   objective: LatencyObjective(percentile: "p99", boundUs: 1000), plan: capacityPlan())
}

@Test func theHarnessFloorMarksAnEngineThatReachesIt() throws {
    let objective = LatencyObjective(percentile: "p99", boundUs: 1000)
    let floor = sustainedAnswer("null", [100_000, 120_000])
    let answers = [sustainedAnswer("lmdb", [97_000]), sustainedAnswer("btree", [90_000])]
    let results = CapacityResults(manifest: sampleResults().manifest, slo: objective, search: capacityPlan(), parameters: nil, engines: answers,
                                  harnessFloor: floor, probes: [], failedRuns: [], partial: false)
    // 97,000 ≥ 100,000 ÷ 1.05; 90,000 is below.
    #expect(results.engines.map(\.limitedByHarness) == [true, false])
    #expect(results.engines[0].statement.hasSuffix("at the harness floor (the null engine sustains 110,000 ops/s): the figure may be the harness's"))
    #expect(!results.engines[1].statement.contains("harness"))
    let rows = CapacityReport.answerRows(results)
    #expect(rows[0].last == "harness floor")
    #expect(rows.map(\.count).allSatisfy { $0 == 5 })
    #expect(rows[1].last == "reached: may be the harness's" && rows[2].last == "below")
    #expect(rows.last?.first == "harness floor (null engine)" && rows.last?[1] == "110,000")
    #expect(CapacityReport.statements(results).last == "harness floor: " + floor.statement)
    let text = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
    #expect(text.contains("\"harness_floor\":{") && text.contains("\"limited_by_harness\":true") && text.contains("\"limited_by_harness\":false"))
    let decoded = try JSONDecoder().decode(CapacityResults.self, from: Data(text.utf8))
    #expect(decoded.harnessFloor?.sustainedOpsS == 110_000 && decoded.engines[0].limitedByHarness == true)

    // A harness that misses the objective at the first rate: no engine's answer, found or not, can be told from it.
    let missing = CapacityAnswer(engine: "null", repetitions: [CapacityRepetition(repetition: 1, outcome: .missedAtStart, sustainedOpsS: nil,
                                                                                  lowestMissingOpsS: 1000, probes: 1)],
                                 objective: objective, plan: capacityPlan())
    let swamped = CapacityResults(manifest: sampleResults().manifest, slo: objective, search: capacityPlan(), parameters: nil,
                                  engines: answers + [missing].map { CapacityAnswer(engine: "btree-2", repetitions: $0.repetitions, objective: objective, plan: capacityPlan()) },
                                  harnessFloor: missing, probes: [], failedRuns: [], partial: false)
    #expect(swamped.engines.map(\.limitedByHarness) == [true, true, true])
    #expect(swamped.engines[0].statement.hasSuffix("the harness itself (the null engine) misses the objective at the first rate: the figure may be the harness's"))
    #expect(CapacityReport.answerRows(swamped)[1].last == "the harness misses too: may be the harness's")

    let without = CapacityResults(manifest: sampleResults().manifest, slo: objective, search: capacityPlan(), parameters: nil, engines: answers,
                                  probes: [], failedRuns: [], partial: false)
    #expect(without.engines.allSatisfy { $0.limitedByHarness == nil })
    #expect(CapacityReport.answerRows(without)[0].count == 4)
    #expect(CapacityReport.notes(without).contains { $0.hasPrefix("No harness floor was measured") })
    let bare = String(decoding: try JSONEncoder().encode(without), as: UTF8.self)
    #expect(bare.contains("\"harness_floor\":null") && bare.contains("\"limited_by_harness\":null"))
}
