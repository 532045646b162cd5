import Foundation

/// The JSON written by `kvbench capacity --json FILE` (and `results.json` under `--out`): per engine the
/// highest open-loop rate that met the latency objective, and every probe measured on the way.
/// Field names are a contract (documented in docs/results.md).
public struct CapacityResults: Codable, Sendable {
    /// Always `capacity`: tells this file from a `run`/`compare` results file.
    public var kind: String
    public var manifest: Manifest
    public var slo: LatencyObjective
    public var search: CapacitySearchPlan
    /// The load parameters of the probes (from the first probe that finished; `target_rate` varies per probe).
    public var parameters: RunParameters?
    /// One answer per engine, in the order of `--engines`.
    public var engines: [CapacityAnswer]
    /// The harness's own answer: the same search against the `null` engine, which stores nothing, run in the
    /// same rounds as the engines. No engine can be measured above it; nil with `--no-harness-floor`.
    public var harnessFloor: CapacityAnswer?
    /// Every probe of every engine and repetition, in the order they ran.
    public var probes: [CapacityProbe]
    /// Probes whose child process failed (crashed, was killed, left no result).
    public var failedRuns: [FailedRun]
    /// True when the command was interrupted: the searches that were running stopped early.
    public var partial: Bool

    public static let kindName = "capacity"

    public init(manifest: Manifest, slo: LatencyObjective, search: CapacitySearchPlan, parameters: RunParameters?,
                engines: [CapacityAnswer], harnessFloor: CapacityAnswer? = nil, probes: [CapacityProbe], failedRuns: [FailedRun], partial: Bool) {
        kind = Self.kindName
        self.manifest = manifest
        self.slo = slo
        self.search = search
        self.parameters = parameters
        self.engines = engines.map { answer in
            var answer = answer
            answer.limitedByHarness = harnessFloor.map { Self.isLimitedByHarness(answer, floor: $0, resolution: search.resolution) }
            if answer.limitedByHarness == true, let floor = harnessFloor, answer.engine != floor.engine {
                answer.statement += floor.sustainedOpsS.map { "; at the harness floor (the \(floor.engine) engine sustains \(TextTables.grouped(Int($0.rounded()))) ops/s): the figure may be the harness's" }
                    ?? "; the harness itself (the \(floor.engine) engine) misses the objective at the first rate: the figure may be the harness's"
            }
            return answer
        }
        self.harnessFloor = harnessFloor
        self.probes = probes
        self.failedRuns = failedRuns
        self.partial = partial
    }

    enum CodingKeys: String, CodingKey {
        case kind, manifest, slo, search, parameters, engines, probes, partial
        case harnessFloor = "harness_floor"
        case failedRuns = "failed_runs"
    }

    /// True when `answer` may be the harness's figure rather than the engine's: its median sustained rate is at
    /// least the floor's lowest repetition less one search resolution, or the floor found no rate because the
    /// harness itself missed the objective at the first rate (then no answer can be told from the harness's).
    public static func isLimitedByHarness(_ answer: CapacityAnswer, floor: CapacityAnswer, resolution: Double) -> Bool {
        guard let floorLow = floor.minOpsS else { return floor.repetitions.contains { $0.outcome == .missedAtStart } }
        guard let sustained = answer.sustainedOpsS else { return false }
        return sustained >= floorLow / (1 + resolution)
    }

    /// Encodes missing parameters (no probe finished) as explicit `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(manifest, forKey: .manifest)
        try container.encode(slo, forKey: .slo)
        try container.encode(search, forKey: .search)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(engines, forKey: .engines)
        try container.encode(harnessFloor, forKey: .harnessFloor)
        try container.encode(probes, forKey: .probes)
        try container.encode(failedRuns, forKey: .failedRuns)
        try container.encode(partial, forKey: .partial)
    }

    /// True when `data` is a JSON object whose `kind` is `capacity`.
    public static func isCapacityFile(_ data: Data) -> Bool {
        struct Kind: Decodable { var kind: String? }
        return (try? JSONDecoder().decode(Kind.self, from: data))?.kind == kindName
    }
}

/// A latency objective: a percentile of latency from the intended start, and its bound (`--slo p99=1ms`).
public struct LatencyObjective: Codable, Sendable, Hashable {
    /// `p50`, `p90`, `p99` or `p99.9`.
    public var percentile: String
    public var boundUs: Double

    /// The percentiles an objective may name.
    public static let percentiles = ["p50", "p90", "p99", "p99.9"]

    public init(percentile: String, boundUs: Double) {
        self.percentile = percentile
        self.boundUs = boundUs
    }

    /// Reads `p99=1ms` (units ns, us or µs, ms, s); the reason in one sentence when it cannot.
    public static func parse(_ text: String) -> Result<LatencyObjective, ObjectiveError> {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let names = percentiles.joined(separator: ", ")
        guard parts.count == 2, percentiles.contains(parts[0]) else {
            return .failure(ObjectiveError("cannot read --slo '\(text)': write a percentile (\(names)), '=' and a latency bound with its unit, e.g. --slo p99=1ms"))
        }
        let units: [(String, Double)] = [("ns", 0.001), ("us", 1), ("µs", 1), ("ms", 1000), ("s", 1_000_000)]
        for (suffix, scale) in units where parts[1].hasSuffix(suffix) {
            guard let number = Double(parts[1].dropLast(suffix.count)), number.isFinite, number > 0, number * scale <= 3_600_000_000 else { break }
            return .success(LatencyObjective(percentile: parts[0], boundUs: number * scale))
        }
        return .failure(ObjectiveError("cannot read the bound in --slo '\(text)': write a positive latency of at most one hour with its unit (ns, us, ms or s), e.g. --slo \(parts[0])=1ms"))
    }

    /// The objective's percentile of `summary`.
    public func value(of summary: LatencySummary) -> Double {
        switch percentile {
        case "p50": return summary.p50
        case "p90": return summary.p90
        case "p99.9": return summary.p999
        default: return summary.p99
        }
    }

    /// `p99 ≤ 1 ms`.
    public var description: String { "\(percentile) ≤ \(Self.latencyText(boundUs))" }

    /// A latency in the unit that reads best: 850 µs, 1 ms, 2.5 s.
    public static func latencyText(_ us: Double) -> String {
        func trimmed(_ value: Double) -> String {
            let text = String(format: "%.3g", value)
            return text.contains("e") ? String(format: "%.0f", value) : text
        }
        if us >= 1_000_000 { return trimmed(us / 1_000_000) + " s" }
        if us >= 1000 { return trimmed(us / 1000) + " ms" }
        if us < 1 { return trimmed(us * 1000) + " ns" }
        return trimmed(us) + " µs"
    }

    enum CodingKeys: String, CodingKey {
        case percentile
        case boundUs = "bound_us"
    }
}

/// Why an `--slo` could not be read, in one sentence.
public struct ObjectiveError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// How the rates were chosen: an exponential ramp from `start_rate` by `growth` until a probe misses the
/// objective (or `max_rate` is reached), then bisection on the logarithm of the rate between the highest
/// rate that met it and the lowest that missed, until the two are within `resolution` of each other.
public struct CapacitySearchPlan: Codable, Sendable, Hashable {
    public var startRate: Double
    public var maxRate: Double
    public var growth: Double
    /// The search stops when lowest missing ÷ highest meeting ≤ 1 + resolution.
    public var resolution: Double
    /// The measured window of each probe's run phase, in seconds (or nil with `operations`).
    public var windowS: Double?
    /// Run-phase operations of each probe (or nil with `window_s`).
    public var operations: Int?
    /// The warm-up before each probe's window, at the probe's rate: `1s` or an operation count.
    public var warmup: String
    /// The rule a probe is judged by, in words.
    public var rule: String
    /// How each probe got its database, in words.
    public var database: String

    public init(startRate: Double, maxRate: Double, growth: Double, resolution: Double, windowS: Double?, operations: Int?,
                warmup: String, rule: String, database: String) {
        self.startRate = startRate
        self.maxRate = maxRate
        self.growth = growth
        self.resolution = resolution
        self.windowS = windowS
        self.operations = operations
        self.warmup = warmup
        self.rule = rule
        self.database = database
    }

    enum CodingKeys: String, CodingKey {
        case growth, resolution, operations, warmup, rule, database
        case startRate = "start_rate"
        case maxRate = "max_rate"
        case windowS = "window_s"
    }

    /// Encodes the window or the operation count that does not apply as explicit `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(startRate, forKey: .startRate)
        try container.encode(maxRate, forKey: .maxRate)
        try container.encode(growth, forKey: .growth)
        try container.encode(resolution, forKey: .resolution)
        try container.encode(windowS, forKey: .windowS)
        try container.encode(operations, forKey: .operations)
        try container.encode(warmup, forKey: .warmup)
        try container.encode(rule, forKey: .rule)
        try container.encode(database, forKey: .database)
    }
}

/// One probe: one engine at one offered rate, in a child process of its own.
public struct CapacityProbe: Codable, Sendable {
    public var engine: String
    public var repetition: Int
    /// 1-based position of the probe in its search.
    public var step: Int
    /// `ramp` or `bisect`.
    public var stage: String
    public var offeredOpsS: Double
    /// Successful operations per second of the run phase (failed operations are not throughput); nil when the probe failed.
    public var achievedOpsS: Double?
    public var operations: UInt64?
    public var errors: UInt64?
    public var elapsedS: Double?
    /// The objective's percentile of latency from the intended start, of the worst operation type.
    public var percentileUs: Double?
    /// The run phase's latency from the intended start per operation type.
    public var latencyUs: [String: LatencySummary]?
    public var meetsSLO: Bool
    /// Why the probe missed the objective, in words (nil when it met it).
    public var reason: String?

    public init(engine: String, repetition: Int, step: Int, stage: String, offeredOpsS: Double, achievedOpsS: Double?, operations: UInt64?,
                errors: UInt64?, elapsedS: Double?, percentileUs: Double?, latencyUs: [String: LatencySummary]?, meetsSLO: Bool, reason: String?) {
        self.engine = engine
        self.repetition = repetition
        self.step = step
        self.stage = stage
        self.offeredOpsS = offeredOpsS
        self.achievedOpsS = achievedOpsS
        self.operations = operations
        self.errors = errors
        self.elapsedS = elapsedS
        self.percentileUs = percentileUs
        self.latencyUs = latencyUs
        self.meetsSLO = meetsSLO
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case engine, repetition, step, stage, operations, errors, reason
        case offeredOpsS = "offered_ops_s"
        case achievedOpsS = "achieved_ops_s"
        case elapsedS = "elapsed_s"
        case percentileUs = "percentile_us"
        case latencyUs = "latency_us"
        case meetsSLO = "meets_slo"
    }

    /// Encodes unknown figures as explicit `null`, as every results file does.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(engine, forKey: .engine)
        try container.encode(repetition, forKey: .repetition)
        try container.encode(step, forKey: .step)
        try container.encode(stage, forKey: .stage)
        try container.encode(offeredOpsS, forKey: .offeredOpsS)
        try container.encode(achievedOpsS, forKey: .achievedOpsS)
        try container.encode(operations, forKey: .operations)
        try container.encode(errors, forKey: .errors)
        try container.encode(elapsedS, forKey: .elapsedS)
        try container.encode(percentileUs, forKey: .percentileUs)
        try container.encode(latencyUs, forKey: .latencyUs)
        try container.encode(meetsSLO, forKey: .meetsSLO)
        try container.encode(reason, forKey: .reason)
    }

    /// Judges a run phase against `objective`: every operation type's percentile within the bound, no failed
    /// operation, and successful operations at least `CapacitySearch.achievedFraction` of the offered rate.
    public static func judge(_ phase: PhaseResult, offered: Double, objective: LatencyObjective) -> (percentileUs: Double?, meets: Bool, reason: String?) {
        let worst = phase.ops.values.filter { $0.count > 0 }.map { objective.value(of: $0.latencyUs) }.max()
        if phase.errors > 0 { return (worst, false, "\(phase.errors) operations failed") }
        guard let worst else { return (nil, false, "no operation completed") }
        if worst > objective.boundUs {
            return (worst, false, "\(objective.percentile) \(LatencyObjective.latencyText(worst)) > \(LatencyObjective.latencyText(objective.boundUs))")
        }
        if phase.throughputOpsS < offered * CapacitySearch.achievedFraction {
            return (worst, false, "achieved \(Int(phase.throughputOpsS.rounded())) ops/s, below \(Int(CapacitySearch.achievedFraction * 100)) % of the offered rate")
        }
        return (worst, true, nil)
    }
}

/// One engine's answer over its repetitions.
public struct CapacityAnswer: Codable, Sendable {
    public var engine: String
    /// The median of the repetitions' sustained rates (those that found one), or nil when none did.
    public var sustainedOpsS: Double?
    /// The lowest and highest of the repetitions' sustained rates: the interval across repetitions.
    public var minOpsS: Double?
    public var maxOpsS: Double?
    public var repetitions: [CapacityRepetition]
    /// The answer in one sentence, as printed.
    public var statement: String
    /// True when the answer reaches the harness floor (`CapacityResults.isLimitedByHarness`); nil without a floor.
    public var limitedByHarness: Bool?

    public init(engine: String, repetitions: [CapacityRepetition], objective: LatencyObjective, plan: CapacitySearchPlan) {
        self.engine = engine
        self.repetitions = repetitions
        let found = repetitions.filter { $0.outcome == .sustained || $0.outcome == .ceiling }.compactMap(\.sustainedOpsS).sorted()
        sustainedOpsS = found.isEmpty ? nil : found.count % 2 == 1 ? found[found.count / 2] : (found[found.count / 2 - 1] + found[found.count / 2]) / 2
        minOpsS = found.first
        maxOpsS = found.last
        statement = Self.statement(engine: engine, repetitions: repetitions, found: found, median: sustainedOpsS, objective: objective, plan: plan)
    }

    static func statement(engine: String, repetitions: [CapacityRepetition], found: [Double], median: Double?,
                          objective: LatencyObjective, plan: CapacitySearchPlan) -> String {
        let rate = { (value: Double) in TextTables.grouped(Int(value.rounded())) + " ops/s" }
        let missed = repetitions.filter { $0.outcome == .missedAtStart }.count
        let ceiling = repetitions.filter { $0.outcome == .ceiling }.count
        guard let median, let low = found.first, let high = found.last else {
            if missed > 0 { return "\(engine) misses \(objective.description) even at \(rate(plan.startRate))" }
            return "\(engine): no answer (every search was interrupted or failed)"
        }
        var text = "\(engine) sustains \(ceiling == repetitions.count ? "at least " : "")\(rate(median)) at \(objective.description)"
        if ceiling == repetitions.count { text += ", the ramp's ceiling (--max-rate)" }
        if found.count > 1 {
            text += low == high ? " (in each of \(found.count) repetitions)"
                : " (median of \(found.count); \(TextTables.grouped(Int(low.rounded())))–\(rate(high)) across repetitions)"
        }
        if missed > 0 { text += "; \(missed) of \(repetitions.count) repetitions missed it even at \(rate(plan.startRate))" }
        if ceiling > 0 && ceiling < repetitions.count { text += "; \(ceiling) of \(repetitions.count) reached --max-rate \(rate(plan.maxRate))" }
        let stopped = repetitions.filter { $0.outcome == .interrupted || $0.outcome == .failed }.count
        if stopped > 0 { text += "; \(stopped) search(es) did not finish" }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case engine, repetitions, statement
        case limitedByHarness = "limited_by_harness"
        case sustainedOpsS = "sustained_ops_s"
        case minOpsS = "min_ops_s"
        case maxOpsS = "max_ops_s"
    }

    /// Encodes a missing answer as explicit `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(engine, forKey: .engine)
        try container.encode(sustainedOpsS, forKey: .sustainedOpsS)
        try container.encode(minOpsS, forKey: .minOpsS)
        try container.encode(maxOpsS, forKey: .maxOpsS)
        try container.encode(repetitions, forKey: .repetitions)
        try container.encode(statement, forKey: .statement)
        try container.encode(limitedByHarness, forKey: .limitedByHarness)
    }
}

/// One search (one engine, one repetition) and how it ended.
public struct CapacityRepetition: Codable, Sendable {
    /// How a search ended.
    public enum Outcome: String, Codable, Sendable {
        /// Bracketed to the resolution: `sustained_ops_s` met the objective, `lowest_missing_ops_s` did not.
        case sustained
        /// Even `start_rate` missed the objective: no rate is claimed.
        case missedAtStart = "missed-at-start"
        /// `max_rate` still met the objective: `sustained_ops_s` is a lower bound.
        case ceiling
        /// Interrupted before it bracketed the knee; `sustained_ops_s` is the highest rate that met the objective so far.
        case interrupted
        /// A probe's process failed before the knee was bracketed.
        case failed
    }

    public var repetition: Int
    public var outcome: Outcome
    public var sustainedOpsS: Double?
    public var lowestMissingOpsS: Double?
    public var probes: Int

    public init(repetition: Int, outcome: Outcome, sustainedOpsS: Double?, lowestMissingOpsS: Double?, probes: Int) {
        self.repetition = repetition
        self.outcome = outcome
        self.sustainedOpsS = sustainedOpsS
        self.lowestMissingOpsS = lowestMissingOpsS
        self.probes = probes
    }

    enum CodingKeys: String, CodingKey {
        case repetition, outcome, probes
        case sustainedOpsS = "sustained_ops_s"
        case lowestMissingOpsS = "lowest_missing_ops_s"
    }

    /// Encodes a rate not found as explicit `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(repetition, forKey: .repetition)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(sustainedOpsS, forKey: .sustainedOpsS)
        try container.encode(lowestMissingOpsS, forKey: .lowestMissingOpsS)
        try container.encode(probes, forKey: .probes)
    }
}

/// The search over offered rates of one engine and repetition (see `CapacitySearchPlan`): ask `next` for
/// the rate to probe, `record` whether it met the objective, until `next` is nil. Rates are whole
/// operations per second. Assumes that a rate which misses the objective is not met by any higher rate.
public struct CapacitySearch: Sendable {
    /// A probe meets the objective only if its successful operations reach this fraction of the offered rate.
    public static let achievedFraction = 0.95

    public let plan: CapacitySearchPlan
    public private(set) var highestMeeting: Double?
    public private(set) var lowestMissing: Double?
    /// The next rate to probe, or nil when the search is over.
    public private(set) var next: Double?
    /// `ramp` until the first miss, then `bisect`.
    public var stage: String { lowestMissing == nil ? "ramp" : "bisect" }

    public init(plan: CapacitySearchPlan) {
        self.plan = plan
        next = plan.startRate.rounded()
    }

    public mutating func record(rate: Double, met: Bool) {
        if met { highestMeeting = max(highestMeeting ?? rate, rate) } else { lowestMissing = min(lowestMissing ?? rate, rate) }
        guard let low = highestMeeting else { next = nil; return }
        guard let high = lowestMissing else {
            next = low >= plan.maxRate ? nil : min((low * plan.growth).rounded(), plan.maxRate)
            return
        }
        let middle = (low * high).squareRoot().rounded()
        next = high / low <= 1 + plan.resolution || middle <= low || middle >= high ? nil : middle
    }

    /// How the search ended (call when `next` is nil, or after an interruption or a failure).
    public func outcome(stopped: CapacityRepetition.Outcome = .interrupted) -> CapacityRepetition.Outcome {
        guard next == nil else { return stopped }
        if highestMeeting == nil { return .missedAtStart }
        return lowestMissing == nil ? .ceiling : .sustained
    }
}
