import ArgumentParser
import Foundation
import KVWorkbench

/// The exit statuses of every `kvbench` subcommand (documented in docs/results.md and docs/ci.md).
enum ExitStatus: Int32, Sendable {
    /// Everything ran and no operation failed.
    case success = 0
    /// The run could not be carried out (an engine failed to open, a write of the results failed, a test failed).
    case failedRun = 1
    /// An input file (workload file, results file) is missing, unreadable or malformed.
    case badInput = 2
    /// The run finished but some operations failed (without `--allow-errors`).
    case failedOperations = 3
    /// A usage error: an unknown name, a value out of range, an unusable path (EX_USAGE).
    case usage = 64
    /// Stopped by SIGINT (128 + 2).
    case interrupted = 130
    /// Stopped by SIGTERM (128 + 15).
    case terminated = 143

    /// The status for a run stopped by `signal`.
    static func forSignal(_ signal: Int32) -> ExitStatus {
        signal == SIGTERM ? .terminated : .interrupted
    }

    /// This status as ArgumentParser's exit error.
    var exitCode: ExitCode { ExitCode(rawValue) }
}

/// A failure reported to the user as one line, with the exit status of its kind.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    let status: ExitStatus
    init(_ description: String, status: ExitStatus = .failedRun) {
        self.description = description
        self.status = status
    }
}
