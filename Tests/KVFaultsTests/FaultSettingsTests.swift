import KVFaults
import Testing

/// `corrupt-test --setting` reaches every child: the verifier's and the abandoned build's command lines.
@Test func verifierArgumentsCarryTheEngineSettings() {
    var configuration = CrashTestConfiguration(engine: "leveldb", durability: .fsync, mode: .process, method: .none,
                                               crashes: 1, seed: 0, workDirectory: "/w", executable: "/bin/kvbench")
    #expect(!configuration.verifierArguments(directory: "/w/db", create: false).contains("--setting"))
    configuration.settings = ["leveldb.paranoid_checks": "false", "a.b": "1"]
    let arguments = configuration.verifierArguments(directory: "/w/db", create: false)
    #expect(Array(arguments.suffix(4)) == ["--setting", "a.b=1", "--setting", "leveldb.paranoid_checks=false"])
}

/// `crash-test --setting` reaches the worker as well as the verifier.
@Test func workerArgumentsCarryTheEngineSettings() {
    var configuration = CrashTestConfiguration(engine: "lsm", durability: .fsync, mode: .process, method: .none,
                                               crashes: 1, seed: 0, workDirectory: "/w", executable: "/bin/kvbench")
    #expect(!configuration.workerArguments(directory: "/w/db", startSequence: 1, seed: 1, powerLossAfter: nil).contains("--setting"))
    configuration.settings = ["lsm.compaction": "tiered"]
    let arguments = configuration.workerArguments(directory: "/w/db", startSequence: 1, seed: 1, powerLossAfter: 5)
    #expect(Array(arguments.suffix(2)) == ["--setting", "lsm.compaction=tiered"])
}
