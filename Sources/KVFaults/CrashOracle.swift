/// The crash-test oracle (`docs/faults.md`): a model of every intended and
/// acknowledged write since the last recovery, checked against what a fresh
/// process reads back after the crash.
///
/// The state of each key at the start of a round (the baseline) is what the
/// previous verification read; the round's writes are kept in order. Values
/// encode (key, sequence number), so an observed value names the write it came
/// from. An absent key matches the baseline (when absent) or any delete.
/// With several writer threads (`threads`; thread = key mod threads), a hole is judged
/// within each thread's writes, the only ones whose order the worker fixes.
struct CrashOracle {
    /// One write to one key.
    struct Entry {
        var sequence: UInt64
        var isPut: Bool
        var acknowledged: Bool
    }

    /// One operation (a batch has several keys).
    struct Operation {
        var sequence: UInt64
        var writes: [(key: Int, isPut: Bool)]
        var acknowledged: Bool
    }

    /// Per-round findings.
    struct Findings {
        var acknowledgedChecked = 0
        var lost = 0
        var wrongValues = 0
        var holes = 0
        var tornBatches = 0
        var details: [String] = []

        mutating func note(_ text: String) { if details.count < 20 { details.append(text) } }
    }

    /// The value each key held after the last verification: a sequence number, or nil when absent.
    private(set) var baseline: [Int: UInt64] = [:]
    /// Keys whose state is unknown after a wrong value; no longer checked.
    private(set) var tainted: Set<Int> = []
    private(set) var operations: [Operation] = []
    private var bySequence: [UInt64: Int] = [:]
    /// The highest sequence number seen in any intent.
    private(set) var highestSequence: UInt64 = 0
    /// The worker's writer threads.
    let threads: Int

    init(threads: Int = 1) { self.threads = max(1, threads) }

    /// Forgets the store's contents (it was recreated empty); sequence numbers keep growing.
    mutating func reset() {
        baseline = [:]
        tainted = []
        operations.removeAll()
        bySequence.removeAll()
    }

    /// Reads a worker's output; returns the failure message of an `F` line or an open failure, if any.
    mutating func apply(workerLines lines: [Substring]) -> (failure: String?, openFailure: (kind: String, message: String)?) {
        var failure: String?
        var openFailure: (String, String)?
        for line in lines {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard let tag = fields.first else { continue }
            switch tag {
            case "I" where fields.count == 4:
                guard let sequence = UInt64(fields[1]) else { continue }
                var writes: [(Int, Bool)] = []
                switch fields[2] {
                case "P": if let key = Int(fields[3]) { writes = [(key, true)] }
                case "D": if let key = Int(fields[3]) { writes = [(key, false)] }
                case "B":
                    for part in fields[3].split(separator: ",") {
                        if let key = Int(part.dropFirst()) { writes.append((key, part.first == "P")) }
                    }
                default: continue
                }
                bySequence[sequence] = operations.count
                operations.append(Operation(sequence: sequence, writes: writes, acknowledged: false))
                highestSequence = max(highestSequence, sequence)
            case "A" where fields.count == 2:
                if let sequence = UInt64(fields[1]), let index = bySequence[sequence] { operations[index].acknowledged = true }
            case "F":
                failure = String(line)
            case "O" where fields.count >= 2:
                openFailure = (String(fields[1]), fields.dropFirst(2).joined(separator: " "))
            default:
                continue
            }
        }
        return (failure, openFailure)
    }

    /// Checks an observation (`present`: key → sequence read back; `wrongKeys`: keys whose value was
    /// wrong; `unreadableKeys`: keys whose read failed loudly, no longer checked) against the model,
    /// then makes it the new baseline. `promised`: the durability mode promises
    /// that acknowledged writes survive this kind of crash.
    mutating func check(present: [Int: UInt64], wrongKeys: Set<Int>, unreadableKeys: Set<Int> = [], promised: Bool) -> Findings {
        var findings = Findings()
        tainted.formUnion(unreadableKeys)
        var history: [Int: [Entry]] = [:]
        for operation in operations {
            for write in operation.writes {
                history[write.key, default: []].append(Entry(sequence: operation.sequence, isPut: write.isPut, acknowledged: operation.acknowledged))
            }
        }
        // Candidate positions (sequence numbers) of each key's observed state; 0 is the baseline.
        var candidates: [Int: [UInt64]] = [:]
        var keys = Set(history.keys).union(present.keys).union(baseline.keys)
        keys.subtract(tainted)
        // Per writer thread, the newest of its writes that a read shows.
        var newestVisible: [Int: UInt64] = [:]
        for key in keys {
            if wrongKeys.contains(key) { continue }
            let entries = history[key] ?? []
            if let sequence = present[key] {
                if entries.contains(where: { $0.isPut && $0.sequence == sequence }) {
                    candidates[key] = [sequence]
                    newestVisible[key % threads] = max(newestVisible[key % threads] ?? 0, sequence)
                } else if baseline[key] == sequence {
                    candidates[key] = [0]
                } else {
                    findings.wrongValues += 1
                    findings.note("key \(key): read sequence \(sequence), which this key never held since the last recovery (baseline \(baseline[key].map(String.init) ?? "absent"))")
                    tainted.insert(key)
                }
            } else {
                var positions = entries.filter { !$0.isPut }.map(\.sequence)
                if baseline[key] == nil { positions.append(0) }
                candidates[key] = positions
            }
        }
        for key in wrongKeys {
            findings.wrongValues += 1
            tainted.insert(key)
        }
        for (key, positions) in candidates {
            let entries = history[key] ?? []
            let acknowledged = entries.filter(\.acknowledged)
            findings.acknowledgedChecked += acknowledged.count
            guard let newest = positions.max() else {
                // Absent although the baseline held a value and no delete was intended: the baseline was lost.
                findings.lost += 1 + acknowledged.filter(\.isPut).count
                findings.note("key \(key): absent, but it held sequence \(baseline[key]!) at the last recovery and no delete was issued")
                continue
            }
            let missing = acknowledged.filter { $0.sequence > newest }
            if !missing.isEmpty {
                findings.lost += missing.count
                if promised {
                    findings.note("key \(key): acknowledged write \(missing.last!.sequence) lost; read \(present[key].map { "sequence \($0)" } ?? "absent")")
                }
                let visible = newestVisible[key % threads] ?? 0
                let holes = missing.filter { $0.sequence < visible }
                if !holes.isEmpty {
                    findings.holes += holes.count
                    findings.note("key \(key): acknowledged write \(holes[0].sequence) lost although later write \(visible) survived (a hole)")
                }
            }
        }
        // A batch is torn when one of its keys shows exactly the batch's own value while another
        // shows an older state. (A later write surviving on one key is no proof the batch applied:
        // that case is a hole, counted above.)
        for operation in operations where operation.writes.count > 1 {
            var applied = false
            var missing = false
            for write in operation.writes {
                guard let positions = candidates[write.key], let high = positions.max() else { continue }
                if write.isPut && present[write.key] == operation.sequence { applied = true }
                if high < operation.sequence { missing = true }
            }
            if applied && missing {
                findings.tornBatches += 1
                findings.note("batch \(operation.sequence) is partly applied")
            }
        }
        var next: [Int: UInt64] = [:]
        for (key, sequence) in present where !tainted.contains(key) { next[key] = sequence }
        baseline = next
        operations.removeAll(keepingCapacity: true)
        bySequence.removeAll(keepingCapacity: true)
        return findings
    }
}
