import Foundation
import KVResults
import Testing

/// Runs the built `kvbench` (beside this test binary) and returns its exit status and standard output.
func kvbench(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let directory = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).deletingLastPathComponent()
    let process = Process()
    process.executableURL = directory.appendingPathComponent("kvbench")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func temporaryPath(_ name: String) -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-cli-\(getpid())")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}

func loadResults(_ path: String) throws -> ResultsFile {
    try JSONDecoder().decode(ResultsFile.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
}

@Test func anEngineThatAbortsIsReportedAndTheOthersStill() throws {
    let json = temporaryPath("abort.json")
    let (status, output) = try kvbench(["compare", "--engines", "btree,null", "--workload", "fillrandom", "--records", "2000",
                                        "--setting", "null.abort=close", "--memory-limit", "off", "--quiet", "--json", json])
    #expect(status == 1)
    #expect(output.contains("FAILED: null repetition 1: killed by signal 6 (SIGABRT)"))
    let results = try loadResults(json)
    #expect(results.runs.map(\.engine) == ["btree"])
    #expect(results.failedRuns?.first?.signal == 6)
    #expect(results.failedRuns?.first?.stderrTail.last?.contains("null.abort=close") == true)
}

@Test func repetitionsAreInterleavedWithTheOrderRotated() throws {
    let json = temporaryPath("repeat.json")
    let (status, output) = try kvbench(["compare", "--engines", "btree,null", "--workload", "readrandom", "--records", "1000",
                                        "--repeat", "3", "--memory-limit", "off", "--quiet", "--json", json])
    #expect(status == 0)
    let results = try loadResults(json)
    #expect(results.runs.map { "\($0.engine)\($0.repetition ?? 0)" } == ["btree1", "null1", "null2", "btree2", "btree3", "null3"])
    #expect(results.summary?.map(\.repetitions) == [3, 3])
    #expect(results.runs.allSatisfy { $0.phases.first?.pageCache == "cold" && $0.phases.last?.pageCache == "warm" })
    #expect(output.contains("repetitions"))
}

@Test func lmdbStaysUnderAnEnforcedMemoryLimit() throws {
    let json = temporaryPath("limit.json")
    let (status, output) = try kvbench(["run", "--engine", "lmdb", "--workload", "readrandom", "--records", "300000",
                                        "--operations", "20000", "--memory-limit", "16MiB", "--quiet", "--json", json])
    if output.isEmpty && status != 0 {
        // No writable memory cgroup here: an explicit size must then fail rather than run unlimited.
        let auto = try kvbench(["run", "--engine", "null", "--records", "100", "--quiet"])
        #expect(auto.output.contains("memory limit not enforced:"))
        return
    }
    #expect(status == 0)
    let results = try loadResults(json)
    let run = try #require(results.runs.first)
    let limit = try #require(run.memoryLimit)
    #expect(limit.enforced)
    #expect(limit.limitBytes == 16 << 20)
    #expect(run.parameters.datasetBytes > 2 * (16 << 20))
    #expect(try #require(limit.peakBytes) <= 16 << 20)
    #expect(run.engineSettings["readahead"] == "off (MDB_NORDAHEAD)")
    #expect(output.contains("cgroup peak (MiB)"))
    #expect(output.contains("enforced by a cgroup"))
}

@Test func diffExitCodes() throws {
    let small = temporaryPath("small.json"), large = temporaryPath("large.json")
    for (path, records) in [(small, "1000"), (large, "2000")] {
        let (status, _) = try kvbench(["run", "--engine", "null", "--workload", "readrandom", "--records", records,
                                       "--memory-limit", "off", "--quiet", "--json", path])
        #expect(status == 0)
    }
    let different = try kvbench(["diff", small, large])
    #expect(different.status == 2)
    let allowed = try kvbench(["diff", small, large, "--allow-different-parameters", "--threshold", "1000"])
    #expect(allowed.status == 0)
    #expect(allowed.output.contains("not noise-checked"))
    let missing = try kvbench(["diff", small, temporaryPath("missing.json")])
    #expect(missing.status == 2)
}

@Test func anInterruptIsForwardedToTheChildAndStopsFurtherRuns() throws {
    let json = temporaryPath("interrupt.json")
    let directory = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).deletingLastPathComponent()
    let process = Process()
    process.executableURL = directory.appendingPathComponent("kvbench")
    process.arguments = ["compare", "--engines", "null,btree", "--workload", "readrandom", "--records", "1000",
                         "--operations", "1000000000", "--memory-limit", "off", "--quiet", "--json", json]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: 3)
    process.interrupt()
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    #expect(process.terminationStatus == 130)
    let results = try loadResults(json)
    #expect(!results.runs.contains { $0.engine == "btree" })
    #expect(!(results.failedRuns ?? []).contains { $0.engine == "btree" })
}
