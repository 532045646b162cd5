import Foundation
import KVResults
import Testing

@Test(arguments: ["p99", "p98=1ms", "p99=fast", "p99=1", "p99=0ms"])
func aBadObjectiveIsAUsageError(slo: String) throws {
    let result = try CLI.run(["capacity", "--engines", "null", "--workload", "readrandom", "--records", "100", "--slo", slo])
    #expect(result.status == 64, "\(slo): \(result.standardError)")
    #expect(result.standardError.contains("--slo"), "\(result.standardError)")
}

@Test func capacityOptionsItChoosesItselfAreRefused() throws {
    for extra in [["--target-rate", "1000"], ["--duration", "2"], ["--resolution", "0%"], ["--start-rate", "5000", "--max-rate", "1000"]] {
        let result = try CLI.run(["capacity", "--engines", "null", "--workload", "readrandom", "--records", "100", "--slo", "p99=1ms"] + extra)
        #expect(result.status == 64, "\(extra): \(result.standardError)")
    }
    let loadOnly = try CLI.run(["capacity", "--engines", "null", "--workload", "fillrandom", "--records", "100", "--slo", "p99=1ms"])
    #expect(loadOnly.status == 64 && loadOnly.standardError.contains("load-only"), "\(loadOnly.standardError)")
}

@Test func anObjectiveNoRateMeetsIsSaidSo() throws {
    let json = temporaryPath("capacity-miss.json")
    let (status, output) = try kvbench(["capacity", "--engines", "null", "--workload", "readrandom", "--records", "1000", "--slo", "p99=1ns",
                                        "--window", "0.2", "--warmup", "0", "--memory-limit", "off", "--quiet", "--json", json])
    #expect(status == 0, "\(output)")
    #expect(output.contains("null misses p99 ≤ 1 ns even at 1,000 ops/s"), "\(output)")
    let results = try JSONDecoder().decode(CapacityResults.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
    #expect(results.probes.count == 1 && results.probes[0].meetsSLO == false)
    #expect(results.engines[0].sustainedOpsS == nil && results.engines[0].repetitions[0].outcome == .missedAtStart)
}

@Test func capacityRampsToTheCeilingAndWritesItsReport() throws {
    let out = temporaryPath("capacity-report")
    // Low rates and a generous objective, so that a loaded test machine still meets it (the figures are not the point).
    let (status, output) = try kvbench(["capacity", "--engines", "null", "--workload", "readrandom", "--records", "1000", "--slo", "p99=1s",
                                        "--window", "1", "--warmup", "0", "--start-rate", "100", "--max-rate", "400", "--repeat", "2",
                                        "--memory-limit", "off", "--quiet", "--out", out])
    #expect(status == 0, "\(output)")
    #expect(output.contains("null sustains"), "\(output)")
    let results = try JSONDecoder().decode(CapacityResults.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/results.json")))
    #expect(results.engines.count == 1 && results.engines[0].repetitions.map(\.repetition) == [1, 2])
    #expect(results.probes.first?.offeredOpsS == 100 && results.probes.first?.stage == "ramp")
    #expect(results.probes.allSatisfy { $0.achievedOpsS != nil && $0.percentileUs != nil })
    #expect(results.engines[0].sustainedOpsS != nil)
    #expect(results.parameters?.loop == "open (run phase; closed-loop load)")
    for file in ["report.md", "report.html", "capacity.svg"] {
        #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
    }
    let again = temporaryPath("capacity-report-again")
    let (reportStatus, reportOutput) = try kvbench(["report", out + "/results.json", "--out", again])
    #expect(reportStatus == 0, "\(reportOutput)")
    #expect(FileManager.default.fileExists(atPath: again + "/report.html"))
}

@Test func capacitySearchesTheNullEngineAsTheHarnessFloor() throws {
    let arguments = ["capacity", "--engines", "lsm", "--workload", "readrandom", "--records", "1000", "--slo", "p99=1s", "--window", "0.3",
                     "--warmup", "0", "--start-rate", "100", "--max-rate", "200", "--memory-limit", "off", "--quiet"]
    let json = temporaryPath("capacity-floor.json")
    let (status, output) = try kvbench(arguments + ["--json", json])
    #expect(status == 0, "\(output)")
    #expect(output.contains("harness floor (null engine)") && output.contains("harness floor: null sustains"), "\(output)")
    let results = try JSONDecoder().decode(CapacityResults.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
    #expect(results.engines.map(\.engine) == ["lsm"])
    #expect(results.harnessFloor?.engine == "null" && results.harnessFloor?.repetitions.count == 1)
    #expect(results.engines[0].limitedByHarness != nil)
    #expect(Set(results.probes.map(\.engine)) == ["lsm", "null"])
    #expect(results.manifest.engineVersions["null"] != nil)

    let bare = temporaryPath("capacity-no-floor.json")
    let (bareStatus, bareOutput) = try kvbench(arguments + ["--no-harness-floor", "--json", bare])
    #expect(bareStatus == 0, "\(bareOutput)")
    let withoutFloor = try JSONDecoder().decode(CapacityResults.self, from: Data(contentsOf: URL(fileURLWithPath: bare)))
    #expect(withoutFloor.harnessFloor == nil && withoutFloor.engines[0].limitedByHarness == nil)
    #expect(Set(withoutFloor.probes.map(\.engine)) == ["lsm"])
}
