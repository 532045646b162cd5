import Foundation
import KVResults

/// One engine's line in a sweep chart: per value (by index), the spread over repetitions, and the model's value.
public struct SweepSeries: Sendable {
    public var label: String
    public var engine: String
    public var points: [(index: Int, spread: Spread)]
    public var model: [(index: Int, value: Double)]

    public init(label: String, engine: String, points: [(index: Int, spread: Spread)], model: [(index: Int, value: Double)] = []) {
        self.label = label
        self.engine = engine
        self.points = points
        self.model = model
    }
}

/// The charts of a sweep: a figure against the varied parameter, one line per engine (the median
/// over repetitions, the min–max drawn as a whisker and a band), the model dashed beside it, and the
/// RUM scatter. Engines differ by marker shape as well as colour, so the charts read in greyscale.
public enum SweepCharts {
    static let width = 900.0, height = 470.0
    static let margin = (left: 80.0, right: 190.0, top: 50.0, bottom: 100.0)

    /// The marker of the engine at `index` (`MarkerShape.forSeries`: circle, square, triangle, diamond, inverted triangle, …).
    static func marker(_ canvas: inout SVGCanvas, shape index: Int, _ x: Double, _ y: Double, size: Double, color: String) {
        canvas.marker(MarkerShape.forSeries(index), x, y, size: size, color: color)
    }

    /// A dashed line through `points` (the model).
    static func dashed(_ canvas: inout SVGCanvas, _ points: [(Double, Double)], color: String) {
        for (from, to) in zip(points, points.dropFirst()) {
            canvas.line(from.0, from.1, to.0, to.1, color: color, width: 2, dash: "7 5")
        }
        for point in points { canvas.rect(point.0 - 2.5, point.1 - 2.5, 5, 5, fill: "#ffffff", stroke: color) }
    }

    /// The x position of each value: log-spaced for a geometric sweep, linear for numbers, evenly spaced otherwise.
    static func xPositions(numbers: [Double]?, scale: String, count: Int, left: Double, right: Double) -> [Double] {
        let inset = (right - left) * 0.05
        let start = left + inset, end = right - inset
        guard let numbers, numbers.count == count, scale != "categorical", let low = numbers.min(), let high = numbers.max(), high > low else {
            return (0..<count).map { count == 1 ? (start + end) / 2 : start + (end - start) * Double($0) / Double(count - 1) }
        }
        if scale == "geometric" && low > 0 {
            return numbers.map { start + (end - start) * (log($0) - log(low)) / (log(high) - log(low)) }
        }
        return numbers.map { start + (end - start) * ($0 - low) / (high - low) }
    }

    /// A figure against the parameter: `series` (one per engine), the x axis labelled with `values`.
    public static func figure(title: String, yLabel: String, xLabel: String, values: [String], numbers: [Double]?, scale: String,
                              series: [SweepSeries], logY: Bool = false, footnote: [String] = []) -> String? {
        let drawn = series.filter { !$0.points.isEmpty }
        guard !drawn.isEmpty else { return nil }
        var canvas = SVGCanvas(width: width, height: height)
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        let xs = xPositions(numbers: numbers, scale: scale, count: values.count, left: left, right: right)
        let all = drawn.flatMap { $0.points.flatMap { [$0.spread.min, $0.spread.max] } } + drawn.flatMap { $0.model.map(\.value) }
        let positive = all.filter { $0 > 0 }
        let yAxis = logY
            ? Axis(kind: .logarithmic, dataMin: positive.min() ?? 0.1, dataMax: positive.max() ?? 1, pixelStart: bottom, pixelEnd: top)
            : Axis(kind: .linear, dataMin: 0, dataMax: max((all.max() ?? 1) * 1.05, 1e-9), pixelStart: bottom, pixelEnd: top)
        func y(_ value: Double) -> Double { yAxis.pixel(logY ? max(value, yAxis.lower) : value) }
        Charts.drawFrame(&canvas, title: title, left: left, right: right, top: top, bottom: bottom)
        for tick in yAxis.ticks {
            canvas.line(left, y(tick), right, y(tick), color: "#e0e0e0")
            canvas.text(Axis.label(tick), left - 8, y(tick) + 4, size: 11, anchor: .end)
        }
        let every = max(1, Int((Double(values.count) / 12).rounded(.up)))
        for (index, value) in values.enumerated() {
            canvas.line(xs[index], bottom, xs[index], bottom + 5, color: "#999999")
            if index % every == 0 { canvas.text(value, xs[index], bottom + 18, size: 11, anchor: .middle) }
        }
        let scaleNote = scale == "geometric" ? ", log scale" : ""
        canvas.text(xLabel + scaleNote, (left + right) / 2, bottom + 40, size: 12, anchor: .middle)
        canvas.text(yLabel + (logY ? " (log scale)" : ""), 20, (top + bottom) / 2, size: 12, anchor: .middle, rotate: -90)
        var legend: [(label: String, color: String, shape: Int, model: Bool)] = []
        for (position, line) in drawn.enumerated() {
            let shape = series.firstIndex { $0.label == line.label } ?? position
            let color = EnginePalette.color(for: line.engine, index: shape)
            let points = line.points.map { (xs[$0.index], $0.spread) }
            if points.count > 1 && points.contains(where: { $0.1.max > $0.1.min }) {
                let low = points.map { ($0.0, y($0.1.min)) }, high = points.map { ($0.0, y($0.1.max)) }
                canvas.polygon(low + high.reversed(), fill: color, opacity: 0.15)
            }
            canvas.polyline(points.map { ($0.0, y($0.1.median)) }, color: color)
            for (x, spread) in points where spread.max > spread.min {
                canvas.line(x, y(spread.min), x, y(spread.max), color: color, width: 1.5)
                canvas.line(x - 5, y(spread.min), x + 5, y(spread.min), color: color, width: 1.5)
                canvas.line(x - 5, y(spread.max), x + 5, y(spread.max), color: color, width: 1.5)
            }
            for (x, spread) in points { marker(&canvas, shape: shape, x, y(spread.median), size: 4.5, color: color) }
            legend.append((line.label, color, shape, false))
            if !line.model.isEmpty {
                dashed(&canvas, line.model.map { (xs[$0.index], y($0.value)) }, color: color)
                legend.append((line.label + " model", color, shape, true))
            }
        }
        for (index, entry) in legend.enumerated() {
            let rowY = top + 12 + Double(index) * 22
            let x = right + 15
            if entry.model {
                canvas.line(x, rowY, x + 28, rowY, color: entry.color, width: 2, dash: "7 5")
                canvas.rect(x + 11.5, rowY - 2.5, 5, 5, fill: "#ffffff", stroke: entry.color)
            } else {
                canvas.line(x, rowY, x + 28, rowY, color: entry.color, width: 2)
                marker(&canvas, shape: entry.shape, x + 14, rowY, size: 4.5, color: entry.color)
            }
            canvas.text(entry.label, x + 36, rowY + 4, size: 12)
        }
        let lines = ["line: median over repetitions; whisker and band: min–max over repetitions"] + footnote
        for (index, text) in lines.enumerated() {
            canvas.text(text, left, height - 18 + Double(index - lines.count + 1) * 13, size: 10.5, color: "#666666")
        }
        return canvas.document
    }

    /// One engine's point in RUM space: medians of read, write and space amplification at one value.
    public struct RUMPoint: Sendable {
        public var engine: String
        public var value: String
        public var readAmp: Double
        public var writeAmp: Double
        public var spaceAmp: Double

        public init(engine: String, value: String, readAmp: Double, writeAmp: Double, spaceAmp: Double) {
            self.engine = engine
            self.value = value
            self.readAmp = readAmp
            self.writeAmp = writeAmp
            self.spaceAmp = spaceAmp
        }
    }

    /// Indices of the points no other point dominates (no worse in all three amplifications, better in one).
    public static func paretoFront(_ points: [RUMPoint]) -> Set<Int> {
        var front = Set<Int>()
        for (index, point) in points.enumerated() {
            let dominated = points.contains { other in
                other.readAmp <= point.readAmp && other.writeAmp <= point.writeAmp && other.spaceAmp <= point.spaceAmp
                    && (other.readAmp < point.readAmp || other.writeAmp < point.writeAmp || other.spaceAmp < point.spaceAmp)
            }
            if !dominated { front.insert(index) }
        }
        return front
    }

    /// Write amplification (x, log scale) against read amplification (y), marker area growing with
    /// space amplification, each point labelled with its value; the Pareto front over all three is
    /// ringed and its write/read projection drawn as a grey staircase.
    public static func rum(_ points: [RUMPoint], engines: [String], parameter: String, missing: [String]) -> String? {
        guard !points.isEmpty else { return nil }
        var canvas = SVGCanvas(width: width, height: height)
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        let xAxis = Axis(kind: .logarithmic, dataMin: points.map(\.writeAmp).filter { $0 > 0 }.min() ?? 0.1,
                         dataMax: points.map(\.writeAmp).max() ?? 1, pixelStart: left, pixelEnd: right)
        let yAxis = Axis(kind: .linear, dataMin: 0, dataMax: max((points.map(\.readAmp).max() ?? 1) * 1.1, 0.5), pixelStart: bottom, pixelEnd: top)
        func x(_ value: Double) -> Double { xAxis.pixel(max(value, xAxis.lower)) }
        Charts.drawFrame(&canvas, title: "RUM trade-off over \(parameter): read vs write amplification, size = space amplification",
                         left: left, right: right, top: top, bottom: bottom)
        for tick in yAxis.ticks {
            canvas.line(left, yAxis.pixel(tick), right, yAxis.pixel(tick), color: "#e0e0e0")
            canvas.text(Axis.label(tick), left - 8, yAxis.pixel(tick) + 4, size: 11, anchor: .end)
        }
        for tick in xAxis.ticks {
            canvas.line(x(tick), top, x(tick), bottom, color: "#e0e0e0")
            canvas.text(Axis.label(tick), x(tick), bottom + 18, size: 11, anchor: .middle)
        }
        canvas.text("write amplification (engine view, phase that wrote most; log scale)", (left + right) / 2, bottom + 40, size: 12, anchor: .middle)
        canvas.text("read amplification (probes per get)", 20, (top + bottom) / 2, size: 12, anchor: .middle, rotate: -90)
        let front = paretoFront(points)
        let staircase = front.map { points[$0] }.sorted { $0.writeAmp < $1.writeAmp }
        var steps: [(Double, Double)] = []
        var best = Double.infinity
        for point in staircase where point.readAmp < best {
            if let last = steps.last { steps.append((x(point.writeAmp), last.1)) }
            steps.append((x(point.writeAmp), yAxis.pixel(point.readAmp)))
            best = point.readAmp
        }
        if steps.count > 1 {
            for (from, to) in zip(steps, steps.dropFirst()) { canvas.line(from.0, from.1, to.0, to.1, color: "#777777", width: 1.5, dash: "4 3") }
        }
        var labels: [(Double, Double)] = []
        for (index, point) in points.enumerated() {
            let shape = engines.firstIndex(of: point.engine) ?? 0
            let size = min(16, max(3, 3 + 5 * (point.spaceAmp - 1)))
            let px = x(point.writeAmp), py = yAxis.pixel(point.readAmp)
            if front.contains(index) {
                canvas.circle(px, py, radius: size * 1.5 + 3, fill: "#000000")
                canvas.circle(px, py, radius: size * 1.5 + 1.5, fill: "#ffffff")
            }
            marker(&canvas, shape: shape, px, py, size: size, color: EnginePalette.color(for: point.engine, index: shape))
            var labelY = py - size - 2
            while labels.contains(where: { abs($0.0 - (px + size + 5)) < 40 && abs($0.1 - labelY) < 11 }) { labelY += 12 }
            labels.append((px + size + 5, labelY))
            canvas.text(point.value, px + size + 5, labelY, size: 10, color: "#444444")
        }
        let present = engines.filter { engine in points.contains { $0.engine == engine } }
        for (row, engine) in present.enumerated() {
            let shape = engines.firstIndex(of: engine) ?? row
            let rowY = top + 12 + Double(row) * 22
            marker(&canvas, shape: shape, right + 22, rowY, size: 5, color: EnginePalette.color(for: engine, index: shape))
            canvas.text(engine, right + 36, rowY + 4, size: 12)
        }
        let legendBottom = top + 12 + Double(present.count) * 22
        canvas.circle(right + 22, legendBottom + 4, radius: 9, fill: "#000000")
        canvas.circle(right + 22, legendBottom + 4, radius: 7.5, fill: "#ffffff")
        canvas.text("Pareto front", right + 36, legendBottom + 8, size: 12)
        var notes = ["ringed: no other point is lower in read, write and space amplification at once; dashed: the front's write/read projection",
                     "marker size grows with space amplification (disk ÷ live bytes at the end); label: the value of \(parameter)"]
        if !missing.isEmpty { notes.append("not drawn (an amplification not reported): " + missing.joined(separator: ", ")) }
        for (index, text) in notes.enumerated() {
            canvas.text(text, left, height - 18 + Double(index - notes.count + 1) * 13, size: 10.5, color: "#666666")
        }
        return canvas.document
    }
}
