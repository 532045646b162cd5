import Foundation
import KVResults

/// The report of a sweep: one chart and one table per figure against the varied parameter,
/// the model beside the LSM's and the B+tree's amplifications, and the RUM chart.
public enum SweepReport {
    /// One figure of a sweep: how to read it from a run, and the model's value where there is one.
    public struct Figure: Sendable {
        public var file: String
        public var title: String
        public var yLabel: String
        public var logY: Bool
        public var digits: Int
        public var value: @Sendable (RunResult) -> Double?
        public var model: (@Sendable (ModelCost) -> Double?)?
        public var footnote: [String]
    }

    /// The phase of a run by name.
    static func phase(_ run: RunResult, _ name: String) -> PhaseResult? { run.phases.first { $0.name == name } }

    /// Write amplification as the model sees it: the engine view of the load phase.
    static func loadWriteAmp(_ run: RunResult) -> Double? {
        guard let load = phase(run, "load"), load.userBytesWritten > 0 else { return nil }
        return load.writeAmpEngine
    }

    /// Read amplification of the last phase that counted it.
    static func readAmp(_ run: RunResult) -> Double? { run.phases.last { $0.readAmp != nil }?.readAmp }

    /// Peak memory: the cgroup's peak (heap and page cache) where a limit held the run, else the process's peak RSS.
    static func peakMemory(_ run: RunResult) -> Double? {
        (run.memoryLimit?.peakBytes ?? run.processPeakRSSBytes).map { Double($0) / 1_048_576 }
    }

    /// The figures the points hold, in report order.
    public static func figures(_ file: SweepFile) -> [Figure] {
        let runs = file.points.map(\.run)
        let phases = ["load", "run"].filter { name in runs.contains { phase($0, name) != nil } }
        var figures: [Figure] = []
        for name in phases {
            figures.append(Figure(file: "throughput-\(name).svg", title: "\(name) phase: throughput", yLabel: "operations per second",
                                  logY: false, digits: 0, value: { phase($0, name)?.throughputOpsS }, model: nil, footnote: []))
        }
        for name in phases {
            let operations = Set(runs.flatMap { phase($0, name)?.ops.filter { $0.value.count > 0 }.keys.map { $0 } ?? [] }).sorted()
            for operation in operations {
                let percentiles: [(String, String, @Sendable (LatencySummary) -> Double)] = [("p50", "p50", { $0.p50 }), ("p99", "p99", { $0.p99 }), ("p999", "p99.9", { $0.p999 })]
                for (key, label, pick) in percentiles {
                    figures.append(Figure(file: "latency-\(name)-\(operation)-\(key).svg", title: "\(name) phase: \(operation) latency \(label)",
                                          yLabel: "latency (µs)", logY: true, digits: 1,
                                          value: { phase($0, name)?.ops[operation].map { pick($0.latencyUs) } }, model: nil,
                                          footnote: ["closed loop: service time; open loop: from each operation's intended start"]))
                }
            }
        }
        figures.append(Figure(file: "write-amp.svg", title: "Write amplification of the load phase (engine view)", yLabel: "write amplification (×)",
                              logY: false, digits: 2, value: loadWriteAmp, model: { $0.writeAmp },
                              footnote: ["engine bytes written ÷ user bytes (wchar where the engine has no counter); dashed: the textbook model (docs/results.md)"]))
        if runs.contains(where: { (phase($0, "run")?.userBytesWritten ?? 0) > 0 }) {
            figures.append(Figure(file: "write-amp-run.svg", title: "Write amplification of the run phase (engine view)", yLabel: "write amplification (×)",
                                  logY: false, digits: 2, value: { run in phase(run, "run").flatMap { $0.userBytesWritten > 0 ? $0.writeAmpEngine : nil } },
                                  model: nil, footnote: []))
        }
        figures.append(Figure(file: "read-amp.svg", title: "Read amplification (probes per get)", yLabel: "tables, blocks or pages per get",
                              logY: false, digits: 2, value: readAmp, model: { $0.readAmp },
                              footnote: ["probe view from the engine's counters, last phase that read; dashed: the textbook model (docs/results.md)"]))
        figures.append(Figure(file: "space-amp.svg", title: "Space amplification at the end of the load", yLabel: "disk ÷ live bytes",
                              logY: false, digits: 2, value: { phase($0, "load")?.spaceAmp }, model: { $0.spaceAmp },
                              footnote: ["allocated bytes of the database directory ÷ live key + value bytes; dashed: the textbook model"]))
        if runs.contains(where: { (phase($0, "run")?.userBytesWritten ?? 0) > 0 }) {
            figures.append(Figure(file: "space-amp-run.svg", title: "Space amplification at the end of the run", yLabel: "disk ÷ live bytes",
                                  logY: false, digits: 2, value: { phase($0, "run")?.spaceAmp }, model: nil, footnote: []))
        }
        figures.append(Figure(file: "peak-memory.svg", title: "Peak memory of each run", yLabel: "MiB", logY: false, digits: 1, value: peakMemory,
                              model: nil, footnote: ["the memory cgroup's peak (heap and page cache) where a limit held the run, else the process's peak RSS"]))
        return figures
    }

    /// The model's value for `engine` at `valueIndex`, from its first repetition's settings (every repetition runs the same configuration).
    static func modelValue(_ file: SweepFile, engine: String, valueIndex: Int, _ pick: (ModelCost) -> Double?) -> Double? {
        guard let run = file.runs(engine: engine, valueIndex: valueIndex).first, let cost = CostModel.estimate(run) else { return nil }
        return pick(cost)
    }

    /// One series per engine of `figure`.
    public static func series(_ file: SweepFile, _ figure: Figure) -> [SweepSeries] {
        file.definition.engines.map { engine in
            var points: [(index: Int, spread: Spread)] = []
            var model: [(index: Int, value: Double)] = []
            for index in file.definition.values.indices {
                if let spread = Spread(file.runs(engine: engine, valueIndex: index).compactMap(figure.value)) { points.append((index, spread)) }
                if let pick = figure.model, let value = modelValue(file, engine: engine, valueIndex: index, pick) { model.append((index, value)) }
            }
            return SweepSeries(label: engine, engine: engine, points: points, model: model)
        }
    }

    /// The table of `figure`: one row per engine (and, with a model, the model and measured ÷ model), one column per value.
    public static func table(_ file: SweepFile, _ figure: Figure) -> [[String]] {
        let values = file.definition.values
        var rows: [[String]] = [[figure.title + (figure.yLabel.hasPrefix("operations") ? " (ops/s)" : figure.yLabel == "MiB" ? " (MiB)" : "")] + values]
        for engine in file.definition.engines {
            let measured = values.indices.map { Spread(file.runs(engine: engine, valueIndex: $0).compactMap(figure.value)) }
            guard measured.contains(where: { $0 != nil }) else { continue }
            rows.append([engine] + values.indices.map { TextTables.spreadCell(file.runs(engine: engine, valueIndex: $0).compactMap(figure.value), digits: figure.digits) })
            guard let pick = figure.model else { continue }
            let model = values.indices.map { modelValue(file, engine: engine, valueIndex: $0, pick) }
            guard model.contains(where: { $0 != nil }) else { continue }
            rows.append(["\(engine) model"] + model.map { $0.map { TextTables.format($0, digits: figure.digits) } ?? "n/a" })
            rows.append(["\(engine) measured ÷ model"] + zip(measured, model).map { spread, model in
                guard let spread, let model, model > 0 else { return "n/a" }
                return TextTables.format(spread.median / model, digits: 2)
            })
        }
        return rows
    }

    /// The RUM points (medians per engine and value) and the engines lacking a figure.
    public static func rumPoints(_ file: SweepFile) -> (points: [SweepCharts.RUMPoint], missing: [String]) {
        var points: [SweepCharts.RUMPoint] = []
        var missing: [String] = []
        for engine in file.definition.engines {
            var lacking: Set<String> = []
            for (index, value) in file.definition.values.enumerated() {
                let runs = file.runs(engine: engine, valueIndex: index)
                guard !runs.isEmpty else { continue }
                let read = Spread(runs.compactMap(readAmp))?.median
                let write = Spread(runs.compactMap { run in
                    run.phases.max { $0.userBytesWritten < $1.userBytesWritten }.flatMap { $0.userBytesWritten > 0 ? $0.writeAmpEngine : nil }
                })?.median
                let space = Spread(runs.compactMap { $0.phases.last?.spaceAmp })?.median
                if read == nil { lacking.insert("read") }
                if write == nil { lacking.insert("write") }
                if space == nil { lacking.insert("space") }
                if let read, let write, let space {
                    points.append(SweepCharts.RUMPoint(engine: engine, value: value, readAmp: read, writeAmp: write, spaceAmp: space))
                }
            }
            if !lacking.isEmpty { missing.append("\(engine) (\(lacking.sorted().joined(separator: ", ")) amp)") }
        }
        return (points, missing)
    }

    /// The files written, relative to the sweep directory.
    public struct Written: Sendable {
        public var markdown: String
        public var html: String
        public var charts: [String]
    }

    /// Writes `report.md`, `report.html` and every chart into `directory` (which holds `sweep.json`).
    @discardableResult
    public static func write(_ file: SweepFile, to directory: String) throws -> Written {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let definition = file.definition
        let parameter = definition.parameter
        let numbers = numericValues(definition)
        var charts: [(file: String, title: String, svg: String)] = []
        var tables: [[[String]]] = []
        for figure in figures(file) {
            let series = series(file, figure)
            let svg = SweepCharts.figure(title: "\(figure.title) over \(parameter)", yLabel: figure.yLabel, xLabel: axisLabel(parameter),
                                         values: definition.values, numbers: numbers, scale: definition.scale, series: series,
                                         logY: figure.logY, footnote: figure.footnote)
            guard let svg else { continue }
            try svg.write(toFile: directory + "/" + figure.file, atomically: true, encoding: .utf8)
            charts.append((figure.file, figure.title, svg))
            tables.append(table(file, figure))
        }
        let rum = rumPoints(file)
        if let svg = SweepCharts.rum(rum.points, engines: definition.engines, parameter: parameter, missing: rum.missing) {
            try svg.write(toFile: directory + "/rum.svg", atomically: true, encoding: .utf8)
            charts.append(("rum.svg", "RUM trade-off: read vs write amplification, marker size = space amplification, Pareto front ringed", svg))
        }
        try markdown(file, tables: tables, charts: charts.map { ($0.file, $0.title) }, rum: rum.points).write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
        try html(file, tables: tables, charts: charts, rum: rum.points).render().write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
        return Written(markdown: "report.md", html: "report.html", charts: charts.map(\.file))
    }

    /// The values as numbers for the x axis, or nil for a categorical sweep.
    static func numericValues(_ definition: SweepDefinition) -> [Double]? {
        guard definition.scale != "categorical" else { return nil }
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
        let numbers = definition.values.compactMap { text -> Double? in
            for (unit, scale) in units where text.hasSuffix(unit) { return Double(text.dropLast(unit.count)).map { $0 * scale } }
            return Double(text)
        }
        return numbers.count == definition.values.count ? numbers : nil
    }

    static func axisLabel(_ parameter: String) -> String {
        switch parameter {
        case "memory-budget": return "memory budget"
        case "value-size": return "value size (bytes)"
        case "zipf-theta": return "zipf θ"
        case "target-rate": return "target rate (ops/s)"
        default: return parameter.hasPrefix("setting:") ? String(parameter.dropFirst("setting:".count)) : parameter
        }
    }

    /// With `--share-load`, how the points got their databases, in words; nil when every point loaded its own.
    public static func sharedLoadSentence(_ file: SweepFile) -> String? {
        guard file.definition.loadSharing == "copy" else { return nil }
        return "Shared load (--share-load): each engine's database was loaded once per session, in a process and memory cgroup of its own, "
            + "with the sweep's own options (closed loop; its --threads; its --memory-budget, or in a memory-budget sweep the smallest value), then copied whole into a fresh directory for every point. "
            + "Each point's process opened its copy and ran the warm-up and run phases only, from a cold page cache; no point saw another point's writes or compactions. "
            + "The points have no load phase: the load's throughput, write and space amplification are those of the shared loads below."
    }

    /// With `--share-load`, one row per shared load: engine, session, load throughput, write and space amplification, or the failure.
    public static func sharedLoadRows(_ file: SweepFile) -> [[String]] {
        var rows = [["engine", "session", "load (ops/s)", "write amp (engine)", "space amp", "disk (MiB)"]]
        for load in file.sharedLoads ?? [] {
            guard let phase = load.run.flatMap({ phase($0, "load") }) else {
                rows.append([load.engine, String(load.session), "failed: " + (load.failure?.termination ?? "no result"), "n/a", "n/a", "n/a"])
                continue
            }
            rows.append([load.engine, String(load.session), TextTables.format(phase.throughputOpsS, digits: 0),
                         phase.writeAmpEngine.map { TextTables.format($0, digits: 2) } ?? "n/a", phase.spaceAmp.map { TextTables.format($0, digits: 2) } ?? "n/a",
                         TextTables.format(Double(phase.diskBytes) / 1_048_576, digits: 1)])
        }
        return rows
    }

    /// A table in Markdown.
    static func markdownTable(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var text = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
        for row in rows.dropFirst() { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }

    /// The divergence of the model in sentences: per engine and figure, the range of measured ÷ model over the values.
    public static func divergence(_ file: SweepFile) -> [String] {
        var lines: [String] = []
        for figure in figures(file) where figure.model != nil {
            for engine in file.definition.engines {
                var ratios: [(String, Double)] = []
                for (index, value) in file.definition.values.enumerated() {
                    guard let measured = Spread(file.runs(engine: engine, valueIndex: index).compactMap(figure.value))?.median,
                          let model = modelValue(file, engine: engine, valueIndex: index, figure.model!), model > 0 else { continue }
                    ratios.append((value, measured / model))
                }
                guard let low = ratios.min(by: { $0.1 < $1.1 }), let high = ratios.max(by: { $0.1 < $1.1 }) else { continue }
                let range = TextTables.format(low.1, digits: 2) == TextTables.format(high.1, digits: 2) ? TextTables.format(low.1, digits: 2)
                    : "\(TextTables.format(low.1, digits: 2)) (at \(low.0)) to \(TextTables.format(high.1, digits: 2)) (at \(high.0))"
                let verdict = high.1 <= 1.25 && low.1 >= 0.8 ? "the model holds within 25 %"
                    : "the model disagrees by more than 25 %: a finding about the engine or the model, not an error"
                lines.append("\(engine), \(figure.title.lowercased()): measured ÷ model \(range); \(verdict).")
            }
        }
        return lines
    }

    static func markdown(_ file: SweepFile, tables: [[[String]]], charts: [(file: String, title: String)], rum: [SweepCharts.RUMPoint]) -> String {
        let definition = file.definition
        var text = "# KVBench sweep: \(definition.parameter) over \(definition.values.joined(separator: ", "))\n\n"
        if file.partial { text += "**PARTIAL: \(file.remaining.count) of \(file.schedule.count) points have not finished; run the same command again to resume.**\n\n" }
        text += "Engines \(definition.engines.joined(separator: ", ")); \(definition.repetitions) repetition(s) of every point, each in its own process"
        text += " (interleaved in rounds, values in order, engine order rotated each round); x axis \(definition.scale).\n\n"
        if let sentence = sharedLoadSentence(file) { text += sentence + "\n\n" + markdownTable(sharedLoadRows(file)) + "\n" }
        if let first = file.points.first?.run {
            text += "Conditions at the first value (\(definition.parameter) varies): " + TextTables.conditions([first]) + "\n\n"
        }
        let manifest = file.manifest
        text += "| | |\n|---|---|\n| tool | \(manifest.tool) \(manifest.toolVersion), git commit \(manifest.gitCommit) |\n"
        text += "| machine | \(manifest.cpuModel), \(manifest.cores) cores, \(manifest.memoryBytes / 1_048_576) MiB, \(manifest.kernel), data on \(manifest.dataFilesystem) |\n"
        text += "| command | `\(manifest.command)` |\n| sessions | \(file.sessions.joined(separator: ", ")) |\n"
        text += "| memory limit | \(manifest.memoryLimit ?? "not recorded") |\n\n"
        text += "Cells: the value, or over repetitions `median [min–max]` (below six repetitions) or `median ±h` (95 % interval). See docs/results.md.\n\n"
        text += "## Figures\n\n"
        for table in tables { text += markdownTable(table) + "\n" }
        let divergence = divergence(file)
        text += "## The model beside the measurement\n\n"
        if divergence.isEmpty {
            text += "No engine of this sweep has a model (the model covers the LSM, leveled and tiered, and the B+tree).\n\n"
        } else {
            text += "The textbook cost of each measured configuration, from the engine's reported settings and the run's records, key and value sizes (formulas in docs/results.md, \"The model beside the measurement\"). Measured ÷ model:\n\n"
            for line in divergence { text += "- \(line)\n" }
            text += "\nThe shapes the model derived:\n\n| engine | value | model |\n|---|---|---|\n"
            for engine in definition.engines {
                for (index, value) in definition.values.enumerated() {
                    guard let run = file.runs(engine: engine, valueIndex: index).first, let cost = CostModel.estimate(run) else { continue }
                    text += "| \(engine) | \(value) | \(cost.structure) |\n"
                }
            }
            text += "\n"
        }
        if !rum.isEmpty {
            let front = SweepCharts.paretoFront(rum).sorted().map { "\(rum[$0].engine) at \(rum[$0].value)" }
            text += "## RUM trade-off\n\nPareto front over read, write and space amplification (medians): \(front.joined(separator: "; ")).\n\n"
        }
        if !file.failedPoints.isEmpty {
            text += "## Failed points\n\n"
            for point in file.failedPoints {
                text += "- **\(point.failure.engine)** at \(definition.parameter) = \(point.value), repetition \(point.failure.repetition): \(point.failure.termination). Last output:\n\n```\n"
                text += point.failure.stderrTail.joined(separator: "\n") + "\n```\n"
            }
            text += "\n"
        }
        if !charts.isEmpty {
            text += "## Charts\n\n"
            for chart in charts { text += "### \(chart.title)\n\n![\(chart.title)](\(chart.file))\n\n" }
        }
        return text
    }
}
