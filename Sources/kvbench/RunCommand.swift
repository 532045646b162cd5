import KVResults
import ArgumentParser
import Foundation
import KVReports
import KVWorkbench
import StorageIO

/// `kvbench run`: one engine, one workload: a load phase and a run phase, measured separately.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run one workload against one engine.")

    @Option(help: "Engine: \(EngineTable.names.joined(separator: ", ")).")
    var engine: String
    @OptionGroup var options: BenchmarkOptions

    func validate() throws {
        guard EngineTable.names.contains(engine) else { throw ValidationError(EngineTable.unknown(engine)) }
        if let reason = EngineTable.unsupported(engine: engine, durability: options.durability) { throw ValidationError(reason) }
        try options.checkSettings(engines: [engine])
    }

    func run() throws {
        try options.preflight(out: nil)
        Interrupt.install()
        let results = try Comparison.run(engines: [engine], options: options, command: CommandLine.arguments.joined(separator: " "))
        try options.writeJSON(results)
        try Comparison.finish(results, allowErrors: options.allowErrors)
    }
}

/// `kvbench compare`: several engines, the same operation stream, side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Run one workload against several engines and compare them side by side.")

    @Option(help: "Comma-separated engines: \(EngineTable.names.joined(separator: ", ")).")
    var engines: String
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Write results.json, report.md and SVG charts into this directory.")
    var out: String?

    var engineList: [String] { EngineList.parse(engines) }

    func validate() throws {
        try EngineList.check(engineList, options: options)
    }

    func run() throws {
        try options.preflight(out: out)
        Interrupt.install()
        let results = try Comparison.run(engines: engineList, options: options, command: CommandLine.arguments.joined(separator: " "))
        try options.writeJSON(results)
        if let out { try RunOutcome.writeReport(results, to: out, toStandardError: options.format == .ycsb) }
        try Comparison.finish(results, allowErrors: options.allowErrors)
    }
}

/// Runs every engine repetition in a child process of its own, in rounds (the engine
/// order rotated each round), each on a fresh directory with the same seed, and prints the tables.
enum Comparison {
    static func run(engines: [String], options: BenchmarkOptions, command: String) throws -> ResultsFile {
        _ = try options.checkedConfiguration(directory: "/")
        let plan = try MemoryLimitPlan.resolve(options.memoryLimit, memoryBudget: BenchmarkOptions.parseBytes(options.memoryBudget)!)
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-results")
        defer { try? FileSystem.removeTree(work) }
        var runs: [RunResult] = []
        var failed: [FailedRun] = []
        var manifest: Manifest?
        let repetitions = options.repetitions
        rounds: for round in 0..<repetitions {
            for offset in engines.indices {
                let engine = engines[(round + offset) % engines.count]
                if Interrupt.isRequested { break rounds }
                let directory = try options.prepareDirectory(engine: repetitions > 1 ? "\(engine)-\(round + 1)" : engine,
                                                             shared: engines.count > 1 || repetitions > 1)
                defer { directory.finish() }
                if manifest == nil {
                    var versions: [String: String] = [:]
                    for name in engines { versions[name] = (try? EngineTable.entry(name))?.version }
                    manifest = SystemManifest.make(engineVersions: versions, dataDirectory: directory.path, command: command)
                    manifest?.memoryLimit = plan.description
                }
                if !options.quiet {
                    writeStandardError("running \(engine)\(repetitions > 1 ? " (repetition \(round + 1) of \(repetitions))" : "")...\n")
                }
                switch try IsolatedRun.run(engine: engine, repetition: round + 1, options: options, directory: directory.path,
                                           plan: plan, workDirectory: work) {
                case .finished(let result): runs.append(result)
                case .failed(let failure): failed.append(failure)
                }
            }
        }
        guard let manifest else { throw RunOutcome.interruptedBeforeAnyRun() }
        let results = ResultsFile(manifest: manifest, runs: runs, summary: EngineSummary.summarize(runs), failedRuns: failed,
                                  partial: Interrupt.isRequested)
        if options.format == .ycsb {
            printYCSB(results)
        } else {
            printTables(results, engines: engines)
        }
        return results
    }

    /// `--format ycsb`: each run's run phase (the load phase of a load-only workload) in YCSB's text form;
    /// with several runs, each block follows a `# engine …` line (which YCSB parsers skip).
    static func printYCSB(_ results: ResultsFile) {
        let runs = results.runs
        for run in runs {
            guard let phase = run.phases.last(where: { $0.name == "run" }) ?? run.phases.first(where: { $0.name == "load" }) else { continue }
            if runs.count > 1 {
                print("# \(run.engine)\(run.repetition.map { " repetition \($0)" } ?? "") \(phase.name) phase")
            }
            print(YCSBText.render(phase), terminator: "")
        }
        for failure in results.failedRuns ?? [] {
            writeStandardError("FAILED: \(failure.engine) repetition \(failure.repetition): \(failure.termination)\n")
        }
    }

    static func printTables(_ results: ResultsFile, engines: [String]) {
        let runs = results.runs
        let columns = engines.compactMap { engine -> (label: String, runs: [RunResult])? in
            let group = runs.filter { $0.engine == engine }
            return group.isEmpty ? nil : (engine, group)
        }
        print(TextTables.conditions(runs))
        print(results.manifest.memoryLimit ?? "")
        for phase in ["load", "run"] {
            let table = TextTables.phaseTable(phase, columns: columns)
            if !table.isEmpty { print("\n" + table, terminator: "") }
        }
        if columns.contains(where: { $0.runs.count > 1 }) {
            print("\nmedian ±h: h is the larger distance from the median to an end of its 95 % order-statistics interval; median [min–max]: fewer than 6 repetitions, the range covers the median with probability 1 − 2^(1−n) (75 % for 3, 93.75 % for 5).")
        }
        for failure in results.failedRuns ?? [] {
            print("\nFAILED: \(failure.engine) repetition \(failure.repetition): \(failure.termination); its last output:")
            for line in failure.stderrTail { print("    | \(line)") }
        }
        var notes: [String] = []
        for engine in EngineTable.engines where runs.contains(where: { $0.engine == engine.name }) {
            if let note = engine.comparisonNote, !notes.contains(note) { notes.append(note) }
            if let note = engine.unboundedNote, runs.contains(where: { $0.engine == engine.name && $0.memoryLimit?.enforced != true }) {
                notes.append(note)
            }
        }
        if !notes.isEmpty { print("\n" + notes.map { "note: " + $0 }.joined(separator: "\n")) }
    }

    /// Exits 1 when a run failed (and the command was not interrupted); else as `RunOutcome.check`
    /// (130/143 after an interrupt, 3 on failed operations unless `allowErrors`).
    static func finish(_ results: ResultsFile, allowErrors: Bool) throws {
        if Interrupt.signal == nil, let failed = results.failedRuns, !failed.isEmpty {
            writeStandardError("\(failed.count) run(s) failed; the other runs are reported above\n")
            throw ExitCode(1)
        }
        try RunOutcome.check(results, allowErrors: allowErrors)
    }
}
