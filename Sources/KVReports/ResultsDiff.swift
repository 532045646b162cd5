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
        /// True when the change is worse than the threshold in the metric's bad direction.
        public var regressed: Bool
    }

    /// Median of each metric per (engine, workload) on each side, compared.
    public static func compare(base: [ResultsFile], new: [ResultsFile], thresholdPercent: Double) -> [Row] {
        let baseMetrics = collect(base), newMetrics = collect(new)
        var rows: [Row] = []
        for key in baseMetrics.keys.sorted() {
            guard let newValues = newMetrics[key], let baseValues = baseMetrics[key] else { continue }
            let baseMedian = median(baseValues.values), newMedian = median(newValues.values)
            let change = baseMedian == 0 ? (newMedian == 0 ? 0 : 100) : (newMedian - baseMedian) / baseMedian * 100
            let worse = baseValues.direction == .higherIsBetter ? -change : change
            rows.append(Row(engine: key.engine, workload: key.workload, metric: key.metric, direction: baseValues.direction,
                            base: baseMedian, new: newMedian, changePercent: change, regressed: worse > thresholdPercent))
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

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The comparison as a text table, regressions marked.
    public static func table(_ rows: [Row], thresholdPercent: Double) -> String {
        var lines: [[String]] = [["engine", "workload", "metric", "base", "new", "change", "verdict"]]
        for row in rows {
            let verdict: String
            if row.regressed {
                verdict = "REGRESSED"
            } else {
                let better = row.direction == .higherIsBetter ? row.changePercent > thresholdPercent : row.changePercent < -thresholdPercent
                verdict = better ? "improved" : "ok"
            }
            let sign = row.changePercent >= 0 ? "+" : ""
            lines.append([row.engine, row.workload, row.metric, TextTables.format(row.base, digits: 2),
                          TextTables.format(row.new, digits: 2), sign + TextTables.format(row.changePercent, digits: 1) + "%", verdict])
        }
        return TextTables.render(lines)
    }
}
