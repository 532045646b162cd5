import ArgumentParser
import Foundation
import KVReports
import KVResults
import KVWorkbench

/// The end of `run` and `compare`: the report, and the exit status for an interrupted run or failed operations.
enum RunOutcome {
    /// Exits 130/143 after an interrupt, 3 when any operation failed (unless `allowErrors`), else returns.
    static func check(_ results: ResultsFile, allowErrors: Bool) throws {
        if let signal = Interrupt.signal {
            let completed = results.runs.filter { !$0.partial }.map(\.engine)
            writeStandardError("interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): the results are partial "
                               + "(completed: \(completed.isEmpty ? "none" : completed.joined(separator: ", "))); temporary directories were removed\n")
            throw ExitStatus.forSignal(signal).exitCode
        }
        let failed = results.runs.filter { $0.errors > 0 }
        guard !failed.isEmpty else { return }
        let counts = failed.map { "\($0.engine) \($0.errors)" }.joined(separator: ", ")
        if allowErrors {
            writeStandardError("warning: operations failed (\(counts)); throughput counts successful operations only\n")
            return
        }
        writeStandardError("error: operations failed (\(counts)); throughput counts successful operations only. "
                           + "Exit status 3; give --allow-errors to exit 0 with failed operations\n")
        throw ExitStatus.failedOperations.exitCode
    }

    /// Writes report.md, report.html, results.json and the charts; a failure is one line naming the directory.
    /// `toStandardError` keeps standard output for `--format ycsb`'s lines alone.
    static func writeReport(_ results: ResultsFile, to out: String, toStandardError: Bool = false) throws {
        do {
            let written = try ReportWriter.write([results], to: out)
            let message = "report: \(out)/\(written.markdown), \(out)/\(written.html), \(written.charts.count) charts, results in \(out)/results.json"
            if toStandardError { writeStandardError(message + "\n") } else { print(message) }
        } catch {
            throw CommandFailure("cannot write the report into \(out): \(OutputPaths.describe(error))")
        }
    }

    /// The failure of a command interrupted before its first engine ran.
    static func interruptedBeforeAnyRun() -> any Error {
        writeStandardError("interrupted before any engine ran; nothing to write\n")
        return ExitStatus.forSignal(Interrupt.signal ?? SIGINT).exitCode
    }
}
