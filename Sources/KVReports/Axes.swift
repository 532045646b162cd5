import Foundation

/// Maps data values to pixels along one axis, linearly or logarithmically,
/// and proposes round tick values with labels.
struct Axis {
    enum Kind { case linear, logarithmic }

    let kind: Kind
    let lower: Double
    let upper: Double
    let pixelStart: Double
    let pixelEnd: Double

    /// An axis spanning the data, widened to round numbers.
    init(kind: Kind, dataMin: Double, dataMax: Double, pixelStart: Double, pixelEnd: Double) {
        self.kind = kind
        self.pixelStart = pixelStart
        self.pixelEnd = pixelEnd
        switch kind {
        case .linear:
            let top = dataMax > 0 ? dataMax : 1
            let step = Axis.niceStep(top / 5)
            lower = min(0, dataMin)
            upper = (top / step).rounded(.up) * step
        case .logarithmic:
            let bottom = max(dataMin, 1e-3)
            let top = max(dataMax, bottom * 10)
            lower = pow(10, floor(log10(bottom)))
            upper = pow(10, ceil(log10(top)))
        }
    }

    func pixel(_ value: Double) -> Double {
        let fraction: Double
        switch kind {
        case .linear:
            fraction = upper == lower ? 0 : (value - lower) / (upper - lower)
        case .logarithmic:
            let clamped = max(value, lower)
            fraction = (log10(clamped) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return pixelStart + fraction * (pixelEnd - pixelStart)
    }

    var ticks: [Double] {
        switch kind {
        case .linear:
            let step = Axis.niceStep((upper - lower) / 5)
            return stride(from: lower, through: upper + step / 2, by: step).map { $0 }
        case .logarithmic:
            var values: [Double] = []
            var value = lower
            while value <= upper * 1.0001 {
                values.append(value)
                value *= 10
            }
            return values
        }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let normalized = raw / magnitude
        let nice: Double = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// A short label: 1.5k, 20M, 0.01.
    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 { return trim(value / 1e9) + "G" }
        if magnitude >= 1e6 { return trim(value / 1e6) + "M" }
        if magnitude >= 1e3 { return trim(value / 1e3) + "k" }
        return trim(value)
    }

    private static func trim(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        if abs(value) >= 10 { return String(Int(value.rounded())) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
