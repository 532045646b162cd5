import Foundation

/// A `--vary` argument of `kvbench sweep` that cannot be used, in one sentence.
public struct SweepVariationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The parameter a sweep varies.
public enum SweepParameter: Equatable, Sendable {
    case memoryBudget, valueSize, zipfTheta, records, threads, targetRate
    /// Any engine `--setting NAME=value`.
    case setting(String)

    /// The names `--vary` takes (`setting:NAME` besides).
    public static let names = ["memory-budget", "value-size", "zipf-theta", "records", "threads", "target-rate"]

    public var name: String {
        switch self {
        case .memoryBudget: return "memory-budget"
        case .valueSize: return "value-size"
        case .zipfTheta: return "zipf-theta"
        case .records: return "records"
        case .threads: return "threads"
        case .targetRate: return "target-rate"
        case .setting(let name): return "setting:" + name
        }
    }

    /// True when the parameter changes what the load phase writes (or how), so the points of a value cannot share
    /// another value's loaded database: value size, record count and engine settings. The memory budget, threads,
    /// target rate and zipf θ only change how the run phase reads and writes a database loaded the same way.
    public var changesTheLoad: Bool {
        switch self {
        case .memoryBudget, .threads, .targetRate, .zipfTheta: return false
        case .valueSize, .records, .setting: return true
        }
    }

    public init(parsing text: String) throws(SweepVariationError) {
        switch text {
        case "memory-budget": self = .memoryBudget
        case "value-size": self = .valueSize
        case "zipf-theta": self = .zipfTheta
        case "records": self = .records
        case "threads": self = .threads
        case "target-rate": self = .targetRate
        default:
            if text.hasPrefix("setting:") {
                let name = String(text.dropFirst("setting:".count))
                guard !name.isEmpty, !name.contains("="), !name.contains(",") else {
                    throw SweepVariationError("--vary \(text) names no setting; write setting:NAME=v1,v2 with an engine setting such as setting:lsm.level_size_ratio=4,10")
                }
                self = .setting(name)
                return
            }
            throw SweepVariationError("unknown --vary parameter '\(text)'; choose one of: \((Self.names + ["setting:NAME"]).joined(separator: ", "))")
        }
    }
}

/// `--vary PARAM=LIST|RANGE` expanded: the values of one parameter in sweep order.
///
/// A list is comma-separated (`16MiB,64MiB,256MiB`, `0.5,0.99`, `leveled,tiered`); a range is
/// `START..END` followed by `xF` (geometric: START, START·F, … up to END, F > 1) or `+S`
/// (arithmetic: START, START+S, … up to END, S > 0), for numeric parameters only.
public struct SweepVariation: Equatable, Sendable {
    public enum Scale: String, Sendable { case geometric, linear, categorical }

    public var parameter: SweepParameter
    /// The values as the run options take them.
    public var values: [String]
    /// The values as numbers (bytes for sizes), nil for a setting whose values are not all numbers.
    public var numbers: [Double]?
    public var scale: Scale

    /// At most this many values.
    public static let maximumValues = 1000

    /// Parses `PARAM=LIST|RANGE`; `bytes` reads a size such as `64MiB` (the CLI's reader).
    public static func parse(_ text: String, bytes: (String) -> Int?) throws(SweepVariationError) -> SweepVariation {
        guard let equals = text.firstIndex(of: "=") else {
            throw SweepVariationError("--vary '\(text)' must be PARAM=LIST or PARAM=START..END×F, e.g. memory-budget=16MiB,64MiB or value-size=16..4096x2")
        }
        let parameter = try SweepParameter(parsing: String(text[..<equals]))
        let body = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        guard !body.isEmpty else {
            throw SweepVariationError("--vary \(parameter.name)= gives no values; list them (\(example(parameter))) or give a range such as \(rangeExample(parameter))")
        }
        let kind = NumberKind(parameter)
        if body.contains("..") {
            guard let kind else {
                throw SweepVariationError("--vary \(parameter.name) takes a list, not a range: \(parameter.name) has no numeric type here")
            }
            return try range(body, parameter: parameter, kind: kind, bytes: bytes)
        }
        let items = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.contains(where: \.isEmpty) else {
            throw SweepVariationError("--vary \(parameter.name)=\(body) has an empty value; separate values with single commas, e.g. \(example(parameter))")
        }
        guard items.count <= maximumValues else {
            throw SweepVariationError("--vary \(parameter.name) gives \(items.count) values; give at most \(maximumValues)")
        }
        guard Set(items).count == items.count else {
            throw SweepVariationError("--vary \(parameter.name)=\(body) names a value twice; give each value once")
        }
        guard let kind else {
            let numbers = items.compactMap(Double.init)
            let numeric = numbers.count == items.count && numbers.allSatisfy(\.isFinite)
            return SweepVariation(parameter: parameter, values: items, numbers: numeric ? numbers : nil,
                                  scale: numeric ? detectScale(numbers) : .categorical)
        }
        var numbers: [Double] = []
        for item in items { numbers.append(try kind.read(item, parameter: parameter, bytes: bytes)) }
        return SweepVariation(parameter: parameter, values: numbers.map(kind.format), numbers: numbers, scale: detectScale(numbers))
    }

    /// Geometric when the values grow by one factor (≥ 1.5, within 10 %) over at least three values,
    /// or span at least a factor of 100; linear otherwise.
    static func detectScale(_ numbers: [Double]) -> Scale {
        guard numbers.count >= 2, numbers.allSatisfy({ $0 > 0 }) else { return .linear }
        let sorted = numbers.sorted()
        if sorted.last! / sorted.first! >= 100 { return .geometric }
        guard sorted.count >= 3 else { return .linear }
        let ratios = zip(sorted.dropFirst(), sorted).map { $0 / $1 }
        let first = ratios[0]
        return first >= 1.5 && ratios.allSatisfy({ abs($0 / first - 1) <= 0.1 }) ? .geometric : .linear
    }

    private static func range(_ body: String, parameter: SweepParameter, kind: NumberKind,
                              bytes: (String) -> Int?) throws(SweepVariationError) -> SweepVariation {
        let bad = SweepVariationError("cannot read the range '\(body)' of --vary \(parameter.name); write START..ENDxFACTOR (geometric) or START..END+STEP (arithmetic), e.g. \(rangeExample(parameter))")
        let parts = body.components(separatedBy: "..")
        guard parts.count == 2 else { throw bad }
        let start = try kind.read(parts[0], parameter: parameter, bytes: bytes)
        let tail = parts[1]
        let geometric: Bool
        let separator: String.Index
        if let x = tail.lastIndex(where: { $0 == "x" || $0 == "×" }) {
            geometric = true
            separator = x
        } else if let plus = tail.lastIndex(of: "+"), plus != tail.startIndex {
            geometric = false
            separator = plus
        } else {
            throw bad
        }
        let end = try kind.read(String(tail[..<separator]), parameter: parameter, bytes: bytes)
        guard let step = Double(tail[tail.index(after: separator)...]), step.isFinite else { throw bad }
        guard end >= start else {
            throw SweepVariationError("the range '\(body)' of --vary \(parameter.name) ends below its start; give START..END with END ≥ START")
        }
        var numbers: [Double] = []
        if geometric {
            guard step > 1 else {
                throw SweepVariationError("the factor \(step) of --vary \(parameter.name)=\(body) must be above 1, e.g. x2")
            }
            guard start > 0 else {
                throw SweepVariationError("a geometric range starts above 0; --vary \(parameter.name)=\(body) starts at \(kind.format(start))")
            }
            var index = 0.0
            while start * pow(step, index) <= end * (1 + 1e-9) {
                numbers.append(kind.rounded(start * pow(step, index)))
                index += 1
                if numbers.count > maximumValues { break }
            }
        } else {
            guard step > 0 else {
                throw SweepVariationError("the step \(step) of --vary \(parameter.name)=\(body) must be above 0, e.g. +1")
            }
            var index = 0.0
            while start + index * step <= end + step * 1e-9 {
                numbers.append(kind.rounded(start + index * step))
                index += 1
                if numbers.count > maximumValues { break }
            }
        }
        var unique: [Double] = []
        for number in numbers where unique.last != number { unique.append(number) }
        guard numbers.count <= maximumValues else {
            throw SweepVariationError("the range '\(body)' of --vary \(parameter.name) gives more than \(maximumValues) values; use a larger factor or step")
        }
        return SweepVariation(parameter: parameter, values: unique.map(kind.format), numbers: unique,
                              scale: geometric ? .geometric : .linear)
    }

    private static func example(_ parameter: SweepParameter) -> String {
        switch parameter {
        case .memoryBudget: return "16MiB,64MiB,256MiB"
        case .valueSize: return "16,256,4096"
        case .zipfTheta: return "0.5,0.8,0.99,1.2"
        case .records: return "100000,1000000"
        case .threads: return "1,2,4"
        case .targetRate: return "1000,10000"
        case .setting: return "4,10"
        }
    }

    private static func rangeExample(_ parameter: SweepParameter) -> String {
        switch parameter {
        case .memoryBudget: return "16MiB..256MiBx2"
        case .valueSize: return "16..4096x2"
        case .zipfTheta: return "0.5..1.2+0.1"
        case .records: return "100000..1000000x10"
        case .threads: return "1..8x2"
        case .targetRate: return "1000..64000x2"
        case .setting: return "2..16x2"
        }
    }
}

/// How the values of a numeric parameter are read, rounded and written back.
private enum NumberKind {
    /// `size` prints whole KiB, MiB and GiB with their unit (memory budget); `bytes` prints plain byte counts (value size).
    case size, bytes, integer, real

    init?(_ parameter: SweepParameter) {
        switch parameter {
        case .memoryBudget: self = .size
        case .valueSize: self = .bytes
        case .records, .threads: self = .integer
        case .zipfTheta, .targetRate: self = .real
        case .setting: return nil
        }
    }

    func read(_ text: String, parameter: SweepParameter, bytes: (String) -> Int?) throws(SweepVariationError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch self {
        case .size, .bytes:
            if trimmed == "0", parameter == .valueSize { return 0 }
            guard let value = bytes(trimmed) else {
                throw SweepVariationError("cannot read '\(trimmed)' as a size for --vary \(parameter.name); write a byte count such as 4096, 64KiB or 16MiB")
            }
            return Double(value)
        case .integer:
            guard let value = Double(trimmed), value.isFinite, value == value.rounded(), abs(value) < 0x1p62 else {
                throw SweepVariationError("cannot read '\(trimmed)' as a whole number for --vary \(parameter.name)")
            }
            return value
        case .real:
            guard let value = Double(trimmed), value.isFinite else {
                throw SweepVariationError("cannot read '\(trimmed)' as a number for --vary \(parameter.name)")
            }
            return value
        }
    }

    func rounded(_ value: Double) -> Double {
        switch self {
        case .size, .bytes, .integer: return value.rounded()
        case .real: return (value * 1e9).rounded() / 1e9
        }
    }

    /// `16MiB` for whole MiB (GiB, KiB), else plain bytes; integers without a fraction; reals shortest.
    func format(_ value: Double) -> String {
        switch self {
        case .size:
            let integer = Int(value)
            for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where integer >= scale && integer % scale == 0 {
                return "\(integer / scale)\(unit)"
            }
            return String(integer)
        case .bytes, .integer:
            return String(Int(value))
        case .real:
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        }
    }
}
