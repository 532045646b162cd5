import ArgumentParser
import Foundation
import KVProcess
import KVResults
import KVStore
import KVWorkbench

/// `kvbench child-run` (hidden): one engine run in a process of its own, started by
/// `run` and `compare`. Joins the given memory cgroup first, runs, and writes the
/// `RunResult` as JSON to `--result`; it prints no tables.
struct ChildRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "child-run", abstract: "One engine run for run/compare (internal).", shouldDisplay: false)

    @Option var engine: String
    @Option(name: .customLong("run-directory")) var runDirectory: String
    @Option var result: String
    @Option var cgroup: String?
    @Flag(name: .customLong("closed-loop-load"), help: "With --target-rate: load in closed loop, pace only the warm-up and run phases (capacity probes).")
    var closedLoopLoad = false
    @Flag(name: .customLong("load-only"), help: "Run the load phase only, leaving the loaded database in --run-directory (sweep --share-load).")
    var loadOnly = false
    @Flag(name: .customLong("run-on-loaded"), help: "Skip the load: open the database already loaded in --run-directory and run the warm-up and run phases.")
    var runOnLoaded = false
    @OptionGroup var options: BenchmarkOptions

    func run() throws {
        if let cgroup, !MemoryCgroup.join(path: cgroup, pid: getpid()) {
            throw CommandFailure("cannot join memory cgroup \(cgroup): \(String(cString: strerror(errno)))")
        }
        Interrupt.install()
        BenchmarkOptions.silenceWarnings.store(true, ordering: .relaxed)
        var configuration = try options.checkedConfiguration(directory: runDirectory)
        configuration.pacesLoad = !closedLoopLoad
        configuration.phases = loadOnly ? .loadOnly : runOnLoaded ? .runOnLoaded : .loadAndRun
        let outcome = try EngineTable.entry(engine).run(configuration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(outcome).write(to: URL(fileURLWithPath: result))
    }
}

extension BenchmarkOptions {
    /// The arguments that give a `child-run` process these options for `engine`: every
    /// workload and measurement option, the settings meant for that engine (named
    /// `<engine>.…`, or with no engine prefix), and `extraSettings`.
    func childArguments(engine: String, extraSettings: [String] = []) -> [String] {
        var arguments = ["--workload", workload, "--threads", String(threads), "--scan-length", String(scanLength),
                         "--zipf-theta", String(skew.zipfTheta), "--hot-fraction", String(skew.hotFraction),
                         "--hot-op-fraction", String(skew.hotOperationFraction), "--writer-rate", String(writerRate),
                         "--seed", String(seed), "--durability", durability.rawValue, "--memory-budget", memoryBudget]
        if let givenKeySize { arguments += ["--key-size", String(givenKeySize)] }
        if let givenValueSize { arguments += ["--value-size", String(givenValueSize)] }
        if !ycsbMode { arguments.append("--no-ycsb-mode") }
        for property in properties { arguments += ["-p", property] }
        if let records { arguments += ["--records", String(records)] }
        if let operations { arguments += ["--operations", String(operations)] }
        if let duration { arguments += ["--duration", String(duration)] }
        if let warmup { arguments += ["--warmup", warmup] }
        if let targetRate { arguments += ["--target-rate", String(targetRate)] }
        if let distribution { arguments += ["--distribution", distribution] }
        for setting in settings + extraSettings where Self.setting(setting, appliesTo: engine) {
            arguments += ["--setting", setting]
        }
        if quiet { arguments.append("--quiet") }
        return arguments
    }

    /// A setting named `<engine>.…` goes to that engine only; any other goes to every engine (which rejects what it does not know).
    static func setting(_ setting: String, appliesTo engine: String) -> Bool {
        let name = EngineSettings.split(setting).name
        guard let dot = name.firstIndex(of: "."), EngineTable.names.contains(String(name[..<dot])) else { return true }
        return name[..<dot] == engine
    }
}
