/// A minimal SVG writer: shapes and text appended to a document of fixed size.
/// Everything a chart draws goes through here, so escaping and number
/// formatting are done once.
struct SVGCanvas {
    let width: Double
    let height: Double
    private var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        elements.append("<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String = "#000000", width: Double = 1, dash: String? = nil) {
        var attributes = "x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(color)\" stroke-width=\"\(n(width))\""
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        elements.append("<line \(attributes)/>")
    }

    mutating func polyline(_ points: [(Double, Double)], color: String, width: Double = 2) {
        guard !points.isEmpty else { return }
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\"/>")
    }

    /// A filled closed shape (a band between two curves).
    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) {
        guard !points.isEmpty else { return }
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        elements.append("<polygon points=\"\(list)\" fill=\"\(fill)\" fill-opacity=\"\(n(opacity))\" stroke=\"none\"/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String, opacity: Double = 1, stroke: String? = nil) {
        var attributes = "x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(0, width)))\" height=\"\(n(max(0, height)))\" fill=\"\(fill)\""
        if opacity < 1 { attributes += " fill-opacity=\"\(n(opacity))\"" }
        if let stroke { attributes += " stroke=\"\(stroke)\"" }
        elements.append("<rect \(attributes)/>")
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String) {
        elements.append("<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\" fill=\"\(fill)\"/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ content: String, _ x: Double, _ y: Double, size: Double = 12, anchor: Anchor = .start,
                       weight: String = "normal", color: String = "#222222", rotate: Double? = nil) {
        var attributes = "x=\"\(n(x))\" y=\"\(n(y))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(color)\""
        if weight != "normal" { attributes += " font-weight=\"\(weight)\"" }
        if let rotate { attributes += " transform=\"rotate(\(n(rotate)) \(n(x)) \(n(y)))\"" }
        elements.append("<text \(attributes)>\(Self.escape(content))</text>")
    }

    var document: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\">\n"
            + elements.joined(separator: "\n") + "\n</svg>\n"
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    private func n(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// Colours for engines, fixed per name so every chart agrees.
enum EnginePalette {
    static let known: [String: String] = [
        "lsm": "#1f77b4", "rocksdb": "#ff7f0e", "btree": "#2ca02c", "lmdb": "#d62728", "null": "#7f7f7f",
        "leveldb": "#17becf", "sqlite": "#bcbd22",
        "wiredtiger": "#9467bd", "wiredtiger-lsm": "#8c564b",
    ]
    static let extra = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

    static func color(for engine: String, index: Int) -> String {
        known[engine] ?? extra[index % extra.count]
    }
}
