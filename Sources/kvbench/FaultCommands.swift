import ArgumentParser
import Foundation
import KVFaults
import KVStore
import KVWorkbench
import StorageIO

extension CrashMode: ExpressibleByArgument {}

/// `kvbench crash-test`: crash a writing child again and again and check every recovery against the oracle.
struct CrashTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-test",
        abstract: "Crash a child process running a write-heavy mix and check what survives (see docs/durability.md)."
    )

    @Option(help: "Engine: \(EngineTable.crashEngines.joined(separator: ", ")).")
    var engine: String
    @Option(help: "Durability of acknowledged writes: none, os, fsync.")
    var durability: Durability = .fsync
    @Option(parsing: .unconditional, help: "Crashes (rounds) to run on the same database (1 to 100000).")
    var crashes: Int = 10
    @Option(help: "process: SIGKILL (the page cache survives); power: simulated power loss (unsynced data dropped).")
    var mode: CrashMode = .process
    @Option(parsing: .unconditional, help: "Random seed (kill delays, operation mix).")
    var seed: UInt64 = 1
    @Option(name: .customLong("key-space"), parsing: .unconditional, help: "Distinct keys written by the mix (10 to 10000000).")
    var keySpace: Int = 2000
    @Option(name: .customLong("max-delay-ms"), parsing: .unconditional, help: "Longest time the child writes before it is killed (0 to 3600000).")
    var maxDelay: Int = 700
    @Option(help: "Working directory (database, traces): new, empty, or made by an earlier crash-test (marked by KVBENCH-WORKDIR); default: a temporary directory, removed at the end.")
    var dir: String?
    @Option(help: "Write the report as JSON to this file.")
    var json: String?
    @Option(name: .customLong("setting"), help: "Engine setting name=value (repeatable) for the worker and every verifier, e.g. lsm.compaction=tiered.")
    var settings: [String] = []
    @Option(parsing: .unconditional, help: "Writer threads in the child (1 to 16), each on its own keys, so that commits are concurrent (under fsync: group commit).")
    var threads: Int = 1
    @Flag(help: "Print one line per round.")
    var verbose = false

    func validate() throws {
        guard EngineTable.crashEngines.contains(engine) else {
            throw ValidationError(EngineTable.unknown(engine, among: EngineTable.crashEngines, for: "crash-test"))
        }
        for setting in settings where !setting.contains("=") {
            throw ValidationError("--setting '\(setting)' must be name=value")
        }
        if let reason = EngineTable.unsupported(engine: engine, durability: durability) { throw ValidationError(reason) }
        if let reason = EngineTable.refusedSettings(engine: engine, FaultSupport.settings(settings), durability: durability,
                                                    memoryBudget: CrashTestConfiguration.defaultMemoryBudget) {
            throw ValidationError(reason)
        }
        do {
            try FaultRanges.crashes.check(crashes)
            try FaultRanges.crashKeySpace.check(keySpace)
            try FaultRanges.maxDelayMilliseconds.check(maxDelay)
            try FaultRanges.writerThreads.check(threads)
        } catch {
            throw ValidationError(error.description)
        }
        guard keySpace >= threads * CrashTestConfiguration.keysPerThread else {
            throw ValidationError("--key-space \(keySpace) is too small for --threads \(threads): each thread writes its own keys, at least \(CrashTestConfiguration.keysPerThread) of them; give --key-space \(threads * CrashTestConfiguration.keysPerThread) or more")
        }
    }

    func run() throws {
        if let json { try OutputPaths.checkFile(json, option: "--json") }
        let workDirectory = try WorkDirectory.prepare(dir: dir, command: "crash-test", temporaryPrefix: "kvbench-crash-\(engine)")
        defer { workDirectory.finish() }
        let work = workDirectory.path
        var configuration = CrashTestConfiguration(
            engine: engine, durability: durability, mode: mode,
            method: EngineTable.powerLossMethod(engine: engine, mode: mode),
            crashes: crashes, seed: seed, workDirectory: work, executable: FaultSupport.executablePath)
        configuration.keySpace = keySpace
        configuration.maxDelayMilliseconds = maxDelay
        configuration.threads = threads
        configuration.settings = FaultSupport.settings(settings)
        if verbose { configuration.progress = { line in writeStandardError(line + "\n") } }
        let report = try CrashTest.run(configuration)
        print(report.text)
        if let json { try OutputPaths.writeJSON(report, to: json) }
        if report.status == "FAIL" { throw ExitCode(1) }
    }
}

/// The crash-test child: writes until killed (hidden; started by `crash-test`).
struct CrashWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-worker", shouldDisplay: false)

    @Option var engine: String
    @Option var dir: String
    @Option var durability: Durability
    @Option(name: .customLong("memory-budget")) var memoryBudget: Int
    @Option(name: .customLong("key-space")) var keySpace: Int
    @Option(name: .customLong("start-sequence")) var startSequence: UInt64
    @Option var seed: UInt64
    @Option(name: .customLong("power-loss-after-ms")) var powerLossAfter: Int?
    @Option(name: .customLong("crash-point-one-in")) var crashPointOneIn: Int?
    @Option var threads = 1
    @Flag(name: .customLong("torn-tails")) var tornTails = false
    @Option(name: .customLong("setting")) var engineSettings: [String] = []

    func run() throws {
        var settings = CrashWorker.Settings(directory: dir, durability: durability, memoryBudget: memoryBudget,
                                            keySpace: keySpace, startSequence: startSequence, seed: seed)
        settings.engineSettings = FaultSupport.settings(engineSettings)
        settings.threads = threads
        let status = try EngineTable.entry(engine).crashWorker(settings, powerLossAfter, crashPointOneIn, tornTails)
        throw ExitCode(status)
    }
}

/// The crash-test verifier: opens the store in a fresh process and reports what it reads (hidden).
struct CrashVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-verify", shouldDisplay: false)

    @Option var engine: String
    @Option var dir: String
    @Option var durability: Durability
    @Option(name: .customLong("memory-budget")) var memoryBudget: Int
    @Option(name: .customLong("key-space")) var keySpace: Int
    @Flag var create = false
    @Option(name: .customLong("setting")) var settings: [String] = []

    func run() throws {
        let status = try EngineTable.entry(engine).crashVerify(dir, durability, memoryBudget, keySpace, create,
                                                               FaultSupport.settings(settings))
        throw ExitCode(status)
    }
}

/// Builds the corruption test database and kills itself instead of closing it (hidden; started by `corrupt-test`).
struct CorruptBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "corrupt-build", shouldDisplay: false)

    @Option var engine: String
    @Option var dir: String
    @Option(name: .customLong("key-space")) var keySpace: Int
    @Option(name: .customLong("memory-budget")) var memoryBudget: Int
    @Option(name: .customLong("setting")) var settings: [String] = []

    func run() throws {
        _ = try EngineTable.entry(engine).corruptBuild(dir, keySpace, memoryBudget, FaultSupport.settings(settings), true)
    }
}

/// The valid ranges of the fault commands' numeric options.
enum FaultRanges {
    static let crashes = ParameterRange<Int>("--crashes", 1...100_000, unit: "crashes")
    static let crashKeySpace = ParameterRange<Int>("--key-space", 10...10_000_000, unit: "keys")
    static let maxDelayMilliseconds = ParameterRange<Int>("--max-delay-ms", 0...3_600_000, unit: "milliseconds")
    static let writerThreads = ParameterRange<Int>("--threads", 1...16, unit: "threads")
    static let corruptKeySpace = ParameterRange<Int>("--key-space", 100...10_000_000, unit: "keys")
}

/// Helpers shared by the fault commands.
enum FaultSupport {
    /// The absolute path of this executable (the children are started from it).
    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `--setting name=value` arguments as a dictionary (a later name wins).
    static func settings(_ arguments: [String]) -> [String: String] {
        var settings: [String: String] = [:]
        for argument in arguments {
            let (name, value) = EngineSettings.split(argument)
            settings[name] = value
        }
        return settings
    }

    /// The syscall-recording library, built next to this executable by `swift build`
    /// (product `CFaultPreload`), or nil when it is missing.
    static var preloadLibrary: String? {
        let directory = (executablePath as NSString).deletingLastPathComponent
        let path = directory + "/libCFaultPreload.so"
        return FileSystem.exists(path) ? path : nil
    }
}

/// `kvbench corrupt-test`: damage copies of a closed database one way at a time and read them back.
struct CorruptTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corrupt-test",
        abstract: "Damage copies of a database (bit flips, truncation, appended bytes) and check each read gives an error or correct data."
    )

    @Option(help: "Engine: \(EngineTable.crashEngines.joined(separator: ", ")).")
    var engine: String
    @Option(name: .customLong("key-space"), parsing: .unconditional, help: "Keys in the test database (100 to 10000000).")
    var keySpace: Int = 3000
    @Option(help: "Working directory: new, empty, or made by an earlier corrupt-test (marked by KVBENCH-WORKDIR); default: a temporary directory, removed at the end.")
    var dir: String?
    @Option(help: "Write the report as JSON to this file.")
    var json: String?
    @Option(name: .customLong("setting"), help: "Engine setting name=value (repeatable) for the build and every reader, e.g. leveldb.paranoid_checks=false.")
    var settings: [String] = []

    func validate() throws {
        guard EngineTable.crashEngines.contains(engine) else {
            throw ValidationError(EngineTable.unknown(engine, among: EngineTable.crashEngines, for: "corrupt-test"))
        }
        for setting in settings where !setting.contains("=") {
            throw ValidationError("--setting '\(setting)' must be name=value")
        }
        if let reason = EngineTable.refusedSettings(engine: engine, FaultSupport.settings(settings), durability: .fsync,
                                                    memoryBudget: CorruptTest.Configuration.defaultMemoryBudget) {
            throw ValidationError(reason)
        }
        do {
            try FaultRanges.corruptKeySpace.check(keySpace)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        if let json { try OutputPaths.checkFile(json, option: "--json") }
        let workDirectory = try WorkDirectory.prepare(dir: dir, command: "corrupt-test", temporaryPrefix: "kvbench-corrupt-\(engine)")
        defer { workDirectory.finish() }
        let work = workDirectory.path
        var configuration = CorruptTest.Configuration(engine: engine, workDirectory: work, executable: FaultSupport.executablePath)
        configuration.keySpace = keySpace
        configuration.settings = FaultSupport.settings(settings)
        let entry = try EngineTable.entry(engine)
        configuration.hasChecksums = entry.noChecksums == nil
        let pristine = work + "/pristine"
        let crashed = work + "/pristine-abandoned"
        let expected = try entry.corruptBuild(pristine, keySpace, configuration.memoryBudget, configuration.settings, false)
        var notes: [String] = []
        if let problem = try CorruptTest.buildAbandoned(configuration, directory: crashed) { notes.append(problem) }
        // Logs are damaged in the copy abandoned without close (its log holds the last writes);
        // everything else in the closed copy.
        var cases = try EngineTable.entry(engine).corruptionPlan(pristine).filter { !$0.targetsLog }
        for var item in try EngineTable.entry(engine).corruptionPlan(crashed) where item.targetsLog {
            item.fromCrashedCopy = true
            cases.append(item)
        }
        var report = try CorruptTest.run(configuration, pristine: pristine, crashed: crashed, expected: expected, cases: cases)
        report.notes += notes
        if let note = entry.noChecksums { report.notes.append(note) }
        print(report.text)
        if let json { try OutputPaths.writeJSON(report, to: json) }
        if report.status == "FAIL" { throw ExitCode(1) }
    }
}
