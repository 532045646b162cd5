/// One operation of a phase as YCSB reports it (`[READ], Operations, …`): integer microseconds
/// for min, max and percentiles, as YCSB's HdrHistogram holds them, and the count of each status.
public struct YCSBOperationResult: Codable, Sendable, Hashable {
    public var operations: UInt64
    public var averageUs: Double
    public var minUs: UInt64
    public var maxUs: UInt64
    public var p95Us: UInt64
    public var p99Us: UInt64
    /// Status name (`OK`, `NOT_FOUND`, `ERROR`) → operations; only statuses that occurred.
    public var returns: [String: UInt64]

    public init(operations: UInt64, averageUs: Double, minUs: UInt64, maxUs: UInt64, p95Us: UInt64, p99Us: UInt64,
                returns: [String: UInt64]) {
        self.operations = operations
        self.averageUs = averageUs
        self.minUs = minUs
        self.maxUs = maxUs
        self.p95Us = p95Us
        self.p99Us = p99Us
        self.returns = returns
    }

    enum CodingKeys: String, CodingKey {
        case operations, returns
        case averageUs = "average_us"
        case minUs = "min_us"
        case maxUs = "max_us"
        case p95Us = "p95_us"
        case p99Us = "p99_us"
    }

    /// YCSB's operation names in the order `--format ycsb` prints them.
    public static let order = ["READ", "UPDATE", "INSERT", "SCAN", "READ-MODIFY-WRITE", "DELETE"]
    /// Status names in the order they are printed.
    public static let statusOrder = ["OK", "NOT_FOUND", "ERROR"]
}

/// A YCSB-mode record layout as results state it.
public struct RecordParameters: Codable, Sendable, Hashable {
    public var fieldCount: Int
    public var fieldLength: Int
    public var minFieldLength: Int
    public var fieldLengthDistribution: String
    public var fieldNamePrefix: String
    public var readAllFields: Bool
    public var writeAllFields: Bool
    /// Field data per record (`fieldcount × fieldlength` when constant, the expected total otherwise).
    public var recordBytes: Double
    /// The stored value's (expected) length: field data plus names and lengths.
    public var valueBytes: Double
    /// How a record is laid out in its one value.
    public var encoding: String

    public init(fieldCount: Int, fieldLength: Int, minFieldLength: Int, fieldLengthDistribution: String, fieldNamePrefix: String,
                readAllFields: Bool, writeAllFields: Bool, recordBytes: Double, valueBytes: Double, encoding: String) {
        self.fieldCount = fieldCount
        self.fieldLength = fieldLength
        self.minFieldLength = minFieldLength
        self.fieldLengthDistribution = fieldLengthDistribution
        self.fieldNamePrefix = fieldNamePrefix
        self.readAllFields = readAllFields
        self.writeAllFields = writeAllFields
        self.recordBytes = recordBytes
        self.valueBytes = valueBytes
        self.encoding = encoding
    }

    enum CodingKeys: String, CodingKey {
        case encoding
        case fieldCount = "field_count"
        case fieldLength = "field_length"
        case minFieldLength = "min_field_length"
        case fieldLengthDistribution = "field_length_distribution"
        case fieldNamePrefix = "field_name_prefix"
        case readAllFields = "read_all_fields"
        case writeAllFields = "write_all_fields"
        case recordBytes = "record_bytes"
        case valueBytes = "value_bytes"
    }
}

/// `--format ycsb`: a phase in the text YCSB's `TextMeasurementsExporter` writes
/// (`[SECTION], Metric, value` lines), so scripts that parse YCSB's output read it unchanged.
public enum YCSBText {
    /// The `[OVERALL]` lines and one block per operation of `phase`. RunTime(ms) is whole milliseconds
    /// and the throughput is computed from it, as YCSB's client does.
    public static func render(_ phase: PhaseResult) -> String {
        let runtime = UInt64((phase.elapsedS * 1000).rounded(.down))
        var lines = ["[OVERALL], RunTime(ms), \(runtime)",
                     "[OVERALL], Throughput(ops/sec), \(javaDouble(1000 * Double(phase.operations) / Double(runtime)))"]
        let operations = phase.ycsbOperations ?? derived(phase)
        for name in YCSBOperationResult.order {
            guard let result = operations[name] else { continue }
            lines.append("[\(name)], Operations, \(result.operations)")
            lines.append("[\(name)], AverageLatency(us), \(javaDouble(result.averageUs))")
            lines.append("[\(name)], MinLatency(us), \(result.minUs)")
            lines.append("[\(name)], MaxLatency(us), \(result.maxUs)")
            lines.append("[\(name)], 95thPercentileLatency(us), \(result.p95Us)")
            lines.append("[\(name)], 99thPercentileLatency(us), \(result.p99Us)")
            for status in YCSBOperationResult.statusOrder {
                if let count = result.returns[status], count > 0 { lines.append("[\(name)], Return=\(status), \(count)") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Outside YCSB mode (no `ycsb_operations`): the same figures from KVBench's own `ops` (read-modify-write
    /// not split into its read and update; min and p95 from the percentile curve).
    static func derived(_ phase: PhaseResult) -> [String: YCSBOperationResult] {
        let names = ["read": "READ", "update": "UPDATE", "insert": "INSERT", "scan": "SCAN",
                     "read_modify_write": "READ-MODIFY-WRITE", "delete": "DELETE"]
        var results: [String: YCSBOperationResult] = [:]
        for (kind, result) in phase.ops {
            guard let name = names[kind] else { continue }
            func at(_ percentile: Double) -> UInt64 {
                UInt64(result.percentileCurve.first { $0.percentile == percentile }?.us ?? 0)
            }
            var returns: [String: UInt64] = [:]
            let ok = result.count >= result.notFound + result.errors ? result.count - result.notFound - result.errors : 0
            if ok > 0 { returns["OK"] = ok }
            if result.notFound > 0 { returns["NOT_FOUND"] = result.notFound }
            if result.errors > 0 { returns["ERROR"] = result.errors }
            results[name] = YCSBOperationResult(operations: result.count, averageUs: result.latencyUs.mean, minUs: at(0),
                                                maxUs: UInt64(result.latencyUs.max), p95Us: at(95), p99Us: UInt64(result.latencyUs.p99),
                                                returns: returns)
        }
        return results
    }

    /// A double as Java's `Double.toString` writes it: plain decimal with at least one fraction digit
    /// from 10^-3 up to 10^7, `d.dddE±n` outside, `Infinity`, `NaN`.
    public static func javaDouble(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let sign = value < 0 ? "-" : ""
        // Shortest round-trip digits and the decimal exponent: value = 0.d1d2… × 10^exponent.
        var text = "\(abs(value))"
        var exponentPart = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponentPart = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let point = text.firstIndex(of: ".") ?? text.endIndex
        let integerDigits = String(text[..<point])
        let fractionDigits = point == text.endIndex ? "" : String(text[text.index(after: point)...])
        var digits = integerDigits + fractionDigits
        var exponent = integerDigits.count + exponentPart
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e7 {
            if exponent <= 0 {
                return sign + "0." + String(repeating: "0", count: -exponent) + digits
            }
            if digits.count <= exponent {
                return sign + digits + String(repeating: "0", count: exponent - digits.count) + ".0"
            }
            let split = digits.index(digits.startIndex, offsetBy: exponent)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let first = digits.prefix(1)
        let rest = digits.dropFirst()
        return sign + first + "." + (rest.isEmpty ? "0" : rest) + "E" + String(exponent - 1)
    }
}
