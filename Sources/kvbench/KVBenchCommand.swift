import ArgumentParser
import Foundation
import KVWorkbench

/// `kvbench`: drive key-value engines with identical workloads and measure them honestly.
@main
struct KVBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvbench",
        abstract: "Compare storage engines (our LSM tree and B+tree; RocksDB, LevelDB, LMDB, SQLite, WiredTiger) under identical workloads.",
        discussion: "Exit status: 0 success, 1 failed run, 2 bad input file, 3 run with failed operations, 64 usage error, 130/143 interrupted by SIGINT/SIGTERM.",
        subcommands: [ListCommand.self, RunCommand.self, CompareCommand.self, ReportCommand.self, DiffCommand.self, KeysCommand.self,
                      CrashTestCommand.self, CrashWorkerCommand.self, CrashVerifyCommand.self, CorruptTestCommand.self, CorruptBuildCommand.self, ChildRunCommand.self,
                      SweepCommand.self, CapacityCommand.self]
    )

    @Flag(help: "Print the tool version and the git commit of the source tree, then exit.")
    var version = false

    /// `kvbench 0.1.0 (git commit …)`: the version the manifest records.
    static var versionLine: String {
        "kvbench \(SystemManifest.toolVersion) (git commit \(SystemManifest.gitCommit()))"
    }

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(Self.versionLine)
    }

    /// Parses and runs the subcommand; a `CommandFailure` prints its line and exits with its status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            writeStandardError("Error: \(failure.description)\n")
            Foundation.exit(failure.status.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
