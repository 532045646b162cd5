import Foundation
import KVResults

/// Writes a report directory: `results.json`, `report.md`, `report.html` and the SVG charts.
public enum ReportWriter {
    /// Labels runs by engine, adding the file's position when an engine appears in more than one file.
    /// The repetitions of an engine within one file become one labelled run (see `LabeledRun`).
    public static func label(_ files: [ResultsFile]) -> [LabeledRun] {
        var groups: [(fileIndex: Int, engine: String, runs: [RunResult])] = []
        for (fileIndex, file) in files.enumerated() {
            for run in file.runs {
                if let index = groups.firstIndex(where: { $0.fileIndex == fileIndex && $0.engine == run.engine && run.repetition != nil }) {
                    groups[index].runs.append(run)
                } else {
                    groups.append((fileIndex, run.engine, [run]))
                }
            }
        }
        var seen: [String: Int] = [:]
        for group in groups { seen[group.engine, default: 0] += 1 }
        return groups.map { group in
            let ordered = group.runs.sorted { ($0.phases.last?.throughputOpsS ?? 0) < ($1.phases.last?.throughputOpsS ?? 0) }
            return LabeledRun(label: seen[group.engine]! > 1 ? "\(group.engine) #\(group.fileIndex + 1)" : group.engine,
                              run: ordered[(ordered.count - 1) / 2], repetitions: group.runs)
        }
    }

    /// The files written, relative to the report directory.
    public struct Written: Sendable {
        public var markdown: String
        public var html: String
        public var charts: [String]
    }

    /// Writes everything for `files` into `directory` (created when missing).
    @discardableResult
    public static func write(_ files: [ResultsFile], to directory: String) throws -> Written {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let runs = label(files)
        let allRuns = files.flatMap(\.runs)
        let merged = ResultsFile(manifest: files[0].manifest, runs: allRuns, summary: EngineSummary.summarize(allRuns), failedRuns: files.flatMap { $0.failedRuns ?? [] })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(merged).write(to: URL(fileURLWithPath: directory + "/results.json"))

        var charts: [(file: String, title: String, svg: String)] = []
        func save(_ svg: String?, _ file: String, _ title: String) throws {
            guard let svg else { return }
            try svg.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
            charts.append((file, title, svg))
        }
        for phase in ["load", "run"] {
            let operations = Set(runs.flatMap { $0.phase(phase)?.ops.keys.map { $0 } ?? [] }).sorted()
            for operation in operations {
                try save(Charts.latencyByPercentile(runs, phase: phase, operation: operation),
                         "latency-\(phase)-\(operation).svg", "\(phase) phase: \(operation) latency by percentile")
            }
            try save(Charts.throughputOverTime(runs, phase: phase), "throughput-\(phase).svg", "\(phase) phase: throughput over time")
        }
        try save(Charts.writeAmplification(runs), "write-amplification.svg", "Write amplification: engine, issued, OS and device views")
        try save(Charts.rumTradeOff(runs), "rum.svg", "Read, write and space amplification")

        let markdown = MarkdownReport.render(files: files, runs: runs, charts: charts.map { ($0.file, $0.title) })
        try markdown.write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
        try HTMLReport.render(files: files, runs: runs, charts: charts).write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
        return Written(markdown: "report.md", html: "report.html", charts: charts.map(\.file))
    }
}

/// The Markdown text of a report.
public enum MarkdownReport {
    public static func render(files: [ResultsFile], runs: [LabeledRun], charts: [(file: String, title: String)]) -> String {
        var text = "# KVBench report\n\n"
        let results = runs.map(\.run)
        text += TextTables.conditions(results) + "\n\n"

        for (title, table) in [("Manifest", manifestTable(files)), ("Parameters", parameterTable(runs))] {
            text += "## \(title)\n\n| " + table.header.joined(separator: " | ") + " |\n|" + table.header.map { _ in "---|" }.joined() + "\n"
            for row in table.rows { text += "| " + row.joined(separator: " | ") + " |\n" }
            text += "\n"
        }
        text.removeLast()

        for phase in ["load", "run"] {
            let table = TextTables.phaseTable(phase, columns: runs.map { (label: $0.label, runs: $0.repetitions) })
            if !table.isEmpty { text += "\n## \(phase.capitalized) phase\n\n```\n" + table + "```\n" }
        }
        if runs.contains(where: { $0.repetitions.count > 1 }) {
            text += "\n" + repetitionsNote + "\n"
        }
        let failures = files.flatMap { $0.failedRuns ?? [] }
        if !failures.isEmpty {
            text += "\n## Failed runs\n\n"
            for failure in failures {
                text += "- **\(failure.engine)**, repetition \(failure.repetition): \(failure.termination). Last output:\n\n```\n"
                text += failure.stderrTail.joined(separator: "\n") + "\n```\n"
            }
        }

        if !charts.isEmpty {
            text += "\n## Charts\n\n"
            for chart in charts { text += "### \(chart.title)\n\n![\(chart.title)](\(chart.file))\n\n" }
        }

        text += "## Fairness notes\n\n" + fairnessNotes(runs).map { "- " + $0 + "\n" }.joined()
        return text
    }

    /// The manifest table: one row per manifest field, one column per results file.
    public static func manifestTable(_ files: [ResultsFile]) -> (header: [String], rows: [[String]]) {
        let manifestRows: [(String, (Manifest) -> String)] = [
            ("tool", { "\($0.tool) \($0.toolVersion)" }), ("git commit", { $0.gitCommit }),
            ("engines", { $0.engineVersions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }),
            ("CPU", { "\($0.cpuModel), \($0.cores) cores" }), ("memory", { "\($0.memoryBytes / 1_048_576) MiB" }),
            ("kernel", { $0.kernel }), ("data filesystem", { $0.dataFilesystem }), ("started", { $0.startTime }),
            ("command", { "`\($0.command)`" }), ("memory limit", { $0.memoryLimit ?? "not recorded (file from before memory limits)" }),
        ]
        return (header: [""] + files.indices.map { "file \($0 + 1)" },
                rows: manifestRows.map { label, value in [label] + files.map { value($0.manifest) } })
    }

    /// The parameters table: one row per load parameter, one column per run.
    public static func parameterTable(_ runs: [LabeledRun]) -> (header: [String], rows: [[String]]) {
        let parameterRows: [(String, (RunParameters) -> String)] = [
            ("workload", { $0.workload }), ("mix", { $0.mix.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }),
            ("records", { String($0.records) }), ("operations", { $0.operations.map(String.init) ?? "n/a" }),
            ("duration (s)", { $0.durationSeconds.map { String($0) } ?? "n/a" }),
            ("threads", { String($0.threads) }), ("loop", { $0.loop + ($0.targetRate.map { " at \(Int($0)) ops/s" } ?? "") }),
            ("key / value size (B)", { "\($0.keySize) / \($0.valueSize)" }), ("distribution", { $0.distribution }),
            ("zipf theta", { String($0.zipfTheta) }), ("seed", { String($0.seed) }), ("durability", { $0.durability }),
            ("memory budget (MiB)", { String($0.memoryBudgetBytes / 1_048_576) }),
            ("dataset (MiB)", { String(format: "%.1f", Double($0.datasetBytes) / 1_048_576) }),
        ]
        return (header: ["parameter"] + runs.map(\.label),
                rows: parameterRows.map { label, value in [label] + runs.map { value($0.run.parameters) } })
    }

    /// How figures over repetitions read, printed under the phase tables.
    public static let repetitionsNote = "With repetitions each figure is `median ±h` (h: the larger distance from the median to an end of its 95 % order-statistics interval) or, below six repetitions, `median [min–max]` (the range covers the median with probability 1 − 2^(1−n)). See docs/results.md."

    /// The fairness notes under every report, one per item (with the Markdown report's `**bold**` and `` `code` ``).
    public static func fairnessNotes(_ runs: [LabeledRun]) -> [String] {
        let results = runs.map(\.run)
        var notes: [String] = []
        for run in runs where run.run.errors > 0 {
            let phases = run.run.phases.filter { $0.errors > 0 }.map { "\($0.errors) in the \($0.name) phase" }.joined(separator: ", ")
            notes.append("**\(run.label): operations failed (\(phases)).** Its throughput counts successful operations only; its latencies include the failed calls.")
        }
        for run in runs where run.run.partial {
            notes.append("**\(run.label): interrupted; its last phase stopped early and the figures cover only what ran.**")
        }
        let durabilities = Set(results.map(\.parameters.durability))
        let budgets = Set(results.map(\.parameters.memoryBudgetBytes))
        notes.append("Durability: \(durabilities.sorted().joined(separator: ", "))" + (durabilities.count == 1 ? " for every engine." : " — **engines ran under different durability modes: their numbers are not comparable.**"))
        notes.append("Memory budget: \(budgets.sorted().map { "\($0 / 1_048_576) MiB" }.joined(separator: ", "))" + (budgets.count == 1 ? " for every engine that can be bounded." : " — **engines ran with different budgets.**"))
        for run in runs {
            let settings = run.run.engineSettings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            notes.append("\(run.label) \(run.run.engineVersion): \(settings.isEmpty ? "no settings reported" : settings)")
        }
        notes.append("Compression is off for every engine unless a setting above says otherwise.")
        for label in Set(runs.filter { $0.run.engineSettings["build"]?.hasPrefix("assertions on") == true }.map(\.label)).sorted() {
            notes.append("\(label) ran on a library compiled with assertions on (detected, see its `build` setting above); this slows it.")
        }
        if results.contains(where: { $0.engine == "lmdb" }) {
            notes.append("LMDB reads through the OS page cache and cannot be bounded by the memory budget: compare its peak RSS. It has no mode without durability and no write counter: its engine-view write amplification is the issued view (`wchar`, marked (wchar)).")
        }
        if results.contains(where: { $0.engine == "leveldb" }) {
            notes.append("LevelDB has no mode without its log and counts no written bytes: its engine-view write amplification is the issued view (`wchar`, marked (wchar)). Its C API copies every value read.")
        }
        if results.contains(where: { $0.engine == "sqlite" }) {
            notes.append("SQLite has no mode without a crash-safe journal (it runs in WAL mode) and counts no written bytes: its engine-view write amplification is the issued view (`wchar`, marked (wchar)). Each operation is a prepared SQL statement.")
        }
        notes.append("`n/a`: the engine does not report that figure (never a guess). Read amplification is the probe view: tables, blocks or pages touched per point lookup.")
        notes.append("Figures come from one run on one machine; compare engines within a report, not across machines.")
        return notes
    }
}
