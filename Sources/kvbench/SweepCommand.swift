import ArgumentParser
import Foundation
import KVReports
import KVResults
import KVStore
import KVWorkbench
import KVWorkloads
import StorageIO

/// `kvbench sweep`: one parameter varied over a list or range, engines × values × repetitions, each
/// point an isolated child run (as `compare` runs them); `sweep.json`, `report.md` and one chart per
/// figure in `--out`, resumable from the points already done.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Vary one parameter over a list or range and chart every engine's figures against it.",
        discussion: "A sweep interrupted (Ctrl-C, kill) resumes from the points already done when run again with the same arguments into the same --out; --out holding another sweep exits 64.")

    @Option(help: "Comma-separated engines: \(EngineTable.names.joined(separator: ", ")).")
    var engines: String
    @Option(help: "PARAM=LIST or PARAM=START..ENDxFACTOR (geometric) or START..END+STEP; PARAM one of \((SweepParameter.names + ["setting:NAME"]).joined(separator: ", ")), e.g. memory-budget=16MiB,64MiB,256MiB or value-size=16..4096x2.")
    var vary: String
    @Option(help: "Directory for sweep.json, report.md and the charts (new, empty, or holding this same sweep to resume).")
    var out: String
    @Flag(name: .customLong("share-load"),
          help: "Load each engine once per session and run every point on a fresh copy of that database (only when varying memory-budget, threads, target-rate or zipf-theta).")
    var shareLoad = false
    @OptionGroup var options: BenchmarkOptions

    /// The results file in `--out`.
    static let fileName = "sweep.json"

    var engineList: [String] { EngineList.parse(engines) }

    func validate() throws {
        try EngineList.check(engineList, options: options)
        guard options.format == .text else {
            throw ValidationError("--format ycsb applies to run and compare; a sweep prints its own tables and writes sweep.json")
        }
        let variation = try parsedVariation()
        if shareLoad { try Self.checkSharing(variation.parameter, workload: try? options.resolveWorkload()) }
        for index in variation.values.indices {
            let point = try pointOptions(variation, index)
            do {
                try point.validate()
                try point.checkSettings(engines: engineList)
            } catch let error as ValidationError {
                throw ValidationError("at \(variation.parameter.name) = \(variation.values[index]): \(error.message)")
            }
        }
    }

    /// `--share-load` only where the points' loads would be the same: a parameter that leaves the load alone, a workload with a run phase.
    static func checkSharing(_ parameter: SweepParameter, workload: WorkloadDefinition?) throws {
        if parameter.changesTheLoad {
            throw ValidationError("--share-load: \(parameter.name) changes what the load writes, so every point must load its own database; share the load only when varying memory-budget, threads, target-rate or zipf-theta")
        }
        if let workload, !workload.hasRunPhase {
            throw ValidationError("--share-load: \(workload.name) is a load-only workload, so there is no run phase to run on a shared load; drop --share-load")
        }
    }

    func parsedVariation() throws -> SweepVariation {
        do {
            return try SweepVariation.parse(vary, bytes: BenchmarkOptions.parseBytes)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The options of the points at value `index`: the shared options with the parameter set to that value.
    func pointOptions(_ variation: SweepVariation, _ index: Int) throws -> BenchmarkOptions {
        var point = options
        let value = variation.values[index]
        let number = variation.numbers?[index]
        switch variation.parameter {
        case .memoryBudget: point.memoryBudget = value
        case .valueSize: point.givenValueSize = number.map { Int($0) }
        case .zipfTheta: point.skew.zipfTheta = number ?? 0
        case .records: point.records = number.map { Int($0) }
        case .threads: point.threads = number.map { Int($0) } ?? 1
        case .targetRate: point.targetRate = number
        case .setting(let name):
            point.settings = point.settings.filter { EngineSettings.split($0).name != name } + ["\(name)=\(value)"]
        }
        point.repetitions = 1
        point.json = nil
        return point
    }

    /// What makes two sweeps the same sweep: the parameter, values, engines, repetitions and every other option.
    func definition(_ variation: SweepVariation) -> SweepDefinition {
        var arguments: [String] = []
        var given = options.childArguments(engine: "").makeIterator()
        while let argument = given.next() {
            if argument == "--setting" { _ = given.next() } else if argument != "--quiet" { arguments.append(argument) }
        }
        arguments += options.settings.flatMap { ["--setting", $0] } + ["--memory-limit", options.memoryLimit]
        if let dir = options.dir { arguments += ["--dir", dir] }
        if options.allowErrors { arguments.append("--allow-errors") }
        return SweepDefinition(parameter: variation.parameter.name, values: variation.values, scale: variation.scale.rawValue,
                               engines: engineList, repetitions: options.repetitions, arguments: arguments, loadSharing: shareLoad ? "copy" : nil)
    }

    func run() throws {
        let variation = try parsedVariation()
        for index in variation.values.indices { _ = try pointOptions(variation, index).checkedConfiguration(directory: options.dir ?? "") }
        try OutputPaths.checkDirectory(out, option: "--out")
        if let json = options.json { try OutputPaths.checkFile(json, option: "--json") }
        let claim = try BenchmarkOptions.claim(out)
        defer { claim.release() }
        let definition = definition(variation)
        var file = try Self.existing(in: out, definition: definition)
        Interrupt.install()
        let remaining = file?.remaining ?? SweepFile.schedule(definition)
        let total = definition.values.count * definition.engines.count * definition.repetitions
        if !options.quiet {
            let done = total - remaining.count
            writeStandardError(done > 0 ? "resuming: \(done) of \(total) points already done in \(out), \(remaining.count) to run\n"
                                        : "sweep: \(total) points (\(definition.values.count) values × \(definition.engines.count) engines × \(definition.repetitions) repetitions)\n")
        }
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-sweep")
        defer { try? FileSystem.removeTree(work) }
        let smallestBudget = variation.parameter == .memoryBudget ? variation.values.min { BenchmarkOptions.parseBytes($0)! < BenchmarkOptions.parseBytes($1)! } : nil
        let shared = shareLoad ? SweepSharedLoads(options: options, memoryBudget: smallestBudget, workDirectory: work) : nil
        defer { shared?.releaseAll() }
        let session = (file?.sessions.count ?? 0) + 1
        let started = ISO8601DateFormatter().string(from: Date())
        var ranInThisSession = false
        for (step, point) in remaining.enumerated() {
            if Interrupt.isRequested { break }
            let pointOptions = try pointOptions(variation, point.valueIndex)
            let budget = BenchmarkOptions.parseBytes(pointOptions.memoryBudget)!
            let plan = try MemoryLimitPlan.resolve(pointOptions.memoryLimit, memoryBudget: budget)
            let label = "\(point.engine)-v\(point.valueIndex + 1)-r\(point.repetition)-s\(session)"
            let directory = try pointOptions.prepareDirectory(engine: label, shared: true)
            defer { directory.finish() }
            if file == nil {
                var versions: [String: String] = [:]
                for name in definition.engines { versions[name] = (try? EngineTable.entry(name))?.version }
                var manifest = SystemManifest.make(engineVersions: versions, dataDirectory: directory.path, command: CommandLine.arguments.joined(separator: " "))
                manifest.memoryLimit = variation.parameter == .memoryBudget && options.memoryLimit == "auto"
                    ? "per point, sized by the point's memory budget; at the first point: " + plan.description
                    : plan.description
                file = SweepFile(definition: definition, manifest: manifest, sessions: [])
            }
            if !ranInThisSession {
                file!.sessions.append(started)
                ranInThisSession = true
            }
            var childFlags: [String] = []
            var sharedFailure: FailedRun?
            if let shared {
                if !options.quiet && !shared.hasLoaded(point.engine) { writeStandardError("loading \(point.engine) once for its points (--share-load)...\n") }
                let (database, newLoad) = try shared.database(of: point.engine, session: file!.sessions.count)
                if let newLoad { file!.sharedLoads = (file!.sharedLoads ?? []) + [newLoad] }
                if Interrupt.isRequested { break }
                switch database {
                case .loaded(let source):
                    try SweepSharedLoads.copy(source, into: directory.path)
                    childFlags = ["--run-on-loaded"]
                case .failed(let failure):
                    sharedFailure = failure
                    sharedFailure!.repetition = point.repetition
                }
                if !remaining[(step + 1)...].contains(where: { $0.engine == point.engine }) { shared.release(point.engine) }
            }
            if !options.quiet {
                writeStandardError("point \(total - remaining.count + step + 1) of \(total): \(point.engine) at \(definition.parameter) = \(definition.values[point.valueIndex]), repetition \(point.repetition) of \(definition.repetitions)...\n")
            }
            let outcome = try sharedFailure.map { IsolatedRun.Outcome.failed($0) }
                ?? IsolatedRun.run(engine: point.engine, repetition: point.repetition, options: pointOptions, directory: directory.path,
                                   plan: plan, workDirectory: work, childFlags: childFlags)
            let value = definition.values[point.valueIndex]
            file!.failedPoints.removeAll { $0.valueIndex == point.valueIndex && $0.failure.engine == point.engine && $0.failure.repetition == point.repetition }
            switch outcome {
            case .finished(let result) where !result.partial:
                file!.points.append(SweepPoint(valueIndex: point.valueIndex, value: value, engine: point.engine, repetition: point.repetition, run: result))
            case .finished:
                break
            case .failed(let failure):
                if Interrupt.isRequested { break }
                file!.failedPoints.append(SweepFailedPoint(valueIndex: point.valueIndex, value: value, failure: failure))
            }
            file!.partial = !file!.remaining.isEmpty
            try Self.save(file!, in: out)
        }
        guard var file else { throw RunOutcome.interruptedBeforeAnyRun() }
        file.partial = !file.remaining.isEmpty
        try Self.save(file, in: out)
        if let json = options.json { try OutputPaths.writeJSON(file, to: json) }
        let written: SweepReport.Written
        do {
            written = try SweepReport.write(file, to: out)
        } catch {
            throw CommandFailure("cannot write the report into \(out): \(OutputPaths.describe(error))")
        }
        Self.printTables(file)
        print("report: \(out)/\(written.markdown), \(out)/\(written.html), \(written.charts.count) charts, results in \(out)/\(Self.fileName)\(file.partial ? " (partial)" : "")")
        try finish(file)
    }

    /// The sweep already in `directory` when it is this sweep; nil for a new or empty directory.
    /// A directory holding another sweep, or other files, is refused (exit 64) and left as it is.
    static func existing(in directory: String, definition: SweepDefinition) throws -> SweepFile? {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else {
            let entries = FileSystem.isDirectory(directory) ? try FileSystem.list(directory) : []
            guard entries.isEmpty else {
                throw CommandFailure("--out \(directory) is not empty and holds no \(fileName); give a new or empty directory, or the directory of the sweep to resume", status: .usage)
            }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path), let file = try? JSONDecoder().decode(SweepFile.self, from: data) else {
            throw CommandFailure("--out \(directory) holds a \(fileName) that cannot be read as a sweep; give another directory (nothing was changed)", status: .usage)
        }
        guard file.definition == definition else {
            throw CommandFailure("--out \(directory) holds a different sweep (\(difference(file.definition, definition))); give another directory, or the same arguments to resume it", status: .usage)
        }
        return file
    }

    /// The first way two definitions differ, in words.
    static func difference(_ old: SweepDefinition, _ new: SweepDefinition) -> String {
        if old.parameter != new.parameter { return "it varies \(old.parameter), not \(new.parameter)" }
        if old.values != new.values { return "over \(old.values.joined(separator: ",")), not \(new.values.joined(separator: ","))" }
        if old.engines != new.engines { return "of engines \(old.engines.joined(separator: ",")), not \(new.engines.joined(separator: ","))" }
        if old.repetitions != new.repetitions { return "with --repeat \(old.repetitions), not \(new.repetitions)" }
        if old.loadSharing != new.loadSharing { return old.loadSharing == nil ? "every point loaded its own database (no --share-load)" : "with --share-load" }
        return "with other options: \(old.arguments.joined(separator: " "))"
    }

    /// Writes the sweep file whole to a temporary name, then renames it, so an interrupt never leaves half a file.
    static func save(_ file: SweepFile, in directory: String) throws {
        let path = directory + "/" + fileName
        try OutputPaths.writeJSON(file, to: path + ".tmp")
        guard rename(path + ".tmp", path) == 0 else {
            throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The tables of throughput, p99 latency, amplification (with the model) and memory on standard output.
    static func printTables(_ file: SweepFile) {
        print(TextTables.conditions(file.points.prefix(1).map(\.run)) + " (at the first value; \(file.definition.parameter) varies)")
        if let sentence = SweepReport.sharedLoadSentence(file) { print("\n" + sentence + "\n\n" + TextTables.render(SweepReport.sharedLoadRows(file)), terminator: "") }
        for figure in SweepReport.figures(file) where !figure.file.hasSuffix("-p50.svg") && !figure.file.hasSuffix("-p999.svg") {
            let rows = SweepReport.table(file, figure)
            if rows.count > 1 { print("\n" + TextTables.render(rows), terminator: "") }
        }
        let divergence = SweepReport.divergence(file)
        if !divergence.isEmpty { print("\nmodel: " + divergence.joined(separator: "\nmodel: ")) }
        for point in file.failedPoints {
            print("\nFAILED: \(point.failure.engine) at \(file.definition.parameter) = \(point.value), repetition \(point.failure.repetition): \(point.failure.termination)")
        }
        print("")
    }

    /// 130/143 after an interrupt (the points done are kept), 1 when points failed, 3 on failed operations unless `--allow-errors`.
    func finish(_ file: SweepFile) throws {
        if let signal = Interrupt.signal {
            writeStandardError("interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): \(file.points.count) of \(file.schedule.count) points done; run the same command again to resume\n")
            throw ExitStatus.forSignal(signal).exitCode
        }
        if !file.failedPoints.isEmpty {
            writeStandardError("\(file.failedPoints.count) point(s) failed; the others are reported; run the same command again to retry them\n")
            throw ExitCode(1)
        }
        let failed = file.points.filter { $0.run.errors > 0 }
        guard !failed.isEmpty else { return }
        let counts = failed.map { "\($0.engine) at \($0.value): \($0.run.errors)" }.joined(separator: ", ")
        if options.allowErrors {
            writeStandardError("warning: operations failed (\(counts)); throughput counts successful operations only\n")
            return
        }
        writeStandardError("error: operations failed (\(counts)); throughput counts successful operations only. Exit status 3; give --allow-errors to exit 0 with failed operations\n")
        throw ExitStatus.failedOperations.exitCode
    }
}
