import Foundation
@testable import KVReports
import KVResults
import Testing

/// A sweep of lsm and btree over three memory budgets, two repetitions each, with a load and a run phase.
func sampleSweep() -> SweepFile {
    let values = ["16MiB", "64MiB", "256MiB"]
    let definition = SweepDefinition(parameter: "memory-budget", values: values, scale: "geometric", engines: ["lsm", "btree"],
                                     repetitions: 2, arguments: ["--workload", "readrandom"])
    let base = sampleResults()
    var file = SweepFile(definition: definition, manifest: base.manifest, sessions: ["2026-01-01T00:00:00Z"])
    for (index, value) in values.enumerated() {
        for engine in definition.engines {
            for repetition in 1...2 {
                var run = base.runs[0]
                run.engine = engine
                run.processPeakRSSBytes = UInt64(50 + index) << 20
                run.repetition = repetition
                run.engineSettings = engine == "lsm"
                    ? ["memtable_bytes": String((4 << 20) << (2 * index)), "level_size_ratio": "10", "l0_triggers": "compaction 4, slowdown 8, stop 12"]
                    : ["page_size": "4096", "checkpoint_pages": "2048", "checkpoint_log_bytes": "4194304"]
                var load = run.phases[0]
                load.name = "load"
                load.throughputOpsS = Double(100_000 * (index + 1) + repetition * 1000)
                var read = run.phases[0]
                read.readAmp = Double(index + repetition)
                read.userBytesWritten = 0
                run.phases = [load, read]
                file.points.append(SweepPoint(valueIndex: index, value: value, engine: engine, repetition: repetition, run: run))
            }
        }
    }
    file.partial = false
    return file
}

@Test func sweepReportWritesEveryChartWithOneSeriesPerEngine() throws {
    let directory = NSTemporaryDirectory() + "kvbench-sweep-report-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let written = try SweepReport.write(sampleSweep(), to: directory)
    for chart in ["throughput-load.svg", "throughput-run.svg", "latency-run-read-p50.svg", "latency-run-read-p99.svg", "latency-run-update-p999.svg",
                  "write-amp.svg", "read-amp.svg", "space-amp.svg", "peak-memory.svg", "rum.svg"] {
        #expect(written.charts.contains(chart), "\(chart) missing from \(written.charts)")
        #expect(FileManager.default.fileExists(atPath: directory + "/" + chart))
    }
    for chart in written.charts where chart != "rum.svg" {
        let svg = try String(contentsOfFile: directory + "/" + chart, encoding: .utf8)
        for color in ["#1f77b4", "#2ca02c"] {
            let lines = svg.components(separatedBy: "<polyline").dropFirst()
                .filter { $0.prefix { $0 != ">" }.contains("stroke=\"\(color)\"") }
            #expect(lines.count == 1, "\(chart): \(lines.count) lines of \(color)")
        }
    }
    let readAmp = try String(contentsOfFile: directory + "/read-amp.svg", encoding: .utf8)
    #expect(readAmp.contains("stroke-dasharray=\"7 5\""), "the model is drawn dashed")
    #expect(readAmp.contains("lsm model") && readAmp.contains("btree model"))
    let report = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
    #expect(report.contains("| lsm measured ÷ model |"))
    #expect(report.contains("## The model beside the measurement"))
    #expect(report.contains("![RUM trade-off"))
}

@Test func sweepChartsUseALogAxisForGeometricValues() {
    let geometric = SweepCharts.xPositions(numbers: [16, 64, 256], scale: "geometric", count: 3, left: 0, right: 100)
    #expect(abs((geometric[1] - geometric[0]) - (geometric[2] - geometric[1])) < 1e-9)
    let linear = SweepCharts.xPositions(numbers: [16, 64, 256], scale: "linear", count: 3, left: 0, right: 100)
    #expect(linear[1] - linear[0] < linear[2] - linear[1])
}

@Test func paretoFrontKeepsThePointsNoOtherBeatsEverywhere() {
    let points = [
        SweepCharts.RUMPoint(engine: "a", value: "1", readAmp: 1, writeAmp: 10, spaceAmp: 1.1),
        SweepCharts.RUMPoint(engine: "b", value: "1", readAmp: 3, writeAmp: 2, spaceAmp: 1.5),
        SweepCharts.RUMPoint(engine: "c", value: "1", readAmp: 3, writeAmp: 11, spaceAmp: 1.6),
        SweepCharts.RUMPoint(engine: "d", value: "1", readAmp: 4, writeAmp: 12, spaceAmp: 1.0),
    ]
    #expect(SweepCharts.paretoFront(points) == [0, 1, 3])
}

@Test func sweepScheduleInterleavesRoundsAndSkipsWhatIsDone() {
    var file = sampleSweep()
    #expect(file.schedule.count == 12)
    #expect(file.schedule.prefix(4).map(\.engine) == ["lsm", "btree", "lsm", "btree"])
    #expect(file.schedule[6].engine == "btree" && file.schedule[6].repetition == 2)
    #expect(file.remaining.isEmpty)
    file.points.removeAll { $0.valueIndex == 1 && $0.repetition == 2 }
    #expect(file.remaining.map(\.valueIndex) == [1, 1])
}
