import Foundation
import KVResults

extension SweepReport {
    /// The sweep's `report.html`: the Markdown report's tables, the model's divergence and every chart inline.
    static func html(_ file: SweepFile, tables: [[[String]]], charts: [(file: String, title: String, svg: String)],
                     rum: [SweepCharts.RUMPoint]) -> HTMLDocument {
        let definition = file.definition
        var page = HTMLDocument(title: "KVBench sweep: \(definition.parameter) over \(definition.values.joined(separator: ", "))")
        var summary: [HTMLDocument.Block] = []
        if file.partial {
            summary.append(.paragraph("**PARTIAL: \(file.remaining.count) of \(file.schedule.count) points have not finished; run the same command again to resume.**"))
        }
        summary.append(.paragraph("Engines \(definition.engines.joined(separator: ", ")); \(definition.repetitions) repetition(s) of every point, each in its own process (interleaved in rounds, values in order, engine order rotated each round); x axis \(definition.scale)."))
        if let sentence = sharedLoadSentence(file) {
            let rows = sharedLoadRows(file)
            summary += [.paragraph(sentence), .table(HTMLDocument.Table(caption: "Shared loads", header: rows[0], rows: Array(rows.dropFirst())))]
        }
        if let first = file.points.first?.run {
            summary.append(.paragraph("Conditions at the first value (\(definition.parameter) varies): " + TextTables.conditions([first])))
        }
        let manifest = file.manifest
        summary.append(.table(HTMLDocument.Table(header: ["", ""], rows: [
            ["tool", "\(manifest.tool) \(manifest.toolVersion), git commit \(manifest.gitCommit)"],
            ["machine", "\(manifest.cpuModel), \(manifest.cores) cores, \(manifest.memoryBytes / 1_048_576) MiB, \(manifest.kernel), data on \(manifest.dataFilesystem)"],
            ["command", "`\(manifest.command)`"], ["sessions", file.sessions.joined(separator: ", ")],
            ["memory limit", manifest.memoryLimit ?? "not recorded"],
        ])))
        page.add(HTMLDocument.Section("Sweep", summary))
        page.add(HTMLDocument.Section("Figures", [.paragraph("Cells: the value, or over repetitions `median [min–max]` (below six repetitions) or `median ±h` (95 % interval). See docs/results.md.")]
            + tables.map { .table(HTMLDocument.Table(header: $0.first ?? [], rows: Array($0.dropFirst()))) }))
        let divergence = divergence(file)
        if divergence.isEmpty {
            page.add(HTMLDocument.Section("The model beside the measurement", [.paragraph("No engine of this sweep has a model (the model covers the LSM, leveled and tiered, and the B+tree).")]))
        } else {
            var shapes: [[String]] = []
            for engine in definition.engines {
                for (index, value) in definition.values.enumerated() {
                    guard let run = file.runs(engine: engine, valueIndex: index).first, let cost = CostModel.estimate(run) else { continue }
                    shapes.append([engine, value, cost.structure])
                }
            }
            page.add(HTMLDocument.Section("The model beside the measurement", [
                .paragraph("Measured ÷ model (formulas in docs/results.md, \"The model beside the measurement\"):"), .list(divergence),
                .table(HTMLDocument.Table(caption: "The shapes the model derived", header: ["engine", "value", "model"], rows: shapes)),
            ]))
        }
        if !rum.isEmpty {
            let front = SweepCharts.paretoFront(rum).sorted().map { "\(rum[$0].engine) at \(rum[$0].value)" }
            page.add(HTMLDocument.Section("RUM trade-off", [.paragraph("Pareto front over read, write and space amplification (medians): \(front.joined(separator: "; ")).")]))
        }
        if !file.failedPoints.isEmpty {
            page.add(HTMLDocument.Section("Failed points", file.failedPoints.flatMap { point -> [HTMLDocument.Block] in
                [.paragraph("**\(point.failure.engine)** at \(definition.parameter) = \(point.value), repetition \(point.failure.repetition): \(point.failure.termination). Last output:"),
                 .preformatted(point.failure.stderrTail.joined(separator: "\n"))]
            }))
        }
        if !charts.isEmpty {
            page.add(HTMLDocument.Section("Charts", charts.map { .chart(title: $0.title, svg: $0.svg) }))
        }
        return page
    }
}
