import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The command line as a user meets it: each test runs the built `kvbench` binary as a child process.

@Test func versionNamesTheToolAndTheCommit() throws {
    let result = try CLI.run(["--version"], environment: ["KVBENCH_GIT_COMMIT": "abc123"])
    #expect(result.status == 0)
    #expect(result.standardOutput == "kvbench 0.1.0 (git commit abc123)\n")
}

@Test(arguments: [
    (["--records", "-5"], "--records -5 is out of range"),
    (["--records", "9223372036854775000"], "--records 9223372036854775000 is out of range"),
    (["--workload", "ycsb-a", "--zipf-theta=-1"], "--zipf-theta -1.0 is out of range"),
    (["--workload", "ycsb-a", "--zipf-theta", "nan"], "--zipf-theta nan is out of range"),
    (["--workload", "ycsb-a", "--zipf-theta", "inf"], "--zipf-theta inf is out of range"),
    (["--memory-budget", "100000GiB"], "more than this machine's memory"),
    (["--memory-budget", "1e30GiB"], "cannot read --memory-budget"),
    (["--workload", "ycsb-a", "--target-rate", "inf"], "--target-rate inf is out of range"),
    (["--threads", "0"], "--threads 0 is out of range"),
    (["--key-size", "4"], "--key-size 4 is out of range"),
    (["--value-size", "-1"], "--value-size -1 is out of range"),
    (["--workload", "seekrandom", "--scan-length", "0"], "--scan-length 0 is out of range"),
    (["--workload", "ycsb-a", "--operations", "0"], "--operations 0 is out of range"),
    (["--workload", "ycsb-a", "--duration", "-1"], "--duration -1.0 is out of range"),
    (["--workload", "ycsb-a", "--warmup", "1e9s"], "--warmup 1000000000.0 is out of range"),
    (["--workload", "readwhilewriting", "--threads", "2", "--writer-rate", "0"], "--writer-rate 0.0 is out of range"),
    (["--workload", "ycsb-a", "--distribution", "hotspot", "--hot-fraction", "2"], "--hot-fraction 2.0 is out of range"),
    (["--hot-op-fraction", "nan"], "--hot-op-fraction nan is out of range"),
])
func aNumberOutOfRangeIsOneLineNamingTheRangeAndExit64(arguments: [String], message: String) throws {
    let result = try CLI.run(["run", "--engine", "null", "--quiet"] + arguments)
    #expect(result.status == 64, "\(arguments): \(result.standardError)")
    #expect(!result.signaled)
    #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    #expect(!result.standardError.contains("Missing value"))
}

@Test(arguments: [
    (["crash-test", "--engine", "lsm", "--crashes", "-1"], "--crashes -1 is out of range"),
    (["crash-test", "--engine", "lsm", "--key-space", "5"], "--key-space 5 is out of range"),
    (["crash-test", "--engine", "lsm", "--max-delay-ms", "-3"], "--max-delay-ms -3 is out of range"),
    (["crash-test", "--engine", "lsm", "--setting", "lsm.compaction"], "--setting 'lsm.compaction' must be name=value"),
    (["crash-test", "--engine", "lsm", "--threads", "17"], "--threads 17 is out of range"),
    (["crash-test", "--engine", "lsm", "--threads", "4", "--key-space", "40"], "--key-space 40 is too small for --threads 4"),
    (["corrupt-test", "--engine", "lsm", "--key-space", "99"], "--key-space 99 is out of range"),
    (["keys", "--items", "0"], "--items 0 is out of range"),
    (["keys", "--samples", "-2"], "--samples -2 is out of range"),
    (["keys", "--zipf-theta", "nan"], "--zipf-theta nan is out of range"),
    (["diff", "a.json", "b.json", "--threshold", "inf"], "--threshold inf is out of range"),
])
func otherCommandsCheckTheirRangesToo(arguments: [String], message: String) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 64, "\(arguments): \(result.standardError)")
    #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
}

/// An engine setting the engine would refuse at open is refused before anything runs, by
/// every command that takes settings, with the engine's sentence and the usage status.
@Test(arguments: [
    (["run", "--engine", "lsm", "--setting", "lsm.nosuch=1"], "--setting lsm.nosuch: unknown LSM setting; known: "),
    (["compare", "--engines", "null,btree", "--setting", "btree.page_size=3000"], "--setting btree.page_size: expected a power of two in 512...32768, got 3000"),
    (["sweep", "--engines", "lsm", "--vary", "setting:lsm.size_ratio=4,1", "--out", "/nonexistent/sweep"],
     "at setting:lsm.size_ratio = 1: --setting lsm.size_ratio: expected an integer in 2...100, got 1"),
    (["capacity", "--engines", "lsm", "--workload", "ycsb-a", "--slo", "p99=1ms", "--setting", "lsm.l0_stop_trigger=2"],
     "--setting lsm.l0_slowdown_trigger: L0 triggers must satisfy compaction <= slowdown <= stop"),
    (["crash-test", "--engine", "lsm", "--setting", "lsm.compaction=foo"], "--setting lsm.compaction: expected one of leveled, tiered, lazy-leveling, got foo"),
    (["corrupt-test", "--engine", "leveldb", "--setting", "leveldb.paranoid_checks=maybe"], "--setting leveldb.paranoid_checks: expected true or false, got maybe"),
])
func aRefusedEngineSettingIsAUsageErrorBeforeAnythingRuns(arguments: [String], message: String) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 64, "\(arguments): \(result.standardError)")
    #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    #expect(!result.standardOutput.contains("running"), "\(arguments) started a run: \(result.standardOutput)")
}

/// A setting named for an engine that is not run is not judged (nor given to the engines that are).
@Test func aSettingForAnEngineNotRunIsNotJudged() throws {
    let result = try CLI.run(["run", "--engine", "null", "--records", "100", "--quiet", "--setting", "lsm.nosuch=1", "--memory-limit", "off"])
    #expect(result.status == 0, "\(result.standardError)")
}

@Test func distributionNameAndParameterErrorsSayDifferentThings() throws {
    let unknown = try CLI.run(["run", "--engine", "null", "--distribution", "zipfy"])
    #expect(unknown.status == 64)
    #expect(unknown.standardError.contains("unknown distribution 'zipfy'"))
    let badTheta = try CLI.run(["run", "--engine", "null", "--distribution", "zipfian", "--zipf-theta=-1"])
    #expect(badTheta.status == 64)
    #expect(!badTheta.standardError.contains("unknown distribution"), "\(badTheta.standardError)")
    #expect(badTheta.standardError.contains("--zipf-theta -1.0 is out of range"))
}

@Test func workloadNamesAndFilesHaveTheirOwnMessagesAndStatuses() throws {
    let scratch = try Scratch()
    let binary = scratch.path + "/binary.properties"
    try Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: binary))
    let empty = scratch.path + "/empty.properties"
    try "# only a comment\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
    let cases: [([String], Int32, String)] = [
        (["--workload", "nosuch"], 64, "unknown workload 'nosuch'"),
        (["--workload", scratch.path + "/missing.properties"], 2, "workload file \(scratch.path)/missing.properties does not exist"),
        (["--workload", binary], 2, "workload file \(binary) is not a text file"),
        (["--workload", empty], 2, "workload file \(empty) is empty"),
        (["--workload", "fillrandom", "--duration", "3"], 64, "fillrandom is a load-only workload and has no run phase, so --duration would be ignored"),
        (["--workload", "fillrandom", "--operations", "5"], 64, "so --operations would be ignored"),
    ]
    for (arguments, status, message) in cases {
        let result = try CLI.run(["run", "--engine", "null", "--quiet"] + arguments)
        #expect(result.status == status, "\(arguments): \(result.standardError)")
        #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    }
}

@Test func lmdbWithoutDurabilityIsTheSameUsageErrorForRunAndCrashTest() throws {
    let run = try CLI.run(["run", "--engine", "lmdb", "--durability", "none"])
    let crash = try CLI.run(["crash-test", "--engine", "lmdb", "--durability", "none"])
    #expect(run.status == 64 && crash.status == 64, "\(run.status) \(crash.status)")
    #expect(crash.standardError.contains("--durability none is not available for lmdb"))
    let unknownEngine = try CLI.run(["run", "--engine", "nosuch"])
    let unknownWorkload = try CLI.run(["run", "--engine", "null", "--workload", "nosuch"])
    #expect(unknownEngine.status == unknownWorkload.status)
}

@Test func outputPathsAreCheckedBeforeTheRunInWords() throws {
    let scratch = try Scratch()
    let cases: [([String], String)] = [
        (["run", "--engine", "null", "--json", "/nonexistent-dir/x.json"], "the directory /nonexistent-dir does not exist"),
        (["run", "--engine", "null", "--json", scratch.path], "is a directory"),
        (["compare", "--engines", "null", "--out", "/etc/hostname/report"], "/etc/hostname is a file"),
    ]
    for (arguments, message) in cases {
        let result = try CLI.run(arguments + ["--records", "100", "--quiet"])
        #expect(result.status == 64, "\(arguments): \(result.standardError)")
        #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        #expect(!result.standardError.contains("NSCocoaErrorDomain"))
        #expect(!result.standardOutput.contains("load phase"), "the run must not start: \(result.standardOutput)")
    }
}

@Test func reportRefusesToRewriteItsOwnInput() throws {
    let scratch = try Scratch()
    let out = scratch.path + "/report"
    let compare = try CLI.run(["compare", "--engines", "null", "--records", "200", "--quiet", "--out", out])
    #expect(compare.status == 0, "\(compare.standardError)")
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))
    let again = try CLI.run(["report", out + "/results.json", "--out", out])
    #expect(again.status == 64, "\(again.standardError)")
    #expect(again.standardError.contains("would rewrite its input"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/results.json")) == before)
    for _ in 0..<2 {
        let relative = try CLI.run(["report", out + "/results.json", "--out", "Y"])
        #expect(relative.status == 0, "a relative --out is fine: \(relative.standardError)")
    }
    let json = try CLI.run(["run", "--engine", "null", "--records", "100", "--quiet", "--json", "r.json"])
    #expect(json.status == 0, "a relative --json is fine: \(json.standardError)")
}

@Test func failedOperationsLeaveThroughputAndExitThree() throws {
    let scratch = try Scratch()
    let json = scratch.path + "/results.json"
    let arguments = ["run", "--engine", "lmdb", "--records", "20000", "--setting", "lmdb.map_size=1048576", "--quiet", "--json", json]
    let result = try CLI.run(arguments)
    #expect(result.status == 3, "\(result.standardError)")
    #expect(result.standardOutput.contains("failed operations"))
    #expect(result.standardError.contains("--allow-errors"))
    let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let phase = ((file?["runs"] as? [[String: Any]])?.first?["phases"] as? [[String: Any]])?.first ?? [:]
    let operations = phase["operations"] as? Double ?? 0, errors = phase["errors"] as? Double ?? -1
    let elapsed = phase["elapsed_s"] as? Double ?? 1, throughput = phase["throughput_ops_s"] as? Double ?? 0
    #expect(errors > 0 && errors < operations)
    #expect(abs(throughput - (operations - errors) / elapsed) < 0.01 * throughput)
    let allowed = try CLI.run(arguments + ["--allow-errors"])
    #expect(allowed.status == 0, "\(allowed.standardError)")
}

@Test func twoRunsStartedTogetherOnANewDirectoryNeverBothWriteIt() throws {
    for _ in 0..<4 {
        let scratch = try Scratch()
        let dir = scratch.path + "/db"
        let first = try Scratch(), second = try Scratch()
        let arguments = ["run", "--engine", "btree", "--records", "3000", "--quiet", "--dir", dir]
        let a = try CLI.start(arguments, in: first.path), b = try CLI.start(arguments, in: second.path)
        let resultA = CLI.finish(a, in: first.path), resultB = CLI.finish(b, in: second.path)
        #expect([resultA.status, resultB.status].sorted() == [0, 64], "\(resultA.standardError) \(resultB.standardError)")
    }
}

@Test func faultCommandsRefuseADirectoryTheyDidNotCreate() throws {
    let scratch = try Scratch()
    let dir = scratch.path + "/work"
    try FileManager.default.createDirectory(atPath: dir + "/db", withIntermediateDirectories: true)
    try "keep me".write(toFile: dir + "/db/data", atomically: true, encoding: .utf8)
    for command in ["crash-test", "corrupt-test"] {
        let result = try CLI.run([command, "--engine", "lsm", "--dir", dir])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("was not created by kvbench \(command)"))
    }
    #expect(try String(contentsOfFile: dir + "/db/data", encoding: .utf8) == "keep me")
}

/// `corrupt-test --setting` takes name=value, and refuses a name the engine does not know in one line (64).
@Test func corruptTestRefusesBadSettings() throws {
    let malformed = try CLI.run(["corrupt-test", "--engine", "leveldb", "--setting", "leveldb.paranoid_checks"])
    #expect(malformed.status == 64, "\(malformed.standardError)")
    #expect(malformed.standardError.contains("--setting 'leveldb.paranoid_checks' must be name=value"))
    let unknown = try CLI.run(["corrupt-test", "--engine", "leveldb", "--setting", "leveldb.bogus=1"])
    #expect(unknown.status == 64, "\(unknown.standardError)")
    #expect(unknown.standardError.contains("--setting leveldb.bogus: unknown LevelDB setting; known: leveldb.paranoid_checks"),
            "\(unknown.standardError)")
}

@Test func crashTestLeavesAStoreThatAnotherKVBenchHoldsOpen() throws {
    let scratch = try Scratch()
    let dir = scratch.path + "/work"
    try FileManager.default.createDirectory(atPath: dir + "/db", withIntermediateDirectories: true)
    try "kvbench crash-test\n".write(toFile: dir + "/KVBENCH-WORKDIR", atomically: true, encoding: .utf8)
    try "entries".write(toFile: dir + "/db/data", atomically: true, encoding: .utf8)
    let fd = open(dir + "/db/KVBENCH.LOCK", O_RDWR | O_CREAT, 0o644)
    defer { close(fd) }
    #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
    let result = try CLI.run(["crash-test", "--engine", "lsm", "--crashes", "1", "--dir", dir])
    #expect(result.status == 64, "\(result.standardError)")
    #expect(result.standardError.contains("\(dir)/db is open in another kvbench process"))
    #expect(try String(contentsOfFile: dir + "/db/data", encoding: .utf8) == "entries")
}

@Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
func aSignalStopsTheRunRemovesItsDirectoryAndWritesPartialResults(signal: Int32, status: Int32) throws {
    let scratch = try Scratch()
    let temporary = scratch.path + "/tmp"
    try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
    let json = scratch.path + "/results.json"
    let child = try CLI.start(["run", "--engine", "lsm", "--workload", "fillrandom", "--records", "100000000", "--quiet", "--json", json],
                              in: scratch.path, environment: ["TMPDIR": temporary])
    // Signal once the load is writing (the engine's log holds bytes), however slowly a busy machine started it.
    var waited = 0
    while !containsWrittenLog(temporary) && waited < 1200 {
        usleep(50_000)
        waited += 1
    }
    kill(child.processIdentifier, signal)
    for _ in 0..<600 where child.isRunning { usleep(100_000) }
    if child.isRunning { kill(child.processIdentifier, SIGKILL) }
    let result = CLI.finish(child, in: scratch.path)
    #expect(!result.signaled, "the handler must catch the signal")
    #expect(result.status == status, "\(result.standardError)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "the temporary database directory is removed")
    let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    #expect(file?["partial"] as? Bool == true)
    let run = (file?["runs"] as? [[String: Any]])?.first ?? [:]
    #expect(run["partial"] as? Bool == true)
    let load = (run["phases"] as? [[String: Any]])?.first ?? [:]
    let inserted = load["operations"] as? Double ?? 0
    #expect(inserted > 0 && inserted < 100_000_000)
}

/// True when some LSM log below `directory` holds bytes (the load has begun).
private func containsWrittenLog(_ directory: String) -> Bool {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return false }
    for case let name as String in walker where name.hasSuffix(".log") {
        let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
        if attributes?[.type] as? FileAttributeType == .typeRegular, (attributes?[.size] as? NSNumber)?.intValue ?? 0 > 0 { return true }
    }
    return false
}
