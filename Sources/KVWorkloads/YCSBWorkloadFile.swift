extension WorkloadDefinition {
    /// Parses a YCSB workload property file: `key=value` (or `key: value`) lines, `#` and `!` comments.
    ///
    /// Known properties: recordcount operationcount readproportion updateproportion insertproportion
    /// scanproportion readmodifywriteproportion requestdistribution maxscanlength scanlengthdistribution
    /// fieldcount fieldlength hotspotdatafraction hotspotopnfraction insertorder (hashed → random load,
    /// ordered → sequential load). `workload`, `readallfields` and `writeallfields` are accepted and ignored
    /// with a note. Absent properties take YCSB's CoreWorkload defaults (read 0.95, update 0.05, uniform,
    /// maxscanlength 1000, uniform scan lengths). Zipfian and latest use theta 0.99.
    /// An unknown property yields a warning; an invalid value throws an error naming its line.
    public static func parseYCSB(_ text: String, name: String) throws(WorkloadError)
        -> (definition: WorkloadDefinition, warnings: [String])
    {
        var warnings: [String] = []
        var recordCount: Int?
        var operationCount: Int?
        var fieldCount: Int?
        var fieldLength: Int?
        var proportions: [OperationKind: Double] = [.read: 0.95, .update: 0.05]
        var distributionName = "uniform"
        var maxScanLength = 1000
        var scanLengthUniform = true
        var hotFraction = 0.2
        var hotOperationFraction = 0.8
        var loadOrder = LoadOrder.random
        var seen: [String: Int] = [:]

        let proportionKeys: [String: OperationKind] = [
            "readproportion": .read, "updateproportion": .update, "insertproportion": .insert,
            "scanproportion": .scan, "readmodifywriteproportion": .readModifyWrite,
        ]

        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw WorkloadError(
                    "\(name) line \(lineNumber): '\(line)' is not a key=value property; write it as key=value or comment it out with #.")
            }
            let key = line[..<separator].trimmingWhitespace()
            let value = line[line.index(after: separator)...].trimmingWhitespace()
            if let earlier = seen[key] {
                warnings.append("\(name) line \(lineNumber): '\(key)' was already set on line \(earlier); the later value wins.")
            }
            seen[key] = lineNumber

            func invalid(_ expectation: String) -> WorkloadError {
                WorkloadError("\(name) line \(lineNumber): \(key) must be \(expectation), not '\(value)'; fix the value.")
            }
            func count(positive: Bool) throws(WorkloadError) -> Int {
                guard let number = Int(value), positive ? number > 0 : number >= 0 else {
                    throw invalid(positive ? "a positive integer" : "a non-negative integer")
                }
                return number
            }
            func fraction() throws(WorkloadError) -> Double {
                guard let number = Double(value), number.isFinite, (0...1).contains(number) else {
                    throw invalid("a number between 0 and 1")
                }
                return number
            }

            if let kind = proportionKeys[key] {
                proportions[kind] = try fraction()
                continue
            }
            switch key {
            case "recordcount": recordCount = try count(positive: false)
            case "operationcount": operationCount = try count(positive: false)
            case "fieldcount": fieldCount = try count(positive: true)
            case "fieldlength": fieldLength = try count(positive: true)
            case "maxscanlength": maxScanLength = try count(positive: true)
            case "hotspotdatafraction": hotFraction = try fraction()
            case "hotspotopnfraction": hotOperationFraction = try fraction()
            case "requestdistribution":
                guard KeyDistribution.names.contains(value) else {
                    throw invalid("one of \(KeyDistribution.names.joined(separator: ", "))")
                }
                distributionName = value
            case "scanlengthdistribution":
                switch value {
                case "uniform": scanLengthUniform = true
                case "constant": scanLengthUniform = false
                default: throw invalid("uniform or constant")
                }
            case "insertorder":
                switch value {
                case "hashed": loadOrder = .random
                case "ordered": loadOrder = .sequential
                default: throw invalid("hashed or ordered")
                }
            case "workload", "readallfields", "writeallfields":
                warnings.append("\(name) line \(lineNumber): '\(key)' is accepted and ignored (KVBench reads and writes one whole value per record).")
            default:
                warnings.append("\(name) line \(lineNumber): unknown property '\(key)' is ignored.")
            }
        }

        if fieldCount != nil || fieldLength != nil {
            warnings.append("\(name): fieldcount and fieldlength are recorded, but KVBench writes one value of --value-size bytes per record.")
        }
        let order: [OperationKind] = [.read, .update, .insert, .scan, .readModifyWrite]
        let mix = order.compactMap { kind -> OperationWeight? in
            guard let weight = proportions[kind], weight > 0 else { return nil }
            return OperationWeight(kind: kind, weight: weight)
        }
        let total = mix.reduce(0) { $0 + $1.weight }
        guard total > 0 else {
            throw WorkloadError("\(name): every operation proportion is 0; give at least one a positive proportion.")
        }
        if abs(total - 1) > 1e-9 {
            warnings.append("\(name): the operation proportions sum to \(total), not 1; they are used relative to their sum.")
        }
        let distribution = KeyDistribution.parse(
            distributionName, theta: KeyDistribution.defaultTheta,
            hotFraction: hotFraction, hotOperationFraction: hotOperationFraction) ?? .uniform
        let definition = WorkloadDefinition(
            name: name, loadOrder: loadOrder, hasRunPhase: true, proportions: mix,
            requestDistribution: distribution, maxScanLength: maxScanLength, scanLengthUniform: scanLengthUniform,
            recordCount: recordCount, operationCount: operationCount, special: .none,
            fieldCount: fieldCount, fieldLength: fieldLength)
        return (definition, warnings)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and carriage returns.
    func trimmingWhitespace() -> String {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" || self[start] == "\r" {
            start = index(after: start)
        }
        while end > start {
            let previous = index(before: end)
            guard self[previous] == " " || self[previous] == "\t" || self[previous] == "\r" else { break }
            end = previous
        }
        return String(self[start..<end])
    }
}
