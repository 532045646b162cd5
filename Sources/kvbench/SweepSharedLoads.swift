import Foundation
import KVResults
import KVWorkbench
import StorageIO

/// `sweep --share-load`: each engine's database loaded once per session, by a `child-run --load-only`
/// process of its own (in its own memory cgroup, at the sweep's own options: its `--memory-budget` or a
/// memory-budget sweep's smallest value, its `--threads`, closed loop), then copied whole into a fresh directory for every point, whose process
/// opens the copy and runs only the warm-up and run phases. A point never sees another point's writes
/// or compactions: every point starts from the state the load left when it closed its store.
final class SweepSharedLoads {
    /// What a point of an engine runs on.
    enum Database {
        case loaded(String)
        case failed(FailedRun)
    }

    private let options: BenchmarkOptions
    private let workDirectory: String
    private var databases: [String: PreparedDirectory] = [:]
    private var failures: [String: FailedRun] = [:]

    /// `options` are the sweep's own (not a point's): the load runs with them, at `memoryBudget` when given
    /// (a memory-budget sweep loads at its smallest value: an engine that sizes on-disk structures by the budget
    /// when it creates them, as WiredTiger's LSM sizes its chunks, then opens at every point's budget).
    init(options: BenchmarkOptions, memoryBudget: String?, workDirectory: String) {
        var load = options
        load.repetitions = 1
        load.json = nil
        if let memoryBudget { load.memoryBudget = memoryBudget }
        self.options = load
        self.workDirectory = workDirectory
    }

    /// The loaded database of `engine`, loading it first when this session has not tried yet; the record of that
    /// load when it ran now (to keep in `sweep.json`), nil when it had already run.
    func database(of engine: String, session: Int) throws -> (database: Database, newLoad: SweepSharedLoad?) {
        if let database = databases[engine] { return (.loaded(database.path), nil) }
        if let failure = failures[engine] { return (.failed(failure), nil) }
        let directory = try options.prepareDirectory(engine: "\(engine)-loaded-s\(session)", shared: true)
        let budget = BenchmarkOptions.parseBytes(options.memoryBudget)!
        let plan = try MemoryLimitPlan.resolve(options.memoryLimit, memoryBudget: budget)
        let outcome = try IsolatedRun.run(engine: engine, repetition: 0, options: options, directory: directory.path, plan: plan,
                                          workDirectory: workDirectory, childFlags: ["--closed-loop-load", "--load-only"])
        switch outcome {
        case .finished(let result):
            guard !result.partial else {
                // Interrupted: the sweep stops; a later session loads again.
                directory.finish()
                let failure = FailedRun(engine: engine, repetition: 0, termination: "the shared load was interrupted", signal: nil, exitStatus: nil,
                                        stderrTail: [], memoryLimit: result.memoryLimit)
                failures[engine] = failure
                return (.failed(failure), nil)
            }
            databases[engine] = directory
            return (.loaded(directory.path), SweepSharedLoad(engine: engine, session: session, run: result, failure: nil))
        case .failed(let failure):
            directory.finish()
            var failed = failure
            failed.termination = "the shared load failed: " + failure.termination
            failures[engine] = failed
            return (.failed(failed), SweepSharedLoad(engine: engine, session: session, run: nil, failure: failed))
        }
    }

    /// True when this session has loaded `engine` (or tried to).
    func hasLoaded(_ engine: String) -> Bool { databases[engine] != nil || failures[engine] != nil }

    /// Copies the loaded database at `source` into the empty `directory`, then writes both back and drops their
    /// pages from the page cache, so the point's run starts cold (the copy's pages would otherwise be cached
    /// outside the point's memory cgroup).
    static func copy(_ source: String, into directory: String) throws {
        do {
            for name in try FileSystem.list(source) {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: directory + "/" + name)
            }
        } catch {
            throw CommandFailure("cannot copy the shared load \(source) into \(directory): \(OutputPaths.describe(error))")
        }
        IsolatedRun.dropPages(of: directory)
        IsolatedRun.dropPages(of: source)
    }

    /// Finishes `engine`'s loaded database once its last point of the session has run: removed
    /// when temporary, kept under `--dir` as every run's database is.
    func release(_ engine: String) {
        databases.removeValue(forKey: engine)?.finish()
    }

    /// Finishes every loaded database still held.
    func releaseAll() {
        for engine in Array(databases.keys) { release(engine) }
    }
}
