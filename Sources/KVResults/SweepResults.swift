/// What a sweep varies and over what: the contract a resumed sweep must match.
/// Two sweeps are the same sweep when every field is equal.
public struct SweepDefinition: Codable, Sendable, Equatable {
    /// `memory-budget`, `value-size`, `zipf-theta`, `records`, `threads`, `target-rate` or `setting:NAME`.
    public var parameter: String
    /// The values in sweep order, as the run options take them (`16MiB`, `256`, `0.99`, `4`).
    public var values: [String]
    /// How the values lie: `geometric` (charts use a log axis), `linear`, or `categorical` (not numbers).
    public var scale: String
    public var engines: [String]
    public var repetitions: Int
    /// Every other option that shapes a point (workload, records, seed, durability, settings, memory limit, …), in a fixed order.
    public var arguments: [String]
    /// `copy` (`--share-load`): each engine's database is loaded once per session, in a process of its own, and every
    /// point runs on a fresh copy of it without a load phase; nil: every point loads its own database.
    public var loadSharing: String?

    public init(parameter: String, values: [String], scale: String, engines: [String], repetitions: Int, arguments: [String],
                loadSharing: String? = nil) {
        self.parameter = parameter
        self.values = values
        self.scale = scale
        self.engines = engines
        self.repetitions = repetitions
        self.arguments = arguments
        self.loadSharing = loadSharing
    }

    enum CodingKeys: String, CodingKey {
        case parameter, values, scale, engines, repetitions, arguments
        case loadSharing = "load_sharing"
    }
}

/// The load of one engine that the points of a `--share-load` sweep copy: run once per session that needs it.
public struct SweepSharedLoad: Codable, Sendable {
    public var engine: String
    /// 1-based index into `SweepFile.sessions`.
    public var session: Int
    /// The loading process's result (its one phase is the load), or nil when it failed.
    public var run: RunResult?
    public var failure: FailedRun?

    public init(engine: String, session: Int, run: RunResult?, failure: FailedRun?) {
        self.engine = engine
        self.session = session
        self.run = run
        self.failure = failure
    }
}

/// One finished point of a sweep: an engine repetition at one value of the parameter.
public struct SweepPoint: Codable, Sendable {
    /// 0-based position of the value in `SweepDefinition.values`.
    public var valueIndex: Int
    public var value: String
    public var engine: String
    /// 1-based repetition.
    public var repetition: Int
    public var run: RunResult

    public init(valueIndex: Int, value: String, engine: String, repetition: Int, run: RunResult) {
        self.valueIndex = valueIndex
        self.value = value
        self.engine = engine
        self.repetition = repetition
        self.run = run
    }

    enum CodingKeys: String, CodingKey {
        case value, engine, repetition, run
        case valueIndex = "value_index"
    }
}

/// A point whose child process left no result.
public struct SweepFailedPoint: Codable, Sendable {
    public var valueIndex: Int
    public var value: String
    public var failure: FailedRun

    public init(valueIndex: Int, value: String, failure: FailedRun) {
        self.valueIndex = valueIndex
        self.value = value
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey {
        case value, failure
        case valueIndex = "value_index"
    }
}

/// `sweep.json`, the one results file of `kvbench sweep` (documented in docs/results.md):
/// the definition, the manifest of the first session, and every point finished so far.
/// It is rewritten after each point, so an interrupted sweep keeps what it finished.
public struct SweepFile: Codable, Sendable {
    public var definition: SweepDefinition
    public var manifest: Manifest
    /// Start times (ISO 8601, UTC) of the sessions that ran points, the first one first.
    public var sessions: [String]
    public var points: [SweepPoint]
    /// Points that failed in the latest session that tried them (run again when the sweep is resumed).
    public var failedPoints: [SweepFailedPoint]
    /// True while points remain to run (the sweep was interrupted, or points failed).
    public var partial: Bool
    /// With `load_sharing`: every load the points copied, in the order run; nil otherwise.
    public var sharedLoads: [SweepSharedLoad]?

    public init(definition: SweepDefinition, manifest: Manifest, sessions: [String], points: [SweepPoint] = [],
                failedPoints: [SweepFailedPoint] = [], partial: Bool = true) {
        self.definition = definition
        self.manifest = manifest
        self.sessions = sessions
        self.points = points
        self.failedPoints = failedPoints
        self.partial = partial
    }

    enum CodingKeys: String, CodingKey {
        case definition, manifest, sessions, points, partial
        case failedPoints = "failed_points"
        case sharedLoads = "shared_loads"
    }

    /// True when the point of `engine`, repetition `repetition` at value `valueIndex` has finished.
    public func isDone(valueIndex: Int, engine: String, repetition: Int) -> Bool {
        points.contains { $0.valueIndex == valueIndex && $0.engine == engine && $0.repetition == repetition }
    }

    /// Every point of `definition` in run order: rounds of repetitions, within a round the values
    /// in order, within a value the engines rotated by the round (as `compare` rotates them).
    public static func schedule(_ definition: SweepDefinition) -> [(valueIndex: Int, engine: String, repetition: Int)] {
        var order: [(valueIndex: Int, engine: String, repetition: Int)] = []
        let engines = definition.engines
        for round in 0..<definition.repetitions {
            for valueIndex in definition.values.indices {
                for offset in engines.indices {
                    order.append((valueIndex, engines[(round + offset) % engines.count], round + 1))
                }
            }
        }
        return order
    }

    /// Every point of this sweep in run order.
    public var schedule: [(valueIndex: Int, engine: String, repetition: Int)] { Self.schedule(definition) }

    /// The points of the schedule not yet finished, in run order.
    public var remaining: [(valueIndex: Int, engine: String, repetition: Int)] {
        schedule.filter { !isDone(valueIndex: $0.valueIndex, engine: $0.engine, repetition: $0.repetition) }
    }

    /// The finished repetitions of `engine` at value `valueIndex`.
    public func runs(engine: String, valueIndex: Int) -> [RunResult] {
        points.filter { $0.engine == engine && $0.valueIndex == valueIndex }.sorted { $0.repetition < $1.repetition }.map(\.run)
    }
}
