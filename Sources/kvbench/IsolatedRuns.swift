#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVProcess
import KVResults
import KVStore
import StorageIO
import KVWorkbench

/// One engine repetition in a child process (`kvbench child-run`), inside its memory
/// cgroup when a limit is enforced. The child's output is forwarded to standard error
/// as it comes; its last lines are kept for the report when it fails.
enum IsolatedRun {
    enum Outcome {
        case finished(RunResult)
        case failed(FailedRun)
    }

    /// Lines of a failed child's output kept in the report.
    static let tailLines = 12

    /// `childFlags` are given to `child-run` before the benchmark options (e.g. `--closed-loop-load`).
    static func run(engine: String, repetition: Int, options: BenchmarkOptions, directory: String,
                    plan: MemoryLimitPlan, workDirectory: String, childFlags: [String] = []) throws -> Outcome {
        let resultPath = "\(workDirectory)/\(engine)-\(repetition).json"
        var cgroup: MemoryCgroup?
        var limit: MemoryLimitResult
        switch plan {
        case .off, .notEnforced:
            limit = MemoryLimitResult(limitBytes: nil, enforced: false, note: plan.description)
        case .enforce(let parent, let version, let bytes, let explicit):
            switch MemoryCgroup.create(parent: parent, version: version, name: "kvbench-\(getpid())-\(engine)-\(repetition)", limitBytes: bytes) {
            case .success(let group):
                cgroup = group
                limit = MemoryLimitResult(limitBytes: bytes, enforced: true, note: plan.description, cgroup: version.rawValue)
            case .failure(let error):
                if explicit { throw CommandFailure("--memory-limit cannot be enforced: \(error); use --memory-limit auto or off") }
                limit = MemoryLimitResult(limitBytes: nil, enforced: false, note: "memory limit not enforced: \(error)")
            }
        }
        defer { cgroup?.remove() }
        // Under a limit, each engine is opened as a careful user would when data outgrows memory
        // (a setting the user gave wins).
        let given = Set(options.settings.map { EngineSettings.split($0).name })
        let extra = cgroup == nil ? [] : try EngineTable.entry(engine).settingsUnderMemoryLimit.filter { !given.contains(EngineSettings.split($0).name) }
        var arguments = [FaultSupport.executablePath, "child-run", "--engine", engine, "--run-directory", directory, "--result", resultPath]
        if let cgroup { arguments += ["--cgroup", cgroup.path] }
        arguments += childFlags
        arguments += options.childArguments(engine: engine, extraSettings: extra)

        // The Swift backtracer's register dump would push the child's own last words out of the kept tail.
        let environment = ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] == nil ? ["SWIFT_BACKTRACE": "enable=no"] : [:]
        let child = try ChildProcess(arguments: arguments, environment: environment, standardError: nil, ownProcessGroup: true)
        Interrupt.forwardTo.store(child.pid, ordering: .sequentiallyConsistent)
        if let signal = Interrupt.signal { kill(child.pid, signal) }
        var forwarded = 0
        var highest: MemoryCgroup.Usage?
        func sample() {
            guard let usage = cgroup?.usage() else { return }
            if usage.currentBytes >= highest?.currentBytes ?? 0 { highest = usage }
        }
        while !child.read(until: Monotonic.nanoseconds() + 100_000_000, stop: { output in
            output[forwarded...].withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
            forwarded = output.count
            return false
        }) {
            sample()
        }
        let termination = child.wait()
        Interrupt.forwardTo.store(0, ordering: .sequentiallyConsistent)
        if let cgroup {
            limit.peakBytes = cgroup.peakBytes
            limit.anonymousBytesAtPeak = highest?.anonymousBytes
            limit.fileBytesAtPeak = highest?.fileBytes
            limit.limitHits = cgroup.limitHits
            limit.oomKills = cgroup.oomKills
        }
        defer { try? FileManager.default.removeItem(atPath: resultPath) }
        let interrupted = termination == .exited(130) || termination == .exited(143)
        if termination == .exited(0) || interrupted, let data = FileManager.default.contents(atPath: resultPath),
           var result = try? JSONDecoder().decode(RunResult.self, from: data) {
            result.repetition = repetition
            result.memoryLimit = limit
            result.processPeakRSSBytes = child.peakResidentBytes
            for index in result.phases.indices { result.phases[index].pageCache = index == 0 ? "cold" : "warm" }
            return .finished(result)
        }
        let text = String(decoding: child.output, as: UTF8.self)
        let tail = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(tailLines)
        var signal: Int32?, status: Int32?
        switch termination {
        case .signaled(let number): signal = number
        case .exited(let code): status = code
        }
        var description = termination.description
        if case .signaled(let number) = termination, number == Interrupt.signal {
            description = "interrupted (\(ChildProcess.Termination.signalName(number)) forwarded to it)"
        }
        if termination == .exited(0) { description += " without a readable result" }
        if let kills = limit.oomKills, kills > 0 { description += "; the kernel's OOM killer acted \(kills) time(s) at the memory limit" }
        return .failed(FailedRun(engine: engine, repetition: repetition, termination: description, signal: signal,
                                 exitStatus: status, stderrTail: Array(tail), memoryLimit: limit))
    }

    /// Drops a kept directory's pages from the OS page cache (written back first), so that the next run starts cold.
    /// A temporary directory is removed instead, which frees its pages.
    static func dropPages(of directory: String) {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return }
        for case let name as String in enumerator {
            let fd = open(directory + "/" + name, O_RDONLY)
            guard fd >= 0 else { continue }
            fdatasync(fd)
            posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            close(fd)
        }
    }
}
