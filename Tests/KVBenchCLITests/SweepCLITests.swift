import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// `kvbench sweep` as a user meets it: the built binary, the null engine, tiny record counts.

@Test(arguments: [
    (["--vary", "speed=1,2"], "unknown --vary parameter 'speed'"),
    (["--vary", "records="], "--vary records= gives no values"),
    (["--vary", "value-size=16..4096"], "cannot read the range '16..4096'"),
    (["--vary", "threads=0,1"], "at threads = 0: --threads 0 is out of range"),
    (["--vary", "zipf-theta=0.5", "--format", "ycsb"], "--format ycsb applies to run and compare"),
    (["--vary", "records=100", "--engines", "null,nosuch"], "unknown engine 'nosuch'"),
    (["--vary", "value-size=16,64", "--share-load"], "--share-load: value-size changes what the load writes"),
    (["--vary", "setting:lsm.level_size_ratio=4,10", "--share-load"], "--share-load: setting:lsm.level_size_ratio changes what the load writes"),
    (["--vary", "memory-budget=16MiB,32MiB", "--workload", "fillrandom", "--share-load"], "--share-load: fillrandom is a load-only workload"),
])
func sweepRefusesBadInputInOneLineWithExit64(arguments: [String], message: String) throws {
    let scratch = try Scratch()
    var command = ["sweep", "--out", scratch.path + "/out", "--quiet"] + arguments
    if !arguments.contains("--engines") { command += ["--engines", "null"] }
    let result = try CLI.run(command)
    #expect(result.status == 64, "\(arguments): \(result.standardError)")
    #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    #expect(result.standardError.split(separator: "\n").count <= 3, "\(result.standardError)")
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out"), "nothing is created")
}

/// Polls `condition` every 50 ms for up to a minute.
private func waitUntil(_ condition: () -> Bool) {
    for _ in 0..<1200 where !condition() { usleep(50_000) }
}

/// Sends `signal` to `child` and waits up to a minute for it to end (SIGKILL after that).
private func stop(_ child: Process, with signal: Int32) {
    kill(child.processIdentifier, signal)
    for _ in 0..<600 where child.isRunning { usleep(100_000) }
    if child.isRunning { kill(child.processIdentifier, SIGKILL) }
}

/// `sweep.json` of `directory` as JSON.
private func sweepJSON(_ directory: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/sweep.json"))) as? [String: Any] ?? [:]
}

private func points(_ file: [String: Any]) -> [[String: Any]] { file["points"] as? [[String: Any]] ?? [] }

@Test func aSweepWithSomePointsDoneRunsOnlyTheRest() throws {
    let scratch = try Scratch()
    let out = scratch.path + "/out"
    let arguments = ["sweep", "--engines", "null", "--workload", "readrandom", "--vary", "records=500,1000,2000", "--repeat", "2", "--out", out]
    let first = try CLI.run(arguments)
    #expect(first.status == 0, "\(first.standardError)")
    var file = try sweepJSON(out)
    #expect(points(file).count == 6)
    #expect(file["partial"] as? Bool == false)
    for chart in ["throughput-load.svg", "throughput-run.svg", "latency-run-read-p99.svg", "peak-memory.svg"] {
        #expect(FileManager.default.fileExists(atPath: out + "/" + chart), "\(chart)")
    }
    #expect(first.standardOutput.contains("report: \(out)/report.md"))

    // As if interrupted before the last two points: drop them, and resume.
    let kept = points(file).filter { ($0["value_index"] as? Int) != 2 }
    file["points"] = kept
    file["partial"] = true
    try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: out + "/sweep.json"))
    let keptElapsed = kept.map { (($0["run"] as? [String: Any])?["phases"] as? [[String: Any]])?.first?["elapsed_s"] as? Double }
    let second = try CLI.run(arguments)
    #expect(second.status == 0, "\(second.standardError)")
    #expect(second.standardError.contains("resuming: 4 of 6 points already done in \(out), 2 to run"), "\(second.standardError)")
    #expect(second.standardError.components(separatedBy: "point ").filter { $0.contains(" of 6: null") }.count == 2, "\(second.standardError)")
    let resumed = try sweepJSON(out)
    #expect(points(resumed).count == 6)
    #expect(resumed["partial"] as? Bool == false)
    #expect((resumed["sessions"] as? [Any])?.count == 2)
    let resumedElapsed = points(resumed).prefix(4).map { (($0["run"] as? [String: Any])?["phases"] as? [[String: Any]])?.first?["elapsed_s"] as? Double }
    #expect(resumedElapsed == keptElapsed, "the points done are kept, not run again")

    // Another sweep into the same directory is refused, and the directory is left as it was.
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json"))
    let other = try CLI.run(["sweep", "--engines", "null", "--workload", "readrandom", "--vary", "records=500,1000", "--out", out, "--quiet"])
    #expect(other.status == 64, "\(other.standardError)")
    #expect(other.standardError.contains("holds a different sweep (over 500,1000,2000, not 500,1000)"), "\(other.standardError)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json")) == before)
}

@Test func aDirectoryHoldingSomethingElseIsRefused() throws {
    let scratch = try Scratch()
    let out = scratch.path + "/out"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    try Data("mine".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
    let result = try CLI.run(["sweep", "--engines", "null", "--vary", "records=100,200", "--out", out, "--quiet"])
    #expect(result.status == 64, "\(result.standardError)")
    #expect(result.standardError.contains("is not empty and holds no sweep.json"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["notes.txt"])
}

@Test func anInterruptedSweepKeepsItsFinishedPointsAndResumesFromThem() throws {
    let scratch = try Scratch()
    let out = scratch.path + "/out"
    // The first value takes milliseconds, the second long enough to be interrupted.
    let arguments = ["sweep", "--engines", "null", "--workload", "fillrandom", "--vary", "records=1000,2000000000", "--out", out, "--quiet"]
    let child = try CLI.start(arguments, in: scratch.path)
    waitUntil { (try? sweepJSON(out)).map(points)?.count ?? 0 >= 1 }
    usleep(300_000)
    stop(child, with: SIGINT)
    let result = CLI.finish(child, in: scratch.path)
    #expect(result.status == 130, "\(result.standardError)")
    #expect(result.standardError.contains("1 of 2 points done; run the same command again to resume"), "\(result.standardError)")
    let file = try sweepJSON(out)
    #expect(points(file).count == 1)
    #expect(file["partial"] as? Bool == true)

    let again = try CLI.start(arguments.filter { $0 != "--quiet" }, in: scratch.path)
    waitUntil { ((try? String(contentsOfFile: scratch.path + "/stderr", encoding: .utf8)) ?? "").contains("point 2 of 2") }
    stop(again, with: SIGTERM)
    let resumed = CLI.finish(again, in: scratch.path)
    #expect(resumed.status == 143, "\(resumed.standardError)")
    #expect(resumed.standardError.contains("resuming: 1 of 2 points already done"), "\(resumed.standardError)")
    #expect(!resumed.standardError.contains("point 1 of 2"), "the finished point is not run again")
    #expect(points(try sweepJSON(out)).count == 1)
}

@Test func aSharedLoadSweepLoadsEachEngineOnceAndRunsEveryPointOnACopy() throws {
    let scratch = try Scratch()
    let out = scratch.path + "/out"
    let arguments = ["sweep", "--engines", "lsm,btree", "--workload", "readrandom", "--records", "2000", "--operations", "1000",
                     "--vary", "memory-budget=16MiB,32MiB", "--repeat", "2", "--share-load", "--memory-limit", "off", "--out", out]
    let result = try CLI.run(arguments)
    #expect(result.status == 0, "\(result.standardError)")
    let file = try sweepJSON(out)
    #expect((file["definition"] as? [String: Any])?["load_sharing"] as? String == "copy")
    let loads = file["shared_loads"] as? [[String: Any]] ?? []
    #expect(loads.compactMap { $0["engine"] as? String }.sorted() == ["btree", "lsm"], "one load per engine in the session")
    for load in loads {
        let run = load["run"] as? [String: Any] ?? [:]
        #expect((run["phases"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["load"])
        let parameters = run["parameters"] as? [String: Any] ?? [:]
        #expect(parameters["phases"] as? String == "load-only")
        #expect(parameters["memory_budget_bytes"] as? Int == 16 << 20, "a memory-budget sweep loads at its smallest value")
    }
    #expect(points(file).count == 8)
    for point in points(file) {
        let run = point["run"] as? [String: Any] ?? [:]
        let phases = run["phases"] as? [[String: Any]] ?? []
        #expect(phases.compactMap { $0["name"] as? String } == ["run"], "a point runs on the copy without loading")
        #expect((run["parameters"] as? [String: Any])?["phases"] as? String == "run-on-loaded")
        let read = (phases.first?["ops"] as? [String: Any])?["read"] as? [String: Any] ?? [:]
        #expect(read["count"] as? Int == 1000 && read["not_found"] as? Int == 0 && read["errors"] as? Int == 0,
                "every read finds its record in the copy: \(read)")
    }
    let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    #expect(report.contains("Shared load (--share-load)") && report.contains("| engine | session | load (ops/s) |"))

    // The same sweep without --share-load is another sweep: refused, nothing changed.
    let other = try CLI.run(arguments.filter { $0 != "--share-load" })
    #expect(other.status == 64 && other.standardError.contains("holds a different sweep (with --share-load)"), "\(other.standardError)")
}
