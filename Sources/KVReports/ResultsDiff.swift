import KVResults

/// Compares two sets of result files metric by metric, taking the median of
/// each side, and flags regressions beyond a threshold.
public enum ResultsDiff {
    /// Whether a larger value of a metric is better or worse.
    public enum Direction: String, Sendable { case higherIsBetter, lowerIsBetter }

    /// One compared metric.
    public struct Row: Sendable {
        public var engine: String
        public var workload: String
        public var metric: String
        public var direction: Direction
        public var base: Double
        public var new: Double
        /// Percent change from base to new (positive = larger).
        public var changePercent: Double
        /// Whether the 95 % intervals of the two medians are disjoint (`Spread.disjoint`); nil when either side has a single run.
        public var significant: Bool?
        /// True when the change is worse than the threshold in the metric's bad direction and,
        /// with repetitions on both sides, significant.
        public var regressed: Bool
        /// Runs on each side.
        public var baseRuns: Int
        public var newRuns: Int
    }

    /// Median of each metric per (engine, workload) on each side, compared.
    public static func compare(base: [ResultsFile], new: [ResultsFile], thresholdPercent: Double) -> [Row] {
        let baseMetrics = collect(base), newMetrics = collect(new)
        var rows: [Row] = []
        for key in baseMetrics.keys.sorted() {
            guard let newValues = newMetrics[key], let baseValues = baseMetrics[key] else { continue }
            guard let baseSpread = Spread(baseValues.values), let newSpread = Spread(newValues.values) else { continue }
            let baseMedian = baseSpread.median, newMedian = newSpread.median
            let change = baseMedian == 0 ? (newMedian == 0 ? 0 : 100) : (newMedian - baseMedian) / baseMedian * 100
            let worse = baseValues.direction == .higherIsBetter ? -change : change
            let significant = baseSpread.n > 1 && newSpread.n > 1 ? baseSpread.disjoint(from: newSpread) : nil
            rows.append(Row(engine: key.engine, workload: key.workload, metric: key.metric, direction: baseValues.direction,
                            base: baseMedian, new: newMedian, changePercent: change, significant: significant,
                            regressed: worse > thresholdPercent && significant != false, baseRuns: baseSpread.n, newRuns: newSpread.n))
        }
        return rows
    }

    struct Key: Hashable, Comparable {
        var engine: String
        var workload: String
        var metric: String
        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.engine, lhs.workload, lhs.metric) < (rhs.engine, rhs.workload, rhs.metric)
        }
    }

    static func collect(_ files: [ResultsFile]) -> [Key: (direction: Direction, values: [Double])] {
        var metrics: [Key: (direction: Direction, values: [Double])] = [:]
        func add(_ run: RunResult, _ metric: String, _ direction: Direction, _ value: Double?) {
            guard let value, value.isFinite else { return }
            let key = Key(engine: run.engine, workload: run.parameters.workload, metric: metric)
            metrics[key, default: (direction, [])].values.append(value)
        }
        for file in files {
            for run in file.runs {
                for phase in run.phases {
                    add(run, "\(phase.name) throughput (ops/s)", .higherIsBetter, phase.throughputOpsS)
                    for (operation, result) in phase.ops where result.count > 0 {
                        add(run, "\(phase.name) \(operation) p99 (us)", .lowerIsBetter, result.latencyUs.p99)
                    }
                    // Named by the view it comes from, so an engine view taken from wchar is never set against an OS view.
                    let view = phase.writeAmpEngine == nil ? "OS" : (phase.engineWriteSource == "wchar" ? "issued" : "engine")
                    add(run, "\(phase.name) write amp (\(view))", .lowerIsBetter, phase.writeAmpEngine ?? phase.writeAmpOS)
                    add(run, "\(phase.name) space amp", .lowerIsBetter, phase.spaceAmp)
                }
            }
        }
        return metrics
    }

    /// The run parameters `diff` requires to be equal on both sides, by the names it reports.
    static let comparedParameters: [(String, @Sendable (RunResult) -> String)] = [
        ("workload", { $0.parameters.workload }), ("records", { String($0.parameters.records) }),
        ("key_size", { String($0.parameters.keySize) }), ("value_size", { String($0.parameters.valueSize) }),
        ("distribution", { $0.parameters.distribution }), ("durability", { $0.parameters.durability }),
        ("memory_budget_bytes", { String($0.parameters.memoryBudgetBytes) }),
        ("memory_limit", { run in run.memoryLimit?.limitBytes.map(String.init) ?? "none" }),
        ("threads", { String($0.parameters.threads) }), ("loop", { $0.parameters.loop }),
        ("target_rate", { $0.parameters.targetRate.map { String($0) } ?? "none" }),
    ]

    /// The parameters whose values differ between the two sides, as "name: base values vs new values".
    public static func parameterDifferences(base: [ResultsFile], new: [ResultsFile]) -> [String] {
        let baseRuns = base.flatMap(\.runs), newRuns = new.flatMap(\.runs)
        return comparedParameters.compactMap { name, value in
            let baseValues = Set(baseRuns.map(value)), newValues = Set(newRuns.map(value))
            guard baseValues != newValues else { return nil }
            return "\(name): \(baseValues.sorted().joined(separator: ", ")) vs \(newValues.sorted().joined(separator: ", "))"
        }
    }

    /// The comparison as a text table, regressions marked.
    public static func table(_ rows: [Row], thresholdPercent: Double) -> String {
        var lines: [[String]] = [["engine", "workload", "metric", "base", "new", "change", "verdict"]]
        for row in rows {
            let verdict: String
            let worse = row.direction == .higherIsBetter ? -row.changePercent : row.changePercent
            if row.regressed {
                verdict = "REGRESSED"
            } else if worse > thresholdPercent {
                verdict = "within noise"
            } else {
                let better = row.direction == .higherIsBetter ? row.changePercent > thresholdPercent : row.changePercent < -thresholdPercent
                verdict = !better ? "ok" : row.significant == false ? "within noise" : "improved"
            }
            let sign = row.changePercent >= 0 ? "+" : ""
            lines.append([row.engine, row.workload, row.metric, TextTables.format(row.base, digits: 2),
                          TextTables.format(row.new, digits: 2), sign + TextTables.format(row.changePercent, digits: 1) + "%", verdict])
        }
        return TextTables.render(lines)
    }
}
