import ArgumentParser

/// `kvbench`: drive key-value engines with identical workloads and measure them honestly.
@main
struct KVBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvbench",
        abstract: "Compare storage engines (LSM tree, B+tree, RocksDB, LMDB) under identical workloads.",
        subcommands: [ListCommand.self, RunCommand.self, CompareCommand.self, ReportCommand.self, DiffCommand.self, KeysCommand.self,
                      CrashTestCommand.self, CrashWorkerCommand.self, CrashVerifyCommand.self, CorruptTestCommand.self, CorruptBuildCommand.self, ChildRunCommand.self]
    )
}
