import ArgumentParser
import Foundation
import KVReports
import KVResults
import KVWorkbench
import StorageIO

/// Reads result files written by `run`, `compare` or `report`.
enum ResultsLoader {
    static func load(_ paths: [String]) throws -> [ResultsFile] {
        try paths.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure("cannot read \(path); give the path of a results.json written by kvbench", status: .badInput)
            }
            do {
                return try JSONDecoder().decode(ResultsFile.self, from: data)
            } catch {
                throw CommandFailure("\(path) is not a kvbench results file (\(error)); give a results.json written by kvbench", status: .badInput)
            }
        }
    }
}

/// `kvbench report`: re-renders a report from saved results; several files merge into one report.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.md, results.json and SVG charts from saved result files."
    )

    @Argument(help: "Result files (results.json) to include.")
    var files: [String]
    @Option(help: "Directory to write the report into.")
    var out: String

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one results file") }
    }

    func run() throws {
        if try CapacityReportFiles.rewrite(files, out: out) { return }
        let results = try ResultsLoader.load(files)
        let written = out + "/results.json"
        for file in files where FileSystem.exists(written) && FileSystem.canonicalPath(file) == FileSystem.canonicalPath(written) {
            throw CommandFailure("\(file) is the results.json this report would write into --out \(out), so rerunning would rewrite its input and duplicate its runs; give another --out directory", status: .usage)
        }
        try OutputPaths.checkDirectory(out, option: "--out")
        do {
            let report = try ReportWriter.write(results, to: out)
            print("report: \(out)/\(report.markdown), \(out)/\(report.html) (\(report.charts.count) charts)")
        } catch {
            throw CommandFailure("cannot write the report into \(out): \(OutputPaths.describe(error))")
        }
    }
}

/// `kvbench diff`: compares two sets of results; exit 0 no regression, 1 a regression, 2 bad input or nothing comparable.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare results metric by metric; exit 1 when a metric regressed beyond the threshold (and, with repetitions, significantly).",
        discussion: """
        kvbench diff BASE.json NEW.json, or --base a.json b.json --new c.json d.json (medians of each side are compared). \
        Refuses results run with different parameters unless --allow-different-parameters. \
        Exit 0: no regression; 1: a regression; 2: bad input or nothing comparable. See docs/ci.md.
        """
    )

    @Argument(help: "BASE.json NEW.json")
    var files: [String] = []
    @Option(parsing: .upToNextOption, help: "Baseline result files (their median is compared).")
    var base: [String] = []
    @Option(name: .customLong("new"), parsing: .upToNextOption, help: "New result files (their median is compared).")
    var candidate: [String] = []
    @Option(parsing: .unconditional, help: "Regression threshold in percent.")
    var threshold: Double = 10
    @Flag(name: .customLong("allow-different-parameters"), help: "Compare results even when their run parameters differ.")
    var allowDifferentParameters = false

    func validate() throws {
        if files.isEmpty {
            guard !base.isEmpty, !candidate.isEmpty else { throw ValidationError("give BASE.json NEW.json, or --base FILES --new FILES") }
        } else {
            guard files.count == 2, base.isEmpty, candidate.isEmpty else {
                throw ValidationError("give exactly two files (BASE.json NEW.json), or use --base and --new")
            }
        }
        guard threshold >= 0 && threshold <= 10_000 else {
            throw ValidationError("--threshold \(threshold) is out of range: it must be from 0 to 10000 percent; give a value in that range")
        }
    }

    /// Prints `message` and exits 2 (bad input or nothing comparable).
    private func refuse(_ message: String) -> ExitCode {
        writeStandardError("diff: \(message)\n")
        return ExitCode(2)
    }

    func run() throws {
        let basePaths = files.isEmpty ? base : [files[0]]
        let newPaths = files.isEmpty ? candidate : [files[1]]
        let baseFiles: [ResultsFile], newFiles: [ResultsFile]
        do {
            baseFiles = try ResultsLoader.load(basePaths)
            newFiles = try ResultsLoader.load(newPaths)
        } catch let failure as CommandFailure {
            throw refuse(failure.description)
        }
        let differences = ResultsDiff.parameterDifferences(base: baseFiles, new: newFiles)
        if !differences.isEmpty {
            if !allowDifferentParameters {
                throw refuse("the two sides were run with different parameters (\(differences.joined(separator: "; "))); rerun with equal parameters, or pass --allow-different-parameters")
            }
            print("warning: different parameters (\(differences.joined(separator: "; "))); compared anyway (--allow-different-parameters)")
        }
        let rows = ResultsDiff.compare(base: baseFiles, new: newFiles, thresholdPercent: threshold)
        guard !rows.isEmpty else {
            throw refuse("the two sides share no engine and workload; nothing to compare")
        }
        print(ResultsDiff.table(rows, thresholdPercent: threshold), terminator: "")
        if rows.contains(where: { $0.significant == nil }) {
            print("not noise-checked: a side has a single run, so a change beyond \(threshold)% counts as a regression whether or not it is noise; use --repeat 5 (or several files) on both sides")
        } else {
            print("noise check: a change counts only when the 95 % intervals of the two medians do not overlap (order statistics; with n < 6 the interval is [min, max])")
        }
        let regressions = rows.filter(\.regressed)
        if regressions.isEmpty {
            print("no regression beyond \(threshold)%")
        } else {
            print("\(regressions.count) metric(s) regressed beyond \(threshold)%")
            throw ExitCode(1)
        }
    }
}
