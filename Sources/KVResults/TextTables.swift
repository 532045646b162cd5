/// Plain-text tables of results for the terminal: one engine per column,
/// one metric per row, so engines are read side by side.
public enum TextTables {
    /// The side-by-side table of one phase for several runs.
    public static func phaseTable(_ phaseName: String, runs: [RunResult]) -> String {
        let phases = runs.map { run in run.phases.first { $0.name == phaseName } }
        guard phases.contains(where: { $0 != nil }) else { return "" }
        var rows: [[String]] = [["\(phaseName) phase"] + runs.map(\.engine)]
        func row(_ label: String, _ value: (PhaseResult) -> String?) {
            rows.append([label] + phases.map { phase in phase.flatMap(value) ?? "n/a" })
        }
        row("operations") { String($0.operations) }
        row("elapsed (s)") { format($0.elapsedS, digits: 2) }
        row("throughput (ops/s)") { format($0.throughputOpsS, digits: 0) }
        row("failed operations") { String($0.errors) }
        let kinds = ["insert", "read", "update", "read_modify_write", "scan", "delete"]
        for kind in kinds where phases.contains(where: { $0?.ops[kind] != nil }) {
            let openLoop = phases.contains { $0?.ops[kind]?.serviceUs != nil }
            row("\(kind) count") { $0.ops[kind].map { String($0.count) } }
            for (label, path) in [("p50", \LatencySummary.p50), ("p90", \.p90), ("p99", \.p99), ("p99.9", \.p999), ("p99.99", \.p9999), ("max", \.max)] {
                row("\(kind) \(label) (us)") { $0.ops[kind].map { format($0.latencyUs[keyPath: path], digits: 1) } }
            }
            if openLoop {
                for (label, path) in [("p50", \LatencySummary.p50), ("p99", \.p99), ("p99.9", \.p999)] {
                    row("\(kind) service \(label) (us)") { $0.ops[kind]?.serviceUs.map { format($0[keyPath: path], digits: 1) } }
                }
            }
            if phases.contains(where: { ($0?.ops[kind]?.errors ?? 0) > 0 }) {
                row("\(kind) errors") { $0.ops[kind].map { String($0.errors) } }
            }
            if phases.contains(where: { ($0?.ops[kind]?.notFound ?? 0) > 0 }) {
                row("\(kind) not found") { $0.ops[kind].map { String($0.notFound) } }
            }
        }
        row("write amp (engine)") { phase in
            phase.writeAmpEngine.map { format($0, digits: 2) + (phase.engineWriteSource == "wchar" ? " (wchar)" : "") }
        }
        row("write amp (issued)") { $0.writeAmpIssued.map { format($0, digits: 2) } }
        row("write amp (OS)") { $0.writeAmpOS.map { format($0, digits: 2) } }
        row("write amp (device)") { $0.writeAmpDevice.map { format($0, digits: 2) } }
        row("read amp (probes/get)") { $0.readAmp.map { format($0, digits: 2) } }
        row("space amp") { $0.spaceAmp.map { format($0, digits: 2) } }
        row("disk (MiB)") { format(Double($0.diskBytes) / 1_048_576, digits: 1) }
        row("compactions") { $0.compaction.map { String($0.count) } }
        row("compaction written (MiB)") { $0.compaction.map { format(Double($0.bytesWritten) / 1_048_576, digits: 1) } }
        row("write stall (s)") { $0.compaction.map { format($0.stallS, digits: 2) } }
        row("peak RSS (MiB)") { $0.peakRSSBytes.map { format(Double($0) / 1_048_576, digits: 1) } }
        return render(rows) + writeViewsLegend + "\n"
    }

    /// What each write-amplification view counts, printed under every table that shows them.
    public static let writeViewsLegend = "write amp = bytes written / user bytes; engine: the engine's own counters "
        + "((wchar): it has none, the issued view stands in); issued: bytes passed to write calls (wchar); "
        + "OS: bytes charged for write-back (write_bytes); device: sectors written on the data disk x 512, "
        + "synced at phase start and end, machine-wide (every process, journal included)."

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
        return text
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
