import Foundation
import KVResults

/// The report of a `capacity` run: the answer per engine, the probes as a table, and the
/// latency-against-offered-load chart, as text, Markdown (`report.md`) and HTML (`report.html`).
public enum CapacityReport {
    /// The files written, relative to the report directory.
    public struct Written: Sendable {
        public var markdown: String
        public var html: String
        public var charts: [String]
    }

    static let chartFile = "capacity.svg"

    /// Writes `results.json`, `report.md`, `report.html` and `capacity.svg` into `directory` (created when missing).
    @discardableResult
    public static func write(_ results: CapacityResults, to directory: String) throws -> Written {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: URL(fileURLWithPath: directory + "/results.json"))
        let chart = Charts.capacityCurve(results)
        if let chart { try chart.write(toFile: directory + "/" + chartFile, atomically: true, encoding: .utf8) }
        try markdown(results, chartFile: chart == nil ? nil : chartFile).write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
        try html(results, chart: chart).render().write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
        return Written(markdown: "report.md", html: "report.html", charts: chart == nil ? [] : [chartFile])
    }

    /// The engines' answers, then the harness floor's, in one sentence each.
    public static func statements(_ results: CapacityResults) -> [String] {
        results.engines.map(\.statement) + (results.harnessFloor.map { ["harness floor: " + $0.statement] } ?? [])
    }

    static func rate(_ value: Double?) -> String {
        value.map { TextTables.grouped(Int($0.rounded())) } ?? "n/a"
    }

    /// The answers: one row per engine (the median sustained rate, its min–max over repetitions, each search's end).
    /// With a harness floor, a last column says whether each engine reached it, and the floor is the last row.
    public static func answerRows(_ results: CapacityResults) -> [[String]] {
        let floor = results.harnessFloor
        var rows = [["engine", "sustained (ops/s) at \(results.slo.description)", "min–max over repetitions", "searches (repetition)"]
            + (floor == nil ? [] : ["harness floor"])]
        func row(_ answer: CapacityAnswer, label: String) -> [String] {
            let outcomes = answer.repetitions.map { "\($0.outcome.rawValue) (\($0.repetition))" }.joined(separator: ", ")
            let ceiling = answer.repetitions.allSatisfy { $0.outcome == .ceiling }
            return [label, answer.sustainedOpsS == nil ? "none" : (ceiling ? "≥ " : "") + rate(answer.sustainedOpsS),
                    answer.repetitions.count > 1 && answer.minOpsS != nil ? "\(rate(answer.minOpsS))–\(rate(answer.maxOpsS))" : "n/a", outcomes]
        }
        for answer in results.engines {
            let mark = answer.limitedByHarness != true ? "below" : floor?.sustainedOpsS == nil ? "the harness misses too: may be the harness's" : "reached: may be the harness's"
            rows.append(row(answer, label: answer.engine) + (floor == nil ? [] : [mark]))
        }
        if let floor { rows.append(row(floor, label: "harness floor (\(floor.engine) engine)") + ["the floor"]) }
        return rows
    }

    /// Every probe, in the order run: offered and achieved rate, the objective's percentile, the verdict.
    public static func probeRows(_ results: CapacityResults) -> [[String]] {
        var rows = [["engine", "repetition", "step", "stage", "offered (ops/s)", "achieved (ops/s)", "\(results.slo.percentile) (µs)", "failed ops", "verdict"]]
        for probe in results.probes {
            rows.append([probe.engine, String(probe.repetition), String(probe.step), probe.stage, rate(probe.offeredOpsS), rate(probe.achievedOpsS),
                         probe.percentileUs.map { TextTables.format($0, digits: 1) } ?? "n/a", probe.errors.map(String.init) ?? "n/a",
                         probe.meetsSLO ? "meets" : "misses: " + (probe.reason ?? "")])
        }
        return rows
    }

    /// The text printed by `kvbench capacity`: the answers table.
    public static func table(_ results: CapacityResults) -> String {
        TextTables.render(answerRows(results))
    }

    /// One line per probe on standard error while the search runs.
    public static func progressLine(_ probe: CapacityProbe, objective: LatencyObjective) -> String {
        var line = "\(probe.engine) repetition \(probe.repetition) \(probe.stage) \(probe.step): offered \(rate(probe.offeredOpsS)) ops/s"
        if let achieved = probe.achievedOpsS { line += ", achieved \(rate(achieved))" }
        if let percentile = probe.percentileUs { line += ", \(objective.percentile) \(LatencyObjective.latencyText(percentile))" }
        return line + (probe.meetsSLO ? ": meets \(objective.description)" : ": misses (\(probe.reason ?? "no result"))")
    }

    /// The search and the measurement in one paragraph.
    public static func searchSentence(_ results: CapacityResults) -> String {
        let search = results.search
        let measured = search.windowS.map { "a \(TextTables.format($0, digits: $0 == $0.rounded() ? 0 : 2)) s window" }
            ?? "\(search.operations.map { TextTables.grouped($0) } ?? "?") operations"
        return "Search: an exponential ramp from \(rate(search.startRate)) ops/s by ×\(TextTables.format(search.growth, digits: 0)) (ceiling \(rate(search.maxRate)) ops/s) "
            + "until a probe misses \(results.slo.description), then bisection on the logarithm of the rate until the lowest missing rate is within "
            + "\(TextTables.format(search.resolution * 100, digits: search.resolution * 100 == (search.resolution * 100).rounded() ? 0 : 1)) % of the highest meeting one (the resolution). "
            + "Database: \(search.database). Each probe warms up for \(search.warmup.hasSuffix("s") ? search.warmup : search.warmup + " operations") at its rate, then measures \(measured) at that rate; a probe \(search.rule). "
            + "The search assumes a rate above one that misses also misses."
    }

    static func conditionRows(_ results: CapacityResults) -> [[String]] {
        let manifest = results.manifest
        var rows = [["condition", "value"], ["git commit", manifest.gitCommit], ["command", "`\(manifest.command)`"],
                    ["engines", manifest.engineVersions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")],
                    ["CPU", "\(manifest.cpuModel), \(manifest.cores) cores"], ["memory", "\(manifest.memoryBytes / 1_048_576) MiB"],
                    ["kernel", manifest.kernel], ["started", manifest.startTime], ["memory limit", manifest.memoryLimit ?? "not recorded"]]
        if let parameters = results.parameters {
            rows.append(["workload", "\(parameters.workload), \(parameters.records) records, \(parameters.threads) thread(s), key/value \(parameters.keySize)/\(parameters.valueSize) B, \(parameters.distribution), durability \(parameters.durability), memory budget \(parameters.memoryBudgetBytes >> 20) MiB"])
        }
        return rows
    }

    static func notes(_ results: CapacityResults) -> [String] {
        var notes: [String] = []
        if results.partial { notes.append("**Interrupted: the searches that were running stopped early; their answers are not claimed.**") }
        for failure in results.failedRuns {
            notes.append("**\(failure.engine), repetition \(failure.repetition): a probe failed (\(failure.termination)); that search stopped there.** Last output: `\(failure.stderrTail.suffix(3).joined(separator: " / "))`")
        }
        notes.append("Failed operations are not throughput: achieved rates count successful operations, and a probe with a failed operation misses the objective.")
        notes.append("`≥`: the ramp reached --max-rate and the objective still held; the number is a lower bound.")
        if let floor = results.harnessFloor {
            notes.append("Harness floor: the same search against the \(floor.engine) engine, which stores nothing, in the same rounds as the engines: the highest rate the harness itself sustains at \(results.slo.description) here. An engine whose answer reaches it (within one resolution of the floor's lowest repetition) is marked: its figure may be the harness's, not the engine's.")
        } else {
            notes.append("No harness floor was measured (--no-harness-floor): an answer cannot be told from the harness's own limit.")
        }
        return notes
    }

    static func markdownTable(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        return "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
            + rows.dropFirst().map { "| " + $0.joined(separator: " | ") + " |\n" }.joined()
    }

    /// `report.md`.
    public static func markdown(_ results: CapacityResults, chartFile: String?) -> String {
        var text = "# KVBench capacity at \(results.slo.description)\n\n"
        text += statements(results).map { "- **\($0)**\n" }.joined() + "\n"
        text += markdownTable(answerRows(results)) + "\n" + searchSentence(results) + "\n\n"
        if let chartFile {
            text += "## Latency against offered load\n\n![\(results.slo.percentile) against offered rate](\(chartFile))\n\n"
        }
        text += "## Probes\n\n" + markdownTable(probeRows(results)) + "\n"
        text += "## Conditions\n\n" + markdownTable(conditionRows(results)) + "\n"
        text += "## Notes\n\n" + notes(results).map { "- \($0)\n" }.joined()
        return text
    }

    static func htmlTable(_ rows: [[String]], caption: String? = nil) -> HTMLDocument.Block {
        .table(HTMLDocument.Table(caption: caption, header: rows.first ?? [], rows: Array(rows.dropFirst())))
    }

    /// `report.html`, as sections another report can also include.
    public static func html(_ results: CapacityResults, chart: String?) -> HTMLDocument {
        var page = HTMLDocument(title: "KVBench capacity at \(results.slo.description)")
        page.add(HTMLDocument.Section("Answer", [.list(statements(results)), htmlTable(answerRows(results)), .paragraph(searchSentence(results))]))
        if let chart {
            page.add(HTMLDocument.Section("Latency against offered load", [.chart(title: "\(results.slo.percentile) of latency from the intended start against offered rate", svg: chart)]))
        }
        page.add(HTMLDocument.Section("Probes", [htmlTable(probeRows(results))]))
        page.add(HTMLDocument.Section("Conditions", [htmlTable(conditionRows(results))]))
        page.add(HTMLDocument.Section("Notes", [.list(notes(results))]))
        return page
    }
}

extension Charts {
    /// The objective's percentile (log scale) against the offered rate (log scale), one line per engine through
    /// the median over repetitions at each rate of the ramp, a marker per probe (ramp and bisection), the objective as a dashed horizontal
    /// line and each engine's answer as a dashed vertical one; nil when no probe finished.
    public static func capacityCurve(_ results: CapacityResults) -> String? {
        let answers = results.engines + (results.harnessFloor.map { [$0] } ?? [])
        var engines = results.engines.map(\.engine)
        if let floor = results.harnessFloor, !engines.contains(floor.engine) { engines.append(floor.engine) }
        let measured = results.probes.filter { $0.percentileUs != nil }
        guard !measured.isEmpty else { return nil }
        let height = 480.0
        var canvas = SVGCanvas(width: width, height: height)
        let plotLeft = margin.left, plotRight = width - margin.right, plotTop = margin.top, plotBottom = height - margin.bottom
        let bound = results.slo.boundUs
        let latencies = measured.compactMap(\.percentileUs).map { max($0, 1e-3) } + [bound]
        let rates = measured.map(\.offeredOpsS)
        let yAxis = Axis(kind: .logarithmic, dataMin: latencies.min()!, dataMax: latencies.max()!, pixelStart: plotBottom, pixelEnd: plotTop)
        let xAxis = Axis(kind: .logarithmic, dataMin: rates.min()!, dataMax: rates.max()!, pixelStart: plotLeft, pixelEnd: plotRight)
        drawFrame(&canvas, title: "\(results.slo.percentile) latency against offered load", left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom)
        for tick in yAxis.ticks {
            let y = yAxis.pixel(tick)
            canvas.line(plotLeft, y, plotRight, y, color: "#e0e0e0")
            canvas.text(Axis.label(tick), plotLeft - 8, y + 4, size: 11, anchor: .end)
        }
        for tick in xAxis.ticks {
            let x = xAxis.pixel(tick)
            canvas.line(x, plotTop, x, plotBottom, color: "#e0e0e0")
            canvas.text(Axis.label(tick), x, plotBottom + 18, size: 11, anchor: .middle)
        }
        canvas.text("offered rate (operations per second, log scale)", (plotLeft + plotRight) / 2, height - 22, size: 12, anchor: .middle)
        canvas.text("\(results.slo.percentile) latency from intended start (µs, log scale)", 20, (plotTop + plotBottom) / 2, size: 12, anchor: .middle, rotate: -90)
        let sloY = yAxis.pixel(bound)
        canvas.line(plotLeft, sloY, plotRight, sloY, color: "#000000", width: 1.5, dash: "8 4")
        canvas.text("objective: \(results.slo.description)", plotRight - 6, sloY - 6, size: 11, anchor: .end)
        var legend: [(String, String)] = [], markers: [MarkerShape] = []
        for (index, engine) in engines.enumerated() {
            let probes = measured.filter { $0.engine == engine }
            guard !probes.isEmpty else { continue }
            let color = EnginePalette.color(for: engine, index: index)
            let shape = MarkerShape.forEngine(engine, index: index)
            // The ramp's rates are the same in every repetition; the bisections' are not, and stand as markers only.
            let byRate = Dictionary(grouping: probes.filter { $0.stage == "ramp" }, by: \.offeredOpsS).sorted { $0.key < $1.key }
            let line = byRate.map { rate, group -> (Double, Double) in
                let values = group.compactMap(\.percentileUs).sorted()
                let median = values.count % 2 == 1 ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
                return (xAxis.pixel(rate), yAxis.pixel(max(median, yAxis.lower)))
            }
            canvas.polyline(line, color: color)
            if let answer = answers.first(where: { $0.engine == engine })?.sustainedOpsS {
                let x = xAxis.pixel(answer)
                canvas.line(x, sloY, x, plotBottom, color: color, width: 1.5, dash: "3 3")
            }
            for probe in probes {
                canvas.marker(shape, xAxis.pixel(probe.offeredOpsS), yAxis.pixel(max(probe.percentileUs!, yAxis.lower)), color: color)
            }
            legend.append((engine, color))
            markers.append(shape)
        }
        drawLegend(&canvas, entries: legend, markers: markers, x: plotRight + 15, y: plotTop + 10)
        canvas.text("marker: one probe (ramp or bisection); line: median over repetitions at each ramp rate; dotted: the engine's sustained rate", plotLeft, height - 6, size: 11, color: "#666666")
        return canvas.document
    }
}
