/// Plain-text tables of results for the terminal: one engine per column,
/// one metric per row, so engines are read side by side.
public enum TextTables {
    /// The side-by-side table of one phase for several runs, one column per run.
    public static func phaseTable(_ phaseName: String, runs: [RunResult]) -> String {
        phaseTable(phaseName, columns: runs.map { (label: $0.engine, runs: [$0]) })
    }

    /// The side-by-side table of one phase, one column per engine; a column with several
    /// repetitions shows each figure as `median ±half-width` of its 95 % interval, or
    /// `median [min–max]` when there are too few repetitions for a 95 % interval (see `Spread`).
    public static func phaseTable(_ phaseName: String, columns: [(label: String, runs: [RunResult])]) -> String {
        let rows = phaseRows(phaseName, columns: columns)
        return rows.isEmpty ? "" : render(rows) + writeViewsLegend + "\n"
    }

    /// The cells of `phaseTable`, the header row first; empty when no run has the phase.
    public static func phaseRows(_ phaseName: String, columns: [(label: String, runs: [RunResult])]) -> [[String]] {
        let phases = columns.map { column in column.runs.compactMap { run in run.phases.first { $0.name == phaseName } } }
        guard phases.contains(where: { !$0.isEmpty }) else { return [] }
        var rows: [[String]] = [["\(phaseName) phase"] + columns.map(\.label)]
        func row(_ label: String, digits: Int, _ value: (PhaseResult) -> Double?) {
            rows.append([label] + phases.map { group in spreadCell(group.compactMap(value), digits: digits) })
        }
        if columns.contains(where: { $0.runs.count > 1 }) {
            rows.append(["repetitions"] + phases.map { String($0.count) })
        }
        row("operations", digits: 0) { Double($0.operations) }
        row("elapsed (s)", digits: 2) { $0.elapsedS }
        row("throughput (ops/s)", digits: 0) { $0.throughputOpsS }
        row("failed operations", digits: 0) { Double($0.errors) }
        let kinds = ["insert", "read", "update", "read_modify_write", "scan", "delete"]
        let all = phases.flatMap { $0 }
        for kind in kinds where all.contains(where: { $0.ops[kind] != nil }) {
            let openLoop = all.contains { $0.ops[kind]?.serviceUs != nil }
            row("\(kind) count", digits: 0) { $0.ops[kind].map { Double($0.count) } }
            for (label, path) in [("p50", \LatencySummary.p50), ("p90", \.p90), ("p99", \.p99), ("p99.9", \.p999), ("p99.99", \.p9999), ("max", \.max)] {
                row("\(kind) \(label) (us)", digits: 1) { $0.ops[kind]?.latencyUs[keyPath: path] }
            }
            if openLoop {
                for (label, path) in [("p50", \LatencySummary.p50), ("p99", \.p99), ("p99.9", \.p999)] {
                    row("\(kind) service \(label) (us)", digits: 1) { $0.ops[kind]?.serviceUs?[keyPath: path] }
                }
            }
            if all.contains(where: { ($0.ops[kind]?.errors ?? 0) > 0 }) {
                row("\(kind) errors", digits: 0) { $0.ops[kind].map { Double($0.errors) } }
            }
            if all.contains(where: { ($0.ops[kind]?.notFound ?? 0) > 0 }) {
                row("\(kind) not found", digits: 0) { $0.ops[kind].map { Double($0.notFound) } }
            }
        }
        rows.append(["write amp (engine)"] + phases.map { group in
            let cell = spreadCell(group.compactMap(\.writeAmpEngine), digits: 2)
            return cell != "n/a" && group.contains { $0.engineWriteSource == "wchar" } ? cell + " (wchar)" : cell
        })
        row("write amp (issued)", digits: 2) { $0.writeAmpIssued }
        row("write amp (OS)", digits: 2) { $0.writeAmpOS }
        row("write amp (device)", digits: 2) { $0.writeAmpDevice }
        row("read amp (probes/get)", digits: 2) { $0.readAmp }
        row("space amp", digits: 2) { $0.spaceAmp }
        row("disk (MiB)", digits: 1) { Double($0.diskBytes) / 1_048_576 }
        row("compactions", digits: 0) { $0.compaction.map { Double($0.count) } }
        row("compaction written (MiB)", digits: 1) { $0.compaction.map { Double($0.bytesWritten) / 1_048_576 } }
        row("write stall (s)", digits: 2) { $0.compaction.map(\.stallS) }
        row("peak RSS (MiB)", digits: 1) { $0.peakRSSBytes.map { Double($0) / 1_048_576 } }
        if all.contains(where: { $0.pageCache != nil }) {
            rows.append(["page cache at start"] + phases.map { group in Set(group.compactMap(\.pageCache)).sorted().joined(separator: "/") })
        }
        let limited = columns.map { $0.runs.compactMap(\.memoryLimit) }
        let lastPhase = columns.flatMap(\.runs).allSatisfy { $0.phases.last?.name == phaseName || !$0.phases.contains { $0.name == phaseName } }
        if lastPhase, limited.contains(where: { !$0.isEmpty }) {
            rows.append(["memory limit (MiB)"] + limited.map { limits in
                limits.isEmpty ? "n/a" : limits.contains { !$0.enforced } ? "not enforced" : spreadCell(limits.compactMap { $0.limitBytes.map { Double($0) / 1_048_576 } }, digits: 1)
            })
            rows.append(["cgroup peak (MiB)"] + limited.map { limits in spreadCell(limits.compactMap { $0.peakBytes.map { Double($0) / 1_048_576 } }, digits: 1) })
            rows.append(["  anon at peak (MiB)"] + limited.map { limits in spreadCell(limits.compactMap { $0.anonymousBytesAtPeak.map { Double($0) / 1_048_576 } }, digits: 1) })
            rows.append(["  file at peak (MiB)"] + limited.map { limits in spreadCell(limits.compactMap { $0.fileBytesAtPeak.map { Double($0) / 1_048_576 } }, digits: 1) })
        }
        return rows
    }

    /// What each write-amplification view counts, printed under every table that shows them.
    public static let writeViewsLegend = "write amp = bytes written / user bytes; engine: the engine's own counters "
        + "((wchar): it has none, the issued view stands in); issued: bytes passed to write calls (wchar); "
        + "OS: bytes charged for write-back (write_bytes); device: sectors written on the data disk x 512, "
        + "synced at phase start and end, machine-wide (every process, journal included)."

    /// One cell: the value, or over repetitions `median ±half-width` (95 % interval) or `median [min–max]`; "n/a" when none.
    public static func spreadCell(_ values: [Double], digits: Int) -> String {
        guard let spread = Spread(values) else { return "n/a" }
        if spread.n == 1 || spread.min == spread.max { return format(spread.median, digits: digits) }
        if spread.ciCoverage >= 0.95 {
            let halfWidth = Swift.max(spread.ciHigh - spread.median, spread.median - spread.ciLow)
            return format(spread.median, digits: digits) + " ±" + format(halfWidth, digits: digits)
        }
        return format(spread.median, digits: digits) + " [" + format(spread.min, digits: digits) + "–" + format(spread.max, digits: digits) + "]"
    }

    /// The fairness line printed above every table: what every engine ran under.
    public static func conditions(_ runs: [RunResult]) -> String {
        guard let parameters = runs.first?.parameters else { return "" }
        var text = runs.contains(where: \.partial) ? "PARTIAL (interrupted): " : ""
        text += "workload \(parameters.workload), \(parameters.records) records, "
        if let operations = parameters.operations { text += "\(operations) operations, " }
        if let duration = parameters.durationSeconds { text += "\(format(duration, digits: 0)) s, " }
        text += "\(parameters.threads) thread(s), \(parameters.loop) loop"
        if let rate = parameters.targetRate { text += " at \(format(rate, digits: 0)) ops/s" }
        text += ", key \(parameters.keySize) B, value \(parameters.valueSize) B, distribution \(parameters.distribution)"
        text += ", durability \(parameters.durability), memory budget \(parameters.memoryBudgetBytes / 1_048_576) MiB, seed \(parameters.seed)"
        text += keysAndRecords(parameters)
        return text
    }

    /// How keys were named and drawn, and (YCSB mode) what a record is, e.g. `; keys ycsb-hashed
    /// ("user" + FNV-64(id)) drawn by ScrambledZipfianGenerator (YCSB); records of 10 fields × 100 B = 1,000 B …`.
    static func keysAndRecords(_ parameters: RunParameters) -> String {
        var parts: [String] = []
        if let scheme = parameters.keyScheme {
            let meaning = scheme == "ycsb-hashed" ? " (\"user\" + FNV-64(id))" : scheme == "ycsb-ordered" ? " (\"user\" + id)" : " (id big-endian, padded)"
            parts.append("keys \(scheme)\(meaning)" + (parameters.keyGenerator.map { " drawn by \($0)" } ?? ""))
        }
        if let record = parameters.record {
            let lengths = record.fieldLengthDistribution == "constant"
                ? "\(record.fieldLength) B" : "\(record.minFieldLength)–\(record.fieldLength) B \(record.fieldLengthDistribution)"
            parts.append("records of \(record.fieldCount) fields × \(lengths) = \(grouped(Int(record.recordBytes.rounded()))) B stored as \(grouped(Int(record.valueBytes.rounded())))-byte values"
                         + (record.readAllFields ? "" : ", reads of one field") + (record.writeAllFields ? ", updates of all fields" : ", updates of one field (read, then write of the record)"))
        }
        if let maxScan = parameters.maxScanLength, let distribution = parameters.scanLengthDistribution {
            parts.append("scan lengths \(parameters.minScanLength ?? maxScan)–\(maxScan) \(distribution)")
        }
        if let accounting = parameters.accounting { parts.append("accounting \(accounting)") }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: "; ")
    }

    /// 1140 → "1,140".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// Renders rows as aligned columns; the first row is the header.
    public static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        var lines: [String] = []
        for (rowIndex, row) in rows.enumerated() {
            var line = ""
            for (index, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                line += index == 0 ? cell + padding : "  " + padding + cell
            }
            lines.append(line)
            if rowIndex == 0 { lines.append(String(repeating: "-", count: line.count)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A number with a fixed count of decimals.
    public static func format(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if digits == 0 { return String(Int64(rounded)) }
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        }
        return text
    }
}
