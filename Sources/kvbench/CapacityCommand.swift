import ArgumentParser
import Foundation
import KVReports
import KVResults
import KVWorkbench
import StorageIO

/// `kvbench capacity`: per engine, the highest open-loop rate at which a latency percentile (from the
/// intended start) stays within a bound, found by a ramp and a bisection over rates, each probe a
/// `compare`-style run in a child process of its own (see docs/results.md, "Capacity").
struct CapacityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "Find each engine's highest open-loop rate that keeps a latency percentile within a bound.",
        discussion: """
        kvbench capacity --engines lsm,rocksdb --workload readrandom --slo p99=1ms. Each probe loads a fresh \
        database (closed loop), warms up for --warmup at the probe's rate, then measures --window seconds \
        (or --operations) at that rate; latency counts from each operation's intended start. Rates ramp \
        from --start-rate by ×2 until a probe misses, then bisect until within --resolution.
        """
    )

    @Option(help: "Comma-separated engines: \(EngineTable.names.joined(separator: ", ")).")
    var engines: String
    @Option(help: "The latency objective: a percentile (p50, p90, p99, p99.9) of latency from the intended start and its bound, e.g. p99=1ms.")
    var slo: String
    @Option(parsing: .unconditional, help: "Measured window of each probe's run phase, in seconds (default 5, unless --operations).")
    var window: Double?
    @Option(name: .customLong("start-rate"), parsing: .unconditional, help: "The ramp's first rate, in operations per second.")
    var startRate: Double = 1000
    @Option(name: .customLong("max-rate"), parsing: .unconditional, help: "The ramp's ceiling, in operations per second.")
    var maxRate: Double = 10_000_000
    @Option(help: "Stop when the lowest missing rate is within this of the highest meeting one, e.g. 5%.")
    var resolution: String = "5%"
    @Flag(name: .customLong("harness-floor"), inversion: .prefixedNo,
          help: "Also search against the null engine (stores nothing), in the same rounds: the harness's own limit, reported as harness_floor.")
    var harnessFloor = true
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Write results.json, report.md, report.html and capacity.svg into this directory.")
    var out: String?

    /// The warm-up when `--warmup` is not given.
    static let defaultWarmup = "1s"
    /// The window when neither `--window` nor `--operations` is given.
    static let defaultWindow = 5.0
    static let growth = 2.0

    var engineList: [String] { EngineList.parse(engines) }

    func validate() throws {
        try EngineList.check(engineList, options: options)
        if case .failure(let error) = LatencyObjective.parse(slo) { throw ValidationError(error.description) }
        guard Self.parseResolution(resolution) != nil else {
            throw ValidationError("cannot read --resolution '\(resolution)'; write a percentage from 0.1% to 100%, e.g. 5%")
        }
        for (flag, given) in [("--target-rate", options.targetRate != nil), ("--duration", options.duration != nil),
                              ("--format", options.format != .text), ("--dir", options.dir != nil)] where given {
            let instead = ["--target-rate": "capacity chooses the rates; set the ramp with --start-rate and --max-rate",
                           "--duration": "give each probe's measured window with --window",
                           "--format": "capacity prints its own table; --json writes its results",
                           "--dir": "every probe loads a fresh database in a temporary directory (set TMPDIR to choose the filesystem)"][flag]!
            throw ValidationError("capacity does not take \(flag): \(instead)")
        }
        if window != nil && options.operations != nil { throw ValidationError("give --window or --operations, not both") }
        if let window { try check(ParameterRanges.durationSeconds, window, as: "--window") }
        try check(ParameterRanges.targetRate, startRate, as: "--start-rate")
        try check(ParameterRanges.targetRate, maxRate, as: "--max-rate")
        guard maxRate >= startRate else { throw ValidationError("--max-rate \(maxRate) is below --start-rate \(startRate); give a ceiling at or above the first rate") }
        if let definition = try? options.resolveWorkload(), !definition.hasRunPhase {
            throw ValidationError("\(definition.name) is a load-only workload; capacity paces a run phase, so choose a workload with one (see `kvbench list`), e.g. readrandom or overwrite")
        }
    }

    /// Checks `value` against `range`'s bounds, naming `flag` in the message.
    private func check(_ range: ParameterRange<Double>, _ value: Double, as flag: String) throws {
        do {
            try ParameterRange(flag, range.range, unit: range.unit).check(value)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Reads `5%` (or `0.05`) as 0.05.
    static func parseResolution(_ text: String) -> Double? {
        let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        guard let value, value >= 0.001, value <= 1 else { return nil }
        return value
    }

    /// The options of every probe at `rate`: the run phase measured over the window, after the warm-up, quietly.
    func probeOptions(rate: Double) -> BenchmarkOptions {
        var probe = options
        probe.targetRate = rate
        if probe.operations == nil { probe.duration = window ?? Self.defaultWindow }
        probe.warmup = options.warmup ?? Self.defaultWarmup
        probe.quiet = true
        return probe
    }

    func run() throws {
        if let out { try OutputPaths.checkDirectory(out, option: "--out") }
        try probeOptions(rate: startRate).preflight(out: nil)
        Interrupt.install()
        let objective = try LatencyObjective.parse(slo).get()
        let plan = CapacitySearchPlan(
            startRate: startRate.rounded(), maxRate: maxRate.rounded(), growth: Self.growth, resolution: Self.parseResolution(resolution)!,
            windowS: options.operations == nil ? window ?? Self.defaultWindow : nil, operations: options.operations,
            warmup: options.warmup ?? Self.defaultWarmup,
            rule: "meets the objective when every operation type's \(objective.percentile) of latency from the intended start is within \(LatencyObjective.latencyText(objective.boundUs)), no operation failed, and successful operations reach \(Int(CapacitySearch.achievedFraction * 100)) % of the offered rate",
            database: "reloaded for every probe: each probe is a fresh child process that loads a new database in closed loop, so that no probe's writes or compactions change the next probe's database")
        let results = try CapacityRun(command: self, objective: objective, plan: plan).run()
        print(CapacityReport.table(results), terminator: "")
        for statement in CapacityReport.statements(results) { print(statement) }
        print(CapacityReport.searchSentence(results))
        if let json = options.json {
            try OutputPaths.writeJSON(results, to: json)
            print("results written to \(json)\(results.partial ? " (partial: interrupted)" : "")")
        }
        if let out {
            do {
                let written = try CapacityReport.write(results, to: out)
                print("report: \(out)/\(written.markdown), \(out)/\(written.html), \(written.charts.count) chart(s), results in \(out)/results.json")
            } catch {
                throw CommandFailure("cannot write the report into \(out): \(OutputPaths.describe(error))")
            }
        }
        if let signal = Interrupt.signal {
            writeStandardError("interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): the searches that were running stopped early; temporary directories were removed\n")
            throw ExitStatus.forSignal(signal).exitCode
        }
        if !results.failedRuns.isEmpty {
            writeStandardError("\(results.failedRuns.count) probe(s) failed; the answers above count them as missing the objective\n")
            throw ExitCode(1)
        }
    }
}

/// The searches of one `capacity` command: rounds of repetitions (the engine order rotated each round,
/// as `compare` does), each a full search per engine, each probe through `IsolatedRun`.
struct CapacityRun {
    let command: CapacityCommand
    let objective: LatencyObjective
    let plan: CapacitySearchPlan

    func run() throws -> CapacityResults {
        let options = command.options
        let engines = command.engineList
        let floorEngine = NullStore.engineName
        let searched = engines + (command.harnessFloor && !engines.contains(floorEngine) ? [floorEngine] : [])
        let memoryPlan = try MemoryLimitPlan.resolve(options.memoryLimit, memoryBudget: BenchmarkOptions.parseBytes(options.memoryBudget)!)
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-capacity")
        defer { try? FileSystem.removeTree(work) }
        var probes: [CapacityProbe] = []
        var failed: [FailedRun] = []
        var searches: [String: [CapacityRepetition]] = [:]
        var parameters: RunParameters?
        var versions: [String: String] = [:]
        for name in searched { versions[name] = (try? EngineTable.entry(name))?.version }
        var manifest = SystemManifest.make(engineVersions: versions, dataDirectory: ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp", command: CommandLine.arguments.joined(separator: " "))
        manifest.memoryLimit = memoryPlan.description
        let repetitions = options.repetitions
        rounds: for round in 0..<repetitions {
            for offset in searched.indices {
                let engine = searched[(round + offset) % searched.count]
                if Interrupt.isRequested { break rounds }
                var search = CapacitySearch(plan: plan)
                var step = 0
                var stopped = CapacityRepetition.Outcome.interrupted
                while let rate = search.next, !Interrupt.isRequested {
                    step += 1
                    let stage = search.stage
                    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-\(engine)")
                    defer { try? FileSystem.removeTree(directory) }
                    let outcome = try IsolatedRun.run(engine: engine, repetition: round + 1, options: command.probeOptions(rate: rate), directory: directory,
                                                      plan: memoryPlan, workDirectory: work, childFlags: ["--closed-loop-load"])
                    var probe: CapacityProbe
                    switch outcome {
                    case .finished(let result):
                        if parameters == nil { parameters = result.parameters }
                        guard let phase = result.phases.first(where: { $0.name == "run" }), !result.partial else {
                            probe = CapacityProbe(engine: engine, repetition: round + 1, step: step, stage: stage, offeredOpsS: rate, achievedOpsS: nil,
                                                  operations: nil, errors: nil, elapsedS: nil, percentileUs: nil, latencyUs: nil, meetsSLO: false,
                                                  reason: "interrupted")
                            probes.append(probe)
                            break
                        }
                        let verdict = CapacityProbe.judge(phase, offered: rate, objective: objective)
                        probe = CapacityProbe(engine: engine, repetition: round + 1, step: step, stage: stage, offeredOpsS: rate,
                                              achievedOpsS: phase.throughputOpsS, operations: phase.operations, errors: phase.errors,
                                              elapsedS: phase.elapsedS, percentileUs: verdict.percentileUs, latencyUs: phase.ops.mapValues(\.latencyUs),
                                              meetsSLO: verdict.meets, reason: verdict.reason)
                        probes.append(probe)
                        search.record(rate: rate, met: verdict.meets)
                    case .failed(let failure):
                        // A crash is not a missed objective: the search stops rather than bisect below it.
                        failed.append(failure)
                        probe = CapacityProbe(engine: engine, repetition: round + 1, step: step, stage: stage, offeredOpsS: rate, achievedOpsS: nil,
                                              operations: nil, errors: nil, elapsedS: nil, percentileUs: nil, latencyUs: nil, meetsSLO: false,
                                              reason: "the probe's process failed: \(failure.termination)")
                        probes.append(probe)
                        stopped = .failed
                    }
                    if !options.quiet { writeStandardError(CapacityReport.progressLine(probe, objective: objective) + "\n") }
                    if stopped == .failed { break }
                }
                searches[engine, default: []].append(CapacityRepetition(
                    repetition: round + 1, outcome: search.outcome(stopped: stopped), sustainedOpsS: search.highestMeeting,
                    lowestMissingOpsS: search.lowestMissing, probes: step))
            }
        }
        func answer(_ engine: String) -> CapacityAnswer? {
            searches[engine].map { CapacityAnswer(engine: engine, repetitions: $0.sorted { $0.repetition < $1.repetition }, objective: objective, plan: plan) }
        }
        return CapacityResults(manifest: manifest, slo: objective, search: plan, parameters: parameters, engines: engines.compactMap(answer),
                               harnessFloor: command.harnessFloor ? answer(floorEngine) : nil, probes: probes,
                               failedRuns: failed, partial: Interrupt.isRequested)
    }
}

/// `kvbench report` on a `capacity` results file: its report written again into `--out`.
enum CapacityReportFiles {
    /// Writes the report of the one capacity file among `files` and returns true; false when none is one.
    static func rewrite(_ files: [String], out: String) throws -> Bool {
        let capacity = files.filter { FileManager.default.contents(atPath: $0).map(CapacityResults.isCapacityFile) == true }
        guard !capacity.isEmpty else { return false }
        guard files.count == 1 else {
            throw CommandFailure("\(capacity[0]) holds capacity results, which are reported alone; give it as the only file, or give only run/compare results files", status: .usage)
        }
        var results: CapacityResults
        do {
            results = try JSONDecoder().decode(CapacityResults.self, from: FileManager.default.contents(atPath: files[0])!)
            // The answers' sentences and harness marks are judged again from their searches, by this version's rules.
            let answer = { (old: CapacityAnswer) in CapacityAnswer(engine: old.engine, repetitions: old.repetitions, objective: results.slo, plan: results.search) }
            results = CapacityResults(manifest: results.manifest, slo: results.slo, search: results.search, parameters: results.parameters,
                                      engines: results.engines.map(answer), harnessFloor: results.harnessFloor.map(answer), probes: results.probes,
                                      failedRuns: results.failedRuns, partial: results.partial)
        } catch {
            throw CommandFailure("\(files[0]) is not a readable capacity results file (\(error)); give a results.json written by kvbench capacity", status: .badInput)
        }
        if FileSystem.exists(out + "/results.json") && FileSystem.canonicalPath(files[0]) == FileSystem.canonicalPath(out + "/results.json") {
            throw CommandFailure("\(files[0]) is the results.json this report would write into --out \(out); give another --out directory", status: .usage)
        }
        try OutputPaths.checkDirectory(out, option: "--out")
        do {
            let written = try CapacityReport.write(results, to: out)
            print("report: \(out)/\(written.markdown), \(out)/\(written.html) (\(written.charts.count) charts)")
        } catch {
            throw CommandFailure("cannot write the report into \(out): \(OutputPaths.describe(error))")
        }
        return true
    }
}
