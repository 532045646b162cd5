import Foundation
import KVResults

/// A run with the label it carries in charts and tables (the engine name,
/// made unique when several files hold the same engine). With repetitions,
/// `run` is the repetition with the median throughput of its last phase and
/// `repetitions` holds them all, for the spread the charts draw.
public struct LabeledRun: Sendable {
    public var label: String
    public var run: RunResult
    public var repetitions: [RunResult]

    public init(label: String, run: RunResult, repetitions: [RunResult]? = nil) {
        self.label = label
        self.run = run
        self.repetitions = repetitions ?? [run]
    }

    func phase(_ name: String) -> PhaseResult? { run.phases.first { $0.name == name } }

    /// The spread of `value` over the repetitions' `phase`; nil with fewer than two.
    func spread(_ name: String, _ value: (PhaseResult) -> Double?) -> Spread? {
        guard repetitions.count > 1 else { return nil }
        return Spread(repetitions.compactMap { $0.phases.first { $0.name == name }.flatMap(value) })
    }
}

/// The SVG charts of a report. Each function returns a complete SVG document,
/// or nil when the runs hold nothing to draw.
public enum Charts {
    static let width = 900.0
    static let margin = (left: 80.0, right: 170.0, top: 50.0, bottom: 60.0)

    // MARK: Latency by percentile

    /// Latency (µs, log scale) against percentile on a "nines" scale up to 99.99 and max, one line per engine.
    public static func latencyByPercentile(_ runs: [LabeledRun], phase: String, operation: String) -> String? {
        let curves = runs.enumerated().compactMap { index, run -> (String, String, [PercentilePoint], MarkerShape)? in
            guard let points = run.phase(phase)?.ops[operation]?.percentileCurve, !points.isEmpty else { return nil }
            return (run.label, EnginePalette.color(for: run.run.engine, index: index), points, MarkerShape.forEngine(run.run.engine, index: index))
        }
        guard !curves.isEmpty else { return nil }
        let height = 460.0
        var canvas = SVGCanvas(width: width, height: height)
        let plotLeft = margin.left, plotRight = width - margin.right, plotTop = margin.top, plotBottom = height - margin.bottom
        let maxNines = 4.0, maxPosition = 4.6
        let values = curves.flatMap { $0.2.map(\.us) }.filter { $0 > 0 }
        let yAxis = Axis(kind: .logarithmic, dataMin: values.min() ?? 0.1, dataMax: values.max() ?? 1, pixelStart: plotBottom, pixelEnd: plotTop)
        let xAxis = Axis(kind: .linear, dataMin: 0, dataMax: maxPosition, pixelStart: plotLeft, pixelEnd: plotRight)
        func position(_ percentile: Double) -> Double {
            if percentile >= 100 { return maxPosition }
            return min(maxNines, -log10(1 - percentile / 100))
        }
        drawFrame(&canvas, title: "\(phase) phase: \(operation) latency by percentile", left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom)
        for tick in yAxis.ticks {
            let y = yAxis.pixel(tick)
            canvas.line(plotLeft, y, plotRight, y, color: "#e0e0e0")
            canvas.text(Axis.label(tick), plotLeft - 8, y + 4, size: 11, anchor: .end)
        }
        let xTicks: [(Double, String)] = [(0, "p0"), (1, "p90"), (2, "p99"), (3, "p99.9"), (4, "p99.99"), (maxPosition, "max")]
        for (value, label) in xTicks {
            let x = xAxis.pixel(value)
            canvas.line(x, plotTop, x, plotBottom, color: "#e0e0e0")
            canvas.text(label, x, plotBottom + 18, size: 11, anchor: .middle)
        }
        canvas.text("percentile (nines scale)", (plotLeft + plotRight) / 2, height - 15, size: 12, anchor: .middle)
        canvas.text("latency (µs, log scale)", 20, (plotTop + plotBottom) / 2, size: 12, anchor: .middle, rotate: -90)
        for (index, run) in runs.enumerated() where run.repetitions.count > 1 {
            guard let points = run.phase(phase)?.ops[operation]?.percentileCurve, !points.isEmpty else { continue }
            let color = EnginePalette.color(for: run.run.engine, index: index)
            var low: [(Double, Double)] = [], high: [(Double, Double)] = []
            for (pointIndex, point) in points.enumerated() {
                let values = run.repetitions.compactMap { repetition -> Double? in
                    guard let curve = repetition.phases.first(where: { $0.name == phase })?.ops[operation]?.percentileCurve,
                          pointIndex < curve.count else { return nil }
                    return curve[pointIndex].us
                }
                let x = xAxis.pixel(position(point.percentile))
                low.append((x, yAxis.pixel(max(values.min() ?? point.us, yAxis.lower))))
                high.append((x, yAxis.pixel(max(values.max() ?? point.us, yAxis.lower))))
            }
            canvas.polygon(low + high.reversed(), fill: color, opacity: 0.18)
        }
        if runs.contains(where: { $0.repetitions.count > 1 }) {
            canvas.text("line: median repetition; band: min–max over repetitions", plotLeft, plotTop - 8, size: 11, color: "#666666")
        }
        for (_, color, points, shape) in curves {
            let coordinates = points.map { (xAxis.pixel(position($0.percentile)), yAxis.pixel(max($0.us, yAxis.lower))) }
            canvas.polyline(coordinates, color: color)
            // Markers at p50, p90, p99, p99.9, p99.99 and max, so the lines read in greyscale.
            for (point, coordinate) in zip(points, coordinates) where [50, 90, 99, 99.9, 99.99, 100].contains(point.percentile) {
                canvas.marker(shape, coordinate.0, coordinate.1, color: color)
            }
        }
        drawLegend(&canvas, entries: curves.map { ($0.0, $0.1) }, markers: curves.map(\.3), x: plotRight + 15, y: plotTop + 10)
        return canvas.document
    }

    // MARK: Throughput over time

    /// Operations per second for each second of a phase, one panel per engine,
    /// with seconds in which compactions finished marked and write stalls shaded.
    public static func throughputOverTime(_ runs: [LabeledRun], phase: String) -> String? {
        let series = runs.enumerated().compactMap { index, run -> (String, String, [TimeSeriesPoint], [ClosedRange<Double>])? in
            guard let points = run.phase(phase)?.timeseries, !points.isEmpty else { return nil }
            return (run.label, EnginePalette.color(for: run.run.engine, index: index), points, rateBand(run, phase: phase, seconds: points.count))
        }
        guard !series.isEmpty else { return nil }
        let panelHeight = 150.0, gap = 30.0
        let height = margin.top + Double(series.count) * (panelHeight + gap) + margin.bottom - gap
        var canvas = SVGCanvas(width: width, height: height)
        let plotLeft = margin.left, plotRight = width - margin.right
        let longest = series.map { $0.2.last?.tS ?? 1 }.max() ?? 1
        let xAxis = Axis(kind: .linear, dataMin: 0, dataMax: longest, pixelStart: plotLeft, pixelEnd: plotRight)
        canvas.text("\(phase) phase: throughput over time", width / 2, 28, size: 16, anchor: .middle, weight: "bold")
        for (index, (label, color, points, band)) in series.enumerated() {
            let top = margin.top + Double(index) * (panelHeight + gap)
            let bottom = top + panelHeight
            let peak = max(points.enumerated().map { rate($1, offset: $0) }.max() ?? 1, band.map(\.upperBound).max() ?? 0)
            let yAxis = Axis(kind: .linear, dataMin: 0, dataMax: peak, pixelStart: bottom, pixelEnd: top)
            canvas.rect(plotLeft, top, plotRight - plotLeft, panelHeight, fill: "#fafafa", stroke: "#999999")
            for (offset, point) in points.enumerated() {
                let start = xAxis.pixel(Double(offset)), end = xAxis.pixel(point.tS)
                if let stall = point.stallS, stall > 0 {
                    canvas.rect(start, top, end - start, panelHeight, fill: "#d62728", opacity: min(0.5, 0.1 + stall))
                }
                if let compactions = point.compactions, compactions > 0 {
                    canvas.rect(start, bottom - 8, end - start, 8, fill: "#555555", opacity: 0.6)
                }
            }
            for tick in yAxis.ticks {
                let y = yAxis.pixel(tick)
                canvas.line(plotLeft, y, plotRight, y, color: "#e6e6e6")
                canvas.text(Axis.label(tick), plotLeft - 8, y + 4, size: 10, anchor: .end)
            }
            let coordinates = points.enumerated().map { offset, point in
                (xAxis.pixel((Double(offset) + point.tS) / 2), yAxis.pixel(rate(point, offset: offset)))
            }
            if !band.isEmpty {
                let xs = coordinates.prefix(band.count).map(\.0)
                let low = zip(xs, band).map { ($0, yAxis.pixel($1.lowerBound)) }
                let high = zip(xs, band).map { ($0, yAxis.pixel($1.upperBound)) }
                canvas.polygon(low + high.reversed(), fill: color, opacity: 0.18)
            }
            canvas.polyline(coordinates, color: color)
            if points.count == 1, let only = coordinates.first { canvas.circle(only.0, only.1, radius: 3.5, fill: color) }
            canvas.text(label, plotRight + 12, top + 18, size: 13, weight: "bold", color: color)
            canvas.text("ops/s", plotRight + 12, top + 36, size: 11)
        }
        let lastBottom = margin.top + Double(series.count) * (panelHeight + gap) - gap
        for tick in xAxis.ticks {
            canvas.text(Axis.label(tick), xAxis.pixel(tick), lastBottom + 16, size: 11, anchor: .middle)
        }
        canvas.text("time (s); grey bar: compactions finished in that second; red shade: write stall", (plotLeft + plotRight) / 2, lastBottom + 38, size: 12, anchor: .middle)
        if series.contains(where: { !$0.3.isEmpty }) {
            canvas.text("line: median repetition; band: min–max over repetitions", plotLeft, margin.top - 8, size: 11, color: "#666666")
        }
        canvas.text("operations per second", 20, (margin.top + lastBottom) / 2, size: 12, anchor: .middle, rotate: -90)
        return canvas.document
    }

    /// Per second of the median repetition, the lowest and highest rate of that second over the
    /// repetitions that lasted that long; empty without repetitions.
    static func rateBand(_ run: LabeledRun, phase: String, seconds: Int) -> [ClosedRange<Double>] {
        guard run.repetitions.count > 1 else { return [] }
        let all = run.repetitions.compactMap { $0.phases.first { $0.name == phase }?.timeseries }
        return (0..<seconds).map { offset in
            let rates = all.compactMap { offset < $0.count ? rate($0[offset], offset: offset) : nil }
            return (rates.min() ?? 0)...(rates.max() ?? 0)
        }
    }

    /// Operations per second of one time-series point; the last point may cover less than a second.
    static func rate(_ point: TimeSeriesPoint, offset: Int) -> Double {
        let span = point.tS - Double(offset)
        return span > 0.05 ? Double(point.ops) / span : Double(point.ops)
    }

    // MARK: Bars

    /// One bar of a grouped bar chart; nil value is drawn as "n/a".
    struct Bar {
        var series: String
        var value: Double?
        /// With repetitions: the median's 95 % interval (or [min, max]), drawn as an error bar.
        var spread: Spread? = nil
        /// Appended to the value label, e.g. " (OS)" when a figure comes from another view.
        var note: String = ""
    }

    /// Write amplification per engine in every view (engine, issued, OS, device), for the load and run phases.
    public static func writeAmplification(_ runs: [LabeledRun]) -> String? {
        var groups: [(String, [Bar])] = []
        for run in runs {
            var bars: [Bar] = []
            for phase in ["load", "run"] {
                guard let result = run.phase(phase), result.userBytesWritten > 0 else { continue }
                bars.append(Bar(series: "\(phase): engine view", value: result.writeAmpEngine, spread: run.spread(phase) { $0.writeAmpEngine },
                                note: result.engineWriteSource == "wchar" ? " (wchar)" : ""))
                bars.append(Bar(series: "\(phase): issued view", value: result.writeAmpIssued, spread: run.spread(phase) { $0.writeAmpIssued }))
                bars.append(Bar(series: "\(phase): OS view", value: result.writeAmpOS, spread: run.spread(phase) { $0.writeAmpOS }))
                bars.append(Bar(series: "\(phase): device view", value: result.writeAmpDevice, spread: run.spread(phase) { $0.writeAmpDevice }))
            }
            if !bars.isEmpty { groups.append((run.label, bars)) }
        }
        guard !groups.isEmpty else { return nil }
        let colors = ["load: engine view": "#1f77b4", "load: issued view": "#17becf", "load: OS view": "#aec7e8", "load: device view": "#7f7f7f",
                      "run: engine view": "#ff7f0e", "run: issued view": "#d62728", "run: OS view": "#ffbb78", "run: device view": "#bcbd22"]
        return groupedBars(title: "Write amplification (bytes written ÷ user bytes)", yLabel: "write amplification (×)", groups: groups, colors: colors,
                           footnote: ["engine: own counters, (wchar) where it has none; issued: bytes passed to write calls; OS: write-back charged",
                                      "device: sectors written on the data disk, machine-wide; n/a: not available"])
    }

    /// The RUM trade-off: read amplification from the phase that read, write
    /// amplification from the phase that wrote most (engine view, from wchar where the engine has no counter, else OS view),
    /// and space amplification at the end of the last phase.
    public static func rumTradeOff(_ runs: [LabeledRun]) -> String? {
        var groups: [(String, [Bar])] = []
        for run in runs {
            let phases = run.run.phases
            guard let last = phases.last else { continue }
            let reading = phases.last { $0.readAmp != nil } ?? last
            let writing = phases.max { $0.userBytesWritten < $1.userBytesWritten } ?? last
            groups.append((run.label, [
                Bar(series: "read amp (probes per get)", value: reading.readAmp),
                Bar(series: "write amp", value: writing.userBytesWritten > 0 ? (writing.writeAmpEngine ?? writing.writeAmpOS) : nil,
                    note: writing.engineWriteSource == "wchar" ? " (wchar)" : (writing.writeAmpEngine == nil && writing.writeAmpOS != nil ? " (OS)" : "")),
                Bar(series: "space amp", value: last.spaceAmp),
            ]))
        }
        guard !groups.isEmpty else { return nil }
        let colors = ["read amp (probes per get)": "#2ca02c", "write amp": "#1f77b4", "space amp": "#9467bd"]
        return groupedBars(title: "Read, write and space amplification (RUM trade-off)", yLabel: "amplification (×)", groups: groups, colors: colors,
                           footnote: ["read: tables, blocks or pages touched per get; space: disk ÷ live bytes at the end; n/a: not reported",
                                      "write: engine view of the phase that wrote most; (wchar): the engine has no counter, the issued view stands in"])
    }

    static func groupedBars(title: String, yLabel: String, groups: [(String, [Bar])], colors: [String: String],
                            footnote: [String] = ["n/a: the engine does not report this figure"]) -> String {
        let height = 450.0
        var canvas = SVGCanvas(width: width, height: height)
        let plotLeft = margin.left, plotRight = width - margin.right - 60, plotTop = margin.top, plotBottom = height - margin.bottom - 10
        let values = groups.flatMap { $0.1.flatMap { bar in [bar.value, bar.spread?.ciHigh].compactMap { $0 } } }
        let yAxis = Axis(kind: .linear, dataMin: 0, dataMax: max(values.max() ?? 1, 0.1), pixelStart: plotBottom, pixelEnd: plotTop)
        drawFrame(&canvas, title: title, left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom)
        for tick in yAxis.ticks {
            let y = yAxis.pixel(tick)
            canvas.line(plotLeft, y, plotRight, y, color: "#e0e0e0")
            canvas.text(Axis.label(tick), plotLeft - 8, y + 4, size: 11, anchor: .end)
        }
        canvas.text(yLabel, 20, (plotTop + plotBottom) / 2, size: 12, anchor: .middle, rotate: -90)
        let groupWidth = (plotRight - plotLeft) / Double(groups.count)
        var seriesOrder: [String] = []
        for (_, bars) in groups { for bar in bars where !seriesOrder.contains(bar.series) { seriesOrder.append(bar.series) } }
        for (index, (label, bars)) in groups.enumerated() {
            let groupLeft = plotLeft + Double(index) * groupWidth
            let barWidth = min(40, groupWidth * 0.8 / Double(max(bars.count, 1)))
            let barsLeft = groupLeft + (groupWidth - barWidth * Double(bars.count)) / 2
            for (position, bar) in bars.enumerated() {
                let x = barsLeft + Double(position) * barWidth
                if let value = bar.spread?.median ?? bar.value {
                    let top = yAxis.pixel(value)
                    canvas.rect(x + 2, top, barWidth - 4, plotBottom - top, fill: colors[bar.series] ?? "#888888")
                    if let series = seriesOrder.firstIndex(of: bar.series), plotBottom - top > 14 {
                        canvas.marker(MarkerShape.forSeries(series), x + barWidth / 2, plotBottom - 8, size: 3.5, color: "#222222")
                    }
                    var labelY = top - 4
                    if let spread = bar.spread, spread.ciHigh > spread.ciLow {
                        let center = x + barWidth / 2, low = yAxis.pixel(spread.ciLow), high = yAxis.pixel(spread.ciHigh)
                        canvas.line(center, low, center, high, color: "#333333", width: 1.5)
                        canvas.line(center - 5, low, center + 5, low, color: "#333333", width: 1.5)
                        canvas.line(center - 5, high, center + 5, high, color: "#333333", width: 1.5)
                        labelY = min(labelY, high - 4)
                    }
                    canvas.text(Axis.label((value * 100).rounded() / 100) + bar.note, x + barWidth / 2, labelY, size: 10, anchor: .middle)
                } else {
                    canvas.text("n/a", x + barWidth / 2, plotBottom - 6, size: 10, anchor: .middle, color: "#888888")
                }
            }
            canvas.text(label, groupLeft + groupWidth / 2, plotBottom + 20, size: 13, anchor: .middle, weight: "bold")
        }
        drawLegend(&canvas, entries: seriesOrder.map { ($0, colors[$0] ?? "#888888") }, markers: seriesOrder.indices.map(MarkerShape.forSeries),
                   x: plotRight + 15, y: plotTop + 10, markerOnSwatch: true)
        for (index, line) in footnote.enumerated() {
            canvas.text(line, plotLeft, height - 22 + Double(index) * 14, size: 11, color: "#666666")
        }
        return canvas.document
    }

    // MARK: Frame and legend

    static func drawFrame(_ canvas: inout SVGCanvas, title: String, left: Double, right: Double, top: Double, bottom: Double) {
        canvas.text(title, canvas.width / 2, 28, size: 16, anchor: .middle, weight: "bold")
        canvas.rect(left, top, right - left, bottom - top, fill: "#fcfcfc", stroke: "#999999")
    }

    /// One row per entry: a colour swatch, or with `markers` a line sample with the entry's marker
    /// (`markerOnSwatch`: the marker drawn dark on the swatch, as on the bars), then the label.
    static func drawLegend(_ canvas: inout SVGCanvas, entries: [(String, String)], markers: [MarkerShape]? = nil,
                           x: Double, y: Double, markerOnSwatch: Bool = false) {
        for (index, (label, color)) in entries.enumerated() {
            let rowY = y + Double(index) * 22
            if let markers, index < markers.count, !markerOnSwatch {
                canvas.line(x - 4, rowY - 3, x + 18, rowY - 3, color: color, width: 2)
                canvas.marker(markers[index], x + 7, rowY - 3, color: color)
            } else {
                canvas.rect(x, rowY - 10, 14, 14, fill: color)
                if let markers, index < markers.count { canvas.marker(markers[index], x + 7, rowY - 3, size: 3.5, color: "#222222") }
            }
            canvas.text(label, x + 22, rowY + 2, size: 12)
        }
    }
}
