import Foundation
@testable import KVReports
import KVResults
import Testing

/// A small, fully specified result to feed the report code.
func sampleResults(engine: String = "rocksdb", throughput: Double = 100_000, readP99: Double = 12, writeAmp: Double? = 2.5) -> ResultsFile {
    let summary = LatencySummary(p50: 3, p90: 6, p99: readP99, p999: 40, p9999: 90, max: 200, mean: 4)
    let curve = [PercentilePoint(percentile: 0, us: 1), PercentilePoint(percentile: 50, us: 3), PercentilePoint(percentile: 99, us: readP99),
                 PercentilePoint(percentile: 99.99, us: 90), PercentilePoint(percentile: 100, us: 200)]
    let operation = OperationResult(count: 1000, errors: 0, notFound: 0, latencyUs: summary, serviceUs: nil, percentileCurve: curve)
    let phase = PhaseResult(
        name: "run", elapsedS: 2.5, operations: 1000, throughputOpsS: throughput, ops: ["read": operation, "update": operation],
        userBytesWritten: 58_000, engineBytesWritten: writeAmp.map { UInt64($0 * 58_000) }, osWriteBytes: 150_000, osReadBytes: 0,
        wchar: 160_000, writeAmpEngine: writeAmp, writeAmpOS: 150_000.0 / 58_000, readAmp: 1.2, readAmpBytes: nil, spaceAmp: 1.8,
        diskBytes: 200_000, liveBytes: 111_000,
        compaction: CompactionResult(count: 3, bytesRead: 10, bytesWritten: 20, wallS: 0.5, cpuS: 0.4, stallS: 0.2),
        peakRSSBytes: 50_000_000, cpuS: 2.0,
        timeseries: [TimeSeriesPoint(tS: 1, ops: 400, p99Us: 10, compactions: 1, stallS: 0.2),
                     TimeSeriesPoint(tS: 2, ops: 450, p99Us: 11, compactions: 0, stallS: 0),
                     TimeSeriesPoint(tS: 2.5, ops: 150, p99Us: 12, compactions: 2, stallS: 0)],
        engineCounters: ["wal_bytes": 1000])
    let parameters = RunParameters(
        workload: "ycsb-a", records: 1000, operations: 1000, durationSeconds: nil, warmupOperations: nil, warmupSeconds: nil,
        threads: 1, targetRate: nil, loop: "closed", keySize: 16, valueSize: 100, scanLength: 10, distribution: "zipfian",
        zipfTheta: 0.99, hotFraction: 0.2, hotOperationFraction: 0.8, seed: 1, durability: "os", memoryBudgetBytes: 64 << 20,
        datasetBytes: 116_000, mix: ["read": 0.5, "update": 0.5], writerRate: nil)
    let manifest = Manifest(tool: "kvbench", toolVersion: "0.1.0", gitCommit: "abc", engineVersions: [engine: "1.0"],
                            cpuModel: "test cpu", cores: 2, memoryBytes: 1 << 30, kernel: "Linux", dataFilesystem: "ext4",
                            startTime: "2026-01-01T00:00:00Z", command: "kvbench compare")
    return ResultsFile(manifest: manifest, runs: [RunResult(engine: engine, engineVersion: "1.0", engineSettings: ["compression": "none"],
                                                            parameters: parameters, phases: [phase])])
}

@Test func identicalResultsDoNotRegress() {
    let rows = ResultsDiff.compare(base: [sampleResults()], new: [sampleResults()], thresholdPercent: 10)
    #expect(!rows.isEmpty)
    #expect(rows.allSatisfy { !$0.regressed && $0.changePercent == 0 })
}

@Test func halvedThroughputRegresses() {
    let rows = ResultsDiff.compare(base: [sampleResults()], new: [sampleResults(throughput: 50_000)], thresholdPercent: 10)
    let throughput = rows.first { $0.metric == "run throughput (ops/s)" }
    #expect(throughput?.regressed == true)
    #expect(throughput?.changePercent == -50)
}

@Test func higherLatencyRegressesButHigherThroughputImproves() {
    let rows = ResultsDiff.compare(base: [sampleResults()], new: [sampleResults(throughput: 200_000, readP99: 30)], thresholdPercent: 10)
    #expect(rows.first { $0.metric == "run read p99 (us)" }?.regressed == true)
    #expect(rows.first { $0.metric == "run throughput (ops/s)" }?.regressed == false)
}

@Test func mediansOfSeveralFilesAreCompared() {
    let base = [sampleResults(throughput: 100_000), sampleResults(throughput: 10_000), sampleResults(throughput: 105_000)]
    let new = [sampleResults(throughput: 98_000), sampleResults(throughput: 99_000), sampleResults(throughput: 400_000)]
    let throughput = ResultsDiff.compare(base: base, new: new, thresholdPercent: 10).first { $0.metric == "run throughput (ops/s)" }
    #expect(throughput?.base == 100_000)
    #expect(throughput?.new == 99_000)
    #expect(throughput?.regressed == false)
}

@Test func reportWritesMarkdownAndCharts() throws {
    let directory = NSTemporaryDirectory() + "kvbench-report-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let written = try ReportWriter.write([sampleResults(engine: "rocksdb"), sampleResults(engine: "lmdb", writeAmp: nil)], to: directory)
    #expect(written.charts.contains("latency-run-read.svg"))
    #expect(written.charts.contains("throughput-run.svg"))
    #expect(written.charts.contains("write-amplification.svg"))
    #expect(written.charts.contains("rum.svg"))
    let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
    #expect(markdown.contains("## Fairness notes"))
    #expect(markdown.contains("Durability: os for every engine"))
    #expect(markdown.contains("![run phase: read latency by percentile](latency-run-read.svg)"))
    let chart = try String(contentsOfFile: directory + "/write-amplification.svg", encoding: .utf8)
    #expect(chart.hasPrefix("<svg"))
    #expect(chart.contains(">n/a<"))
    let merged = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/results.json")))
    #expect(merged.runs.map(\.engine) == ["rocksdb", "lmdb"])
}

@Test func sameEngineFromTwoFilesGetsDistinctLabels() {
    let labels = ReportWriter.label([sampleResults(), sampleResults()]).map(\.label)
    #expect(labels == ["rocksdb #1", "rocksdb #2"])
}

@Test func resultsRoundTripThroughJSONWithExplicitNulls() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(sampleResults(writeAmp: nil))
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\"write_amp_engine\":null"))
    #expect(text.contains("\"throughput_ops_s\":100000"))
    let decoded = try JSONDecoder().decode(ResultsFile.self, from: data)
    #expect(decoded.runs[0].phases[0].writeAmpEngine == nil)
    #expect(decoded.runs[0].phases[0].ops["read"]?.latencyUs.p99 == 12)
}

@Test func orderStatisticIntervalOfTheMedian() {
    #expect(Spread.orderStatistic(n: 5).k == 1)
    #expect(abs(Spread.orderStatistic(n: 5).coverage - 0.9375) < 1e-12)
    #expect(Spread.orderStatistic(n: 6).k == 1)
    #expect(Spread.orderStatistic(n: 10).k == 2)
    #expect(abs(Spread.orderStatistic(n: 10).coverage - (1 - 22.0 / 1024)) < 1e-12)
    let spread = Spread([5, 1, 4, 2, 3, 9, 7, 8, 6, 10])!
    #expect(spread.median == 5.5 && spread.ciLow == 2 && spread.ciHigh == 9)
}

@Test func diffFlagsOnlySignificantRegressionsWithRepetitions() {
    let base = [100_000.0, 98_000, 102_000, 101_000, 99_000].map { sampleResults(throughput: $0) }
    let halved = [50_000.0, 49_000, 51_000, 50_500, 49_500].map { sampleResults(throughput: $0) }
    let halvedRow = ResultsDiff.compare(base: base, new: halved, thresholdPercent: 10).first { $0.metric == "run throughput (ops/s)" }
    #expect(halvedRow?.significant == true)
    #expect(halvedRow?.regressed == true)
    // A 15 % lower median whose range still overlaps the base's is noise, not a regression.
    let noisy = [85_000.0, 99_000, 84_000, 86_000, 83_000].map { sampleResults(throughput: $0) }
    let noisyRow = ResultsDiff.compare(base: base, new: noisy, thresholdPercent: 10).first { $0.metric == "run throughput (ops/s)" }
    #expect(noisyRow?.significant == false)
    #expect(noisyRow?.regressed == false)
    // A single run on a side is not noise-checked: the threshold alone decides.
    let single = ResultsDiff.compare(base: [sampleResults()], new: [sampleResults(throughput: 50_000)], thresholdPercent: 10)
        .first { $0.metric == "run throughput (ops/s)" }
    #expect(single?.significant == nil)
    #expect(single?.regressed == true)
}

@Test func diffNamesDifferingParameters() {
    var other = sampleResults()
    other.runs[0].parameters.records *= 2
    other.runs[0].parameters.durability = "fsync"
    let differences = ResultsDiff.parameterDifferences(base: [sampleResults()], new: [other])
    #expect(differences.count == 2)
    #expect(differences.contains { $0.hasPrefix("records:") })
    #expect(differences.contains { $0.hasPrefix("durability:") })
    #expect(ResultsDiff.parameterDifferences(base: [sampleResults()], new: [sampleResults()]).isEmpty)
}

@Test func writeAmplificationIsComparedOnlyWithinOneView() {
    var old = sampleResults(engine: "lmdb", writeAmp: nil)
    var new = sampleResults(engine: "lmdb", writeAmp: 143)
    new.runs[0].phases[0].engineWriteSource = "wchar"
    old.runs[0].phases[0].engineWriteSource = nil
    let rows = ResultsDiff.compare(base: [old], new: [new], thresholdPercent: 10)
    #expect(!rows.contains { $0.metric.contains("write amp") }, "an OS view is never set against the issued view")
    let same = ResultsDiff.compare(base: [new], new: [new], thresholdPercent: 10)
    #expect(same.contains { $0.metric == "\(new.runs[0].phases[0].name) write amp (issued)" })
}

@Test func throughputOverTimeDrawsTheRepetitionsBand() throws {
    let single = sampleResults().runs[0]
    var slow = single, fast = single
    for index in slow.phases[0].timeseries.indices { slow.phases[0].timeseries[index].ops /= 2 }
    for index in fast.phases[0].timeseries.indices { fast.phases[0].timeseries[index].ops *= 3 }
    let band = Charts.rateBand(LabeledRun(label: "rocksdb", run: single, repetitions: [slow, single, fast]), phase: "run", seconds: 3)
    #expect(band.count == 3)
    #expect(band[0] == 200...1200)
    #expect(band[2] == 150...900)
    let withBand = try #require(Charts.throughputOverTime([LabeledRun(label: "rocksdb", run: single, repetitions: [slow, single, fast])], phase: "run"))
    let without = try #require(Charts.throughputOverTime([LabeledRun(label: "rocksdb", run: single)], phase: "run"))
    #expect(withBand.contains("band: min–max over repetitions") && withBand.contains("<polygon"))
    #expect(!without.contains("<polygon"))
}
