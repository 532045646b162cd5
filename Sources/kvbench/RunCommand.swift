import KVResults
import ArgumentParser
import Foundation
import KVReports
import KVWorkbench
import StorageIO

/// `kvbench run`: one engine, one workload: a load phase and a run phase, measured separately.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run one workload against one engine.")

    @Option(help: "Engine: \(EngineRegistry.names.joined(separator: ", ")).")
    var engine: String
    @OptionGroup var options: BenchmarkOptions

    func validate() throws {
        guard EngineRegistry.names.contains(engine) else { throw ValidationError(EngineRegistry.unknown(engine)) }
        if let reason = EngineRegistry.unsupported(engine: engine, durability: options.durability) { throw ValidationError(reason) }
    }

    func run() throws {
        try options.preflight(out: nil)
        Interrupt.install()
        let results = try Comparison.run(engines: [engine], options: options, command: CommandLine.arguments.joined(separator: " "))
        try options.writeJSON(results)
        try RunOutcome.check(results, allowErrors: options.allowErrors)
    }
}

/// `kvbench compare`: several engines, the same operation stream, side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Run one workload against several engines and compare them side by side.")

    @Option(help: "Comma-separated engines: \(EngineRegistry.names.joined(separator: ", ")).")
    var engines: String
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Write results.json, report.md and SVG charts into this directory.")
    var out: String?

    var engineList: [String] { engines.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        for name in engineList where !EngineRegistry.names.contains(name) { throw ValidationError(EngineRegistry.unknown(name)) }
        guard !engineList.isEmpty else { throw ValidationError("--engines needs at least one engine") }
        guard Set(engineList).count == engineList.count else { throw ValidationError("--engines names an engine twice") }
        for name in engineList {
            if let reason = EngineRegistry.unsupported(engine: name, durability: options.durability) { throw ValidationError(reason) }
        }
    }

    func run() throws {
        try options.preflight(out: out)
        Interrupt.install()
        let results = try Comparison.run(engines: engineList, options: options, command: CommandLine.arguments.joined(separator: " "))
        try options.writeJSON(results)
        if let out { try RunOutcome.writeReport(results, to: out) }
        try RunOutcome.check(results, allowErrors: options.allowErrors)
    }
}

/// Runs engines one after another, each in a fresh directory, and prints the tables.
enum Comparison {
    static func run(engines: [String], options: BenchmarkOptions, command: String) throws -> ResultsFile {
        var runs: [RunResult] = []
        var manifest: Manifest?
        for engine in engines {
            if Interrupt.isRequested { break }
            let directory = try options.prepareDirectory(engine: engine, shared: engines.count > 1)
            defer {
                if directory.temporary { try? FileSystem.removeTree(directory.path) }
                directory.claim?.release()
            }
            let configuration = try options.checkedConfiguration(directory: directory.path)
            if manifest == nil {
                var versions: [String: String] = [:]
                for name in engines { versions[name] = EngineRegistry.version(of: name) }
                manifest = SystemManifest.make(engineVersions: versions, dataDirectory: directory.path, command: command)
            }
            if !options.quiet { writeStandardError("running \(engine)...\n") }
            runs.append(try EngineRegistry.run(engine, configuration))
        }
        guard let manifest else { throw RunOutcome.interruptedBeforeAnyRun() }
        print(TextTables.conditions(runs))
        for phase in ["load", "run"] {
            let table = TextTables.phaseTable(phase, runs: runs)
            if !table.isEmpty { print("\n" + table, terminator: "") }
        }
        if runs.contains(where: { $0.engine == "rocksdb" }) {
            print("\nnote: RocksDB is Debian's \(EngineRegistry.version(of: "rocksdb") ?? "") build, compiled with assertions enabled, which slows it.")
        }
        if runs.contains(where: { $0.engine == "lmdb" }) {
            print("note: LMDB reads through the OS page cache and cannot be bounded by the memory budget; see its peak RSS.")
        }
        return ResultsFile(manifest: manifest, runs: runs, partial: Interrupt.isRequested)
    }
}
