/// A YCSB property file read as Java's `Properties.load` reads it: one property per logical line
/// (a line ending in an odd number of backslashes continues on the next), `#` and `!` comment lines,
/// the key ended by the first unescaped `=`, `:` or whitespace, and the separator's surrounding
/// whitespace skipped (`recordcount=1000`, `recordcount: 1000` and `recordcount 1000` are the same).
/// A key given twice keeps the later value, as in Java.
public struct YCSBProperties: Sendable {
    /// One property and where it was set (a file line, or `-p`).
    public struct Entry: Sendable, Hashable {
        public var value: String
        /// e.g. `workloada line 7` or `-p recordcount=5`.
        public var origin: String
    }

    /// The properties, by name.
    public private(set) var entries: [String: Entry] = [:]
    /// Notes made while reading (a key set twice).
    public private(set) var warnings: [String] = []

    /// Reads `text`, naming lines after `name`.
    public init(text: String, name: String) {
        var lineNumber = 0
        var pending = ""
        var pendingLine = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let stripped = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
            if pending.isEmpty {
                if stripped.isEmpty || stripped.hasPrefix("#") || stripped.hasPrefix("!") { continue }
                pendingLine = lineNumber
            }
            var trailingBackslashes = 0
            for character in stripped.reversed() {
                if character == "\\" { trailingBackslashes += 1 } else { break }
            }
            if trailingBackslashes % 2 == 1 {
                pending += stripped.dropLast()
                continue
            }
            pending += stripped
            set(logicalLine: pending, origin: "\(name) line \(pendingLine)")
            pending = ""
        }
        if !pending.isEmpty { set(logicalLine: pending, origin: "\(name) line \(pendingLine)") }
    }

    /// Applies `-p name=value` overrides (later ones win, and all win over the file).
    public mutating func override(with assignments: [String]) throws(WorkloadError) {
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw WorkloadError("-p '\(assignment)' is not name=value; write it as -p recordcount=1000.")
            }
            let key = String(assignment[..<equals])
            entries[key] = Entry(value: String(assignment[assignment.index(after: equals)...]), origin: "-p \(assignment)")
        }
    }

    private mutating func set(logicalLine: String, origin: String) {
        let characters = Array(logicalLine)
        var index = 0
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
        /// The text from `index` up to the first unescaped character `stop` accepts, escapes resolved.
        func take(until stop: (Character) -> Bool) -> String {
            var text = ""
            while index < characters.count {
                let character = characters[index]
                if character == "\\", index + 1 < characters.count {
                    text.append(Self.unescape(characters[index + 1]))
                    index += 2
                    continue
                }
                if stop(character) { break }
                text.append(character)
                index += 1
            }
            return text
        }
        let key = take { $0 == "=" || $0 == ":" || blank($0) }
        while index < characters.count, blank(characters[index]) { index += 1 }
        if index < characters.count, characters[index] == "=" || characters[index] == ":" { index += 1 }
        while index < characters.count, blank(characters[index]) { index += 1 }
        let value = take { _ in false }
        if let earlier = entries[key] {
            warnings.append("\(origin): '\(key)' was already set (\(earlier.origin)); the later value wins, as in YCSB.")
        }
        entries[key] = Entry(value: value.trimmingWhitespace(), origin: origin)
    }

    private static func unescape(_ character: Character) -> Character {
        switch character {
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "f": return "\u{0C}"
        default: return character
        }
    }
}

extension WorkloadDefinition {
    /// Reads a YCSB workload property file as YCSB's `CoreWorkload` reads it, in YCSB mode (see
    /// `docs/ycsb.md` for every property): the five proportions as weights (normalised by their sum,
    /// those ≤ 0 left out), every request distribution YCSB knows (uniform, zipfian, latest, hotspot,
    /// sequential, exponential) as YCSB's generators, scan lengths uniform or zipfian in
    /// minscanlength...maxscanlength, records of fieldcount fields, YCSB's key names. `overrides`
    /// are `-p name=value` assignments, applied over the file.
    ///
    /// A property KVBench cannot honour is refused with the reason (an error naming its line); one
    /// without effect on a key-value store, a YCSB client option, or an unknown one is accepted with a
    /// warning saying so.
    public static func parseYCSB(_ text: String, name: String, overrides: [String] = []) throws(WorkloadError)
        -> (definition: WorkloadDefinition, warnings: [String])
    {
        var properties = YCSBProperties(text: text, name: name)
        try properties.override(with: overrides)
        var reader = PropertyReader(properties: properties)
        let definition = try reader.definition(name: name)
        return (definition, properties.warnings + reader.warnings)
    }
}

/// Reads CoreWorkload's properties one by one, with YCSB's defaults and Java's number parsing.
struct PropertyReader {
    let properties: YCSBProperties
    var warnings: [String] = []

    init(properties: YCSBProperties) {
        self.properties = properties
    }

    /// CoreWorkload's class names (old and new package).
    static let coreWorkloadClasses: Set<String> = ["site.ycsb.workloads.CoreWorkload", "com.yahoo.ycsb.workloads.CoreWorkload"]

    /// YCSB client options: read by YCSB's `Client`, not by CoreWorkload, and given to KVBench as flags.
    static let clientOptions: [String: String] = [
        "threadcount": "KVBench takes it from --threads", "target": "KVBench takes it from --target-rate",
        "maxexecutiontime": "KVBench takes it from --duration", "db": "KVBench takes it from --engine",
        "exporter": "--format ycsb prints YCSB's text form", "exportfile": "--json writes the results",
        "measurementtype": "KVBench always keeps HdrHistograms", "histogram.buckets": "KVBench always keeps HdrHistograms",
        "hdrhistogram.percentiles": "--format ycsb prints the 95th and 99th percentiles",
        "hdrhistogram.fileoutput": "--json writes the results", "hdrhistogram.output.path": "--json writes the results",
        "timeseries.granularity": "the JSON time series is per second",
        "measurement.interval": "KVBench times service time, and with --target-rate also from the intended start",
        "measurement.trackjvm": "there is no JVM", "status.interval": "the progress line shows the status",
        "dotransactions": "a run has both a load and a run phase", "operationcount.multiplier": "KVBench takes it from --operations",
        "table.prefix": "each engine holds one keyspace", "columnfamily": "each engine holds one keyspace",
        "reportlatencyforeacherror": "failed operations are timed with the rest, docs/ycsb.md",
        "latencytrackederrors": "failed operations are timed with the rest, docs/ycsb.md",
        "measurement.raw.output_file": "--json writes the results",
    ]

    /// Every property this reader looks at.
    static let known: Set<String> = [
        "workload", "table", "recordcount", "operationcount", "fieldcount", "fieldlength", "minfieldlength",
        "fieldlengthdistribution", "fieldlengthhistogram", "fieldnameprefix", "readallfields", "readallfieldsbyname",
        "writeallfields", "dataintegrity", "readproportion", "updateproportion", "insertproportion", "scanproportion",
        "readmodifywriteproportion", "requestdistribution", "minscanlength", "maxscanlength", "scanlengthdistribution",
        "insertstart", "insertcount", "zeropadding", "insertorder", "hotspotdatafraction", "hotspotopnfraction",
        "exponential.percentile", "exponential.frac", "core_workload_insertion_retry_limit",
        "core_workload_insertion_retry_interval",
    ]

    func raw(_ key: String) -> YCSBProperties.Entry? { properties.entries[key] }

    func invalid(_ key: String, _ entry: YCSBProperties.Entry, _ expectation: String) -> WorkloadError {
        WorkloadError("\(entry.origin): \(key) must be \(expectation), not '\(entry.value)'; fix the value.")
    }

    func integer(_ key: String, default fallback: Int, minimum: Int, maximum: Int = Int.max) throws(WorkloadError) -> Int {
        guard let entry = raw(key) else { return fallback }
        let text = entry.value.hasPrefix("+") ? String(entry.value.dropFirst()) : entry.value
        guard let number = Int(text), number >= minimum, number <= maximum else {
            let range = maximum == Int.max ? "an integer of at least \(minimum)" : "an integer from \(minimum) to \(maximum)"
            throw invalid(key, entry, range)
        }
        return number
    }

    func double(_ key: String, default fallback: Double) throws(WorkloadError) -> Double {
        guard let entry = raw(key) else { return fallback }
        guard let number = Double(entry.value), number.isFinite else { throw invalid(key, entry, "a number") }
        return number
    }

    /// Java's `Boolean.parseBoolean`: "true" in any case is true, anything else false (noted unless "false").
    mutating func boolean(_ key: String, default fallback: Bool) -> Bool {
        guard let entry = raw(key) else { return fallback }
        let lower = entry.value.lowercased()
        if lower == "true" { return true }
        if lower != "false" {
            warnings.append("\(entry.origin): \(key)=\(entry.value) is read as false, as YCSB's Boolean.parseBoolean reads anything but 'true'.")
        }
        return false
    }

    func choice(_ key: String, default fallback: String, among choices: [String]) throws(WorkloadError) -> String {
        guard let entry = raw(key) else { return fallback }
        guard choices.contains(entry.value) else {
            throw invalid(key, entry, "one of \(choices.joined(separator: ", ")) (as in YCSB)")
        }
        return entry.value
    }

    mutating func definition(name: String) throws(WorkloadError) -> WorkloadDefinition {
        if let entry = raw("workload"), !Self.coreWorkloadClasses.contains(entry.value) {
            throw WorkloadError("\(entry.origin): workload=\(entry.value) is not YCSB's CoreWorkload, the only workload class KVBench runs; use site.ycsb.workloads.CoreWorkload or drop the line.")
        }
        for key in properties.entries.keys.sorted() where !Self.known.contains(key) {
            let entry = properties.entries[key]!
            if let flag = Self.clientOptions[key] {
                warnings.append("\(entry.origin): '\(key)' is a YCSB client option, not a CoreWorkload property; it has no effect here (\(flag)).")
            } else {
                warnings.append("\(entry.origin): unknown property '\(key)' is ignored (CoreWorkload does not read it).")
            }
        }
        if let entry = raw("table") {
            warnings.append("\(entry.origin): table=\(entry.value) has no effect: each engine holds one keyspace (YCSB's RocksDB binding maps a table to a column family).")
        }

        // Records and operations.
        var recordCount: Int?
        if raw("recordcount") != nil {
            let count = try integer("recordcount", default: 0, minimum: 0)
            guard count > 0 else {
                throw WorkloadError("\(raw("recordcount")!.origin): recordcount=0 makes YCSB use 2^31 - 1 records; give the record count (or --records).")
            }
            recordCount = count
        }
        let operationCount = raw("operationcount") == nil ? nil : try integer("operationcount", default: 0, minimum: 0)
        if let entry = raw("insertstart"), try integer("insertstart", default: 0, minimum: 0) != 0 {
            throw WorkloadError("\(entry.origin): insertstart=\(entry.value) splits a load across several YCSB clients; KVBench runs one client over all records, so it cannot honour it; drop it (or set it to 0).")
        }
        if let entry = raw("insertcount") {
            let count = try integer("insertcount", default: 0, minimum: 0)
            if count != recordCount {
                throw WorkloadError("\(entry.origin): insertcount=\(entry.value) differs from recordcount; a partial load is for several YCSB clients and KVBench runs one over all records; drop it or make it equal to recordcount.")
            }
        }

        // Records: fields.
        let fieldCount = try integer("fieldcount", default: 10, minimum: 1, maximum: 1_000_000)
        let fieldLength = try integer("fieldlength", default: 100, minimum: 0, maximum: 64 << 20)
        let minFieldLength = try integer("minfieldlength", default: 1, minimum: 0, maximum: 64 << 20)
        let lengthDistribution = try choice("fieldlengthdistribution", default: "constant",
                                            among: ["constant", "uniform", "zipfian", "histogram"])
        if lengthDistribution == "histogram" {
            throw WorkloadError("\(raw("fieldlengthdistribution")!.origin): fieldlengthdistribution=histogram reads YCSB's histogram file format, which KVBench does not read; use constant, uniform or zipfian.")
        }
        if let entry = raw("fieldlengthhistogram") {
            warnings.append("\(entry.origin): fieldlengthhistogram has no effect without fieldlengthdistribution=histogram (as in YCSB).")
        }
        guard let distribution = YCSBRecordLayout.FieldLengthDistribution(rawValue: lengthDistribution) else {
            throw WorkloadError("fieldlengthdistribution '\(lengthDistribution)' is unknown.")
        }
        if distribution != .constant && minFieldLength > fieldLength {
            throw WorkloadError("\(raw("minfieldlength")?.origin ?? "minfieldlength"): minfieldlength \(minFieldLength) exceeds fieldlength \(fieldLength); YCSB's \(lengthDistribution) generator needs min ≤ max.")
        }
        if fieldCount * fieldLength > 256 << 20 {
            throw WorkloadError("fieldcount × fieldlength = \(fieldCount * fieldLength) bytes is above 256 MiB per record; give fewer or shorter fields.")
        }
        let prefix = raw("fieldnameprefix")?.value ?? "field"
        let readAllFields = boolean("readallfields", default: true)
        if let entry = raw("readallfieldsbyname"), boolean("readallfieldsbyname", default: false) {
            warnings.append("\(entry.origin): readallfieldsbyname has no effect on a key-value store: the whole record is read either way (as YCSB's RocksDB binding does).")
        }
        let writeAllFields = boolean("writeallfields", default: false)
        if let entry = raw("dataintegrity"), boolean("dataintegrity", default: false) {
            throw WorkloadError("\(entry.origin): dataintegrity=true makes YCSB write deterministic field data and VERIFY every read; KVBench writes its own deterministic data and does not verify run-phase reads; drop it or set it to false.")
        }
        if let entry = raw("core_workload_insertion_retry_limit"),
           try integer("core_workload_insertion_retry_limit", default: 0, minimum: 0) > 0 {
            throw WorkloadError("\(entry.origin): KVBench does not retry failed inserts (a failed operation is counted and the run exits 3); drop core_workload_insertion_retry_limit or set it to 0.")
        }
        _ = try integer("core_workload_insertion_retry_interval", default: 3, minimum: 0)

        // The mix.
        let proportionKeys: [(String, OperationKind, Double)] = [
            ("readproportion", .read, 0.95), ("updateproportion", .update, 0.05), ("insertproportion", .insert, 0),
            ("scanproportion", .scan, 0), ("readmodifywriteproportion", .readModifyWrite, 0),
        ]
        var mix: [OperationWeight] = []
        var insertProportion = 0.0
        for (key, kind, fallback) in proportionKeys {
            let weight = try double(key, default: fallback)
            if kind == .insert { insertProportion = weight }
            if weight > 0 { mix.append(OperationWeight(kind: kind, weight: weight)) }
        }
        guard !mix.isEmpty else {
            throw WorkloadError("\(properties.entries["readproportion"]?.origin ?? "the workload"): every operation proportion is 0 or less, so YCSB would stop before its first operation; give at least one a positive proportion.")
        }

        // Keys.
        let zeroPadding = try integer("zeropadding", default: 1, minimum: 0, maximum: 1000)
        let insertOrder = try choice("insertorder", default: "hashed", among: ["hashed", "ordered"])

        // Request distribution.
        let requestName = try choice("requestdistribution", default: "uniform",
                                     among: ["uniform", "zipfian", "latest", "hotspot", "sequential", "exponential"])
        var hotFraction = try double("hotspotdatafraction", default: 0.2)
        var hotOperationFraction = try double("hotspotopnfraction", default: 0.8)
        if !(0...1).contains(hotFraction) {
            warnings.append("\(raw("hotspotdatafraction")!.origin): hotspotdatafraction \(hotFraction) is outside 0...1, so YCSB uses 0.0; so does KVBench.")
            hotFraction = 0
        }
        if !(0...1).contains(hotOperationFraction) {
            warnings.append("\(raw("hotspotopnfraction")!.origin): hotspotopnfraction \(hotOperationFraction) is outside 0...1, so YCSB uses 0.0; so does KVBench.")
            hotOperationFraction = 0
        }
        let percentile = try double("exponential.percentile", default: YCSBExponentialDefaults.percentile)
        let fraction = try double("exponential.frac", default: YCSBExponentialDefaults.fraction)
        if requestName == "exponential" && (!(0..<100).contains(percentile) || percentile <= 0 || fraction <= 0) {
            throw WorkloadError("\(raw("exponential.percentile")?.origin ?? raw("exponential.frac")!.origin): exponential.percentile must be above 0 and below 100 and exponential.frac above 0 (YCSB's gamma is -ln(1 - percentile/100) / (recordcount × frac)); fix the value.")
        }
        let request: KeyDistribution
        switch requestName {
        case "zipfian": request = .ycsbZipfian
        case "latest": request = .ycsbLatest
        case "hotspot": request = .ycsbHotspot(hotFraction: hotFraction, hotOperationFraction: hotOperationFraction)
        case "sequential": request = .sequential
        case "exponential": request = .exponential(percentile: percentile, fraction: fraction)
        default: request = .uniform
        }

        // Scans.
        let minScanLength = try integer("minscanlength", default: 1, minimum: 1, maximum: 1_000_000)
        let maxScanLength = try integer("maxscanlength", default: 1000, minimum: 1, maximum: 1_000_000)
        if minScanLength > maxScanLength {
            throw WorkloadError("\(raw("minscanlength")?.origin ?? raw("maxscanlength")!.origin): minscanlength \(minScanLength) exceeds maxscanlength \(maxScanLength); YCSB's scan-length generator needs min ≤ max.")
        }
        if let entry = raw("scanlengthdistribution"), entry.value == "constant" {
            throw WorkloadError("\(entry.origin): scanlengthdistribution=constant is not one of YCSB's (uniform, zipfian); for a fixed length set minscanlength and maxscanlength to it.")
        }
        let scanDistribution = try choice("scanlengthdistribution", default: "uniform", among: ["uniform", "zipfian"])

        let layout = YCSBRecordLayout(
            fieldCount: fieldCount, fieldLength: fieldLength, minFieldLength: minFieldLength,
            fieldLengthDistribution: distribution, fieldNamePrefix: prefix,
            readAllFields: readAllFields, writeAllFields: writeAllFields)
        var definition = WorkloadDefinition(
            name: name, loadOrder: .sequential, hasRunPhase: true, proportions: mix,
            requestDistribution: request, maxScanLength: maxScanLength, scanLengthUniform: true,
            recordCount: recordCount, operationCount: operationCount, special: .none,
            fieldCount: fieldCount, fieldLength: fieldLength)
        definition.minScanLength = minScanLength
        definition.scanLengthZipfian = scanDistribution == "zipfian"
        definition.ycsb = YCSBSettings(layout: layout, keys: YCSBKeyBuilder(hashed: insertOrder == "hashed", zeroPadding: zeroPadding),
                                       insertProportion: insertProportion)
        return definition
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
