import BTreeEngine
import KVResults
import KVFaults
import KVStore
import KVWorkbench
import LMDBEngine
import LSMEngine
import RocksDBEngine
import LevelDBEngine
import SQLiteEngine
import WiredTigerEngine

/// How `crash-test --mode power` simulates a power loss for an engine.
enum PowerLossSimulation: Sendable {
    /// The engine's I/O goes through StorageIO's fault layer (hand-written engines).
    case faultLayer
    /// The engine's system calls are recorded below it (`CFaultPreload`) and replayed up to a cut.
    case syscallTrace
}

/// One engine `kvbench` drives: what the commands need to know about it, and its
/// operations as closures made for its concrete type by the generic initializer, so
/// each is specialized for that engine (the measured loops have no existential).
/// Adding an engine is one entry in `EngineTable.engines`.
struct EngineEntry: Sendable {
    /// The name on the command line and in results.
    let name: String
    /// One line for `kvbench list`.
    let summary: String
    let version: String
    /// Durability modes the engine refuses, each with the sentence that says why.
    let refusedDurabilities: [Durability: String]
    /// How crash-test simulates a power loss; nil for an engine the fault tests do not drive.
    let powerLoss: PowerLossSimulation?
    /// Why corrupt-test cannot expect the engine to detect damage (it keeps no checksums), or nil.
    let noChecksums: String?
    /// Settings a careful user gives the engine when a memory limit holds its page cache too.
    let settingsUnderMemoryLimit: [String]
    /// Printed under every comparison that includes the engine: what the reader must know to be fair to it.
    let comparisonNote: String?
    /// Printed under a comparison in which no memory limit held the engine: why its memory is not bounded.
    let unboundedNote: String?
    /// Where corrupt-test damages the engine's files (the directory of a closed store in, cases out).
    let corruptionPlan: @Sendable (String) throws(StoreError) -> [CorruptionCase]
    /// Refuses settings the engine's `open` would refuse (`KeyValueStore.checkSettings`).
    let checkSettings: @Sendable (StoreOptions) throws(StoreError) -> Void
    /// A benchmark run (`Workbench.run`).
    let run: @Sendable (BenchmarkConfiguration) throws -> RunResult
    /// The crash-test child; with a power-loss delay, through the fault layer where the engine has it.
    let crashWorker: @Sendable (_ settings: CrashWorker.Settings, _ powerLossAfterMilliseconds: Int?, _ crashPointOneIn: Int?, _ tornTails: Bool) -> Int32
    /// The crash-test verifier (`CrashVerifier.run`).
    let crashVerify: @Sendable (_ directory: String, _ durability: Durability, _ memoryBudget: Int, _ keySpace: Int, _ create: Bool,
                                _ settings: [String: String]) -> Int32
    /// Builds the corrupt-test database (`CorruptTest.build`).
    let corruptBuild: @Sendable (_ directory: String, _ keySpace: Int, _ memoryBudget: Int, _ settings: [String: String],
                                 _ abandon: Bool) throws -> CorruptTest.Expectation

    init<Store: KeyValueStore>(_ store: Store.Type, name: String, summary: String, refusedDurabilities: [Durability: String] = [:],
                               powerLoss: PowerLossSimulation? = nil,
                               corruptionPlan: @escaping @Sendable (String) throws(StoreError) -> [CorruptionCase] = CorruptionPlans.generic,
                               noChecksums: String? = nil, settingsUnderMemoryLimit: [String] = [],
                               comparisonNote: String? = nil, unboundedNote: String? = nil) {
        self.name = name
        self.summary = summary
        version = Store.engineVersion
        self.refusedDurabilities = refusedDurabilities
        self.powerLoss = powerLoss
        self.noChecksums = noChecksums
        self.settingsUnderMemoryLimit = settingsUnderMemoryLimit
        self.comparisonNote = comparisonNote
        self.unboundedNote = unboundedNote
        self.corruptionPlan = corruptionPlan
        checkSettings = { options throws(StoreError) in try Store.checkSettings(options) }
        run = { configuration in try Workbench.run(Store.self, configuration) }
        crashWorker = { settings, delay, crashPointOneIn, tornTails in
            guard powerLoss == .faultLayer, let delay else { return CrashWorker.run(Store.self, settings) }
            return CrashWorker.runWithPowerLoss(Store.self, settings, afterMilliseconds: delay, crashPointOneIn: crashPointOneIn, tornTails: tornTails)
        }
        crashVerify = { directory, durability, memoryBudget, keySpace, create, settings in
            CrashVerifier.run(Store.self, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace,
                              create: create, settings: settings)
        }
        corruptBuild = { directory, keySpace, memoryBudget, settings, abandon in
            try CorruptTest.build(Store.self, directory: directory, keySpace: keySpace, memoryBudget: memoryBudget,
                                  settings: settings, abandon: abandon)
        }
    }
}

/// The engines `kvbench` can drive, in the order they are listed and compared.
enum EngineTable {
    static let engines: [EngineEntry] = [
        EngineEntry(LSMStore.self, name: "lsm",
                    summary: "KVBench's hand-written LSM tree \(LSMStore.engineVersion): leveled, tiered or lazy-leveling compaction, bloom filters, block cache",
                    powerLoss: .faultLayer, corruptionPlan: CorruptionPlans.from(LSMStore.layout)),
        EngineEntry(BTreeStore.self, name: "btree",
                    summary: "KVBench's hand-written B+tree \(BTreeStore.engineVersion): copy-on-write pages, buffer pool, redo log",
                    powerLoss: .faultLayer, corruptionPlan: CorruptionPlans.from(BTreeStore.layout)),
        EngineEntry(RocksDBStore.self, name: "rocksdb",
                    summary: "\(RocksDBLibrary.loaded.summary) through its C API",
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.rocksDB,
                    comparisonNote: RocksDBLibrary.loaded.buildKind == .assertionsOn
                        ? "\(RocksDBLibrary.loaded.summary): its assertions slow it; scripts/build-rocksdb builds a release library of the same version."
                        : nil),
        EngineEntry(LMDBStore.self, name: "lmdb",
                    summary: "LMDB \(LMDBStore.engineVersion), copy-on-write B+tree in a memory map",
                    refusedDurabilities: [.none: "--durability none is not available for lmdb: LMDB has no mode without durability (every commit goes through its data file); use --durability os or fsync"],
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.lmdb,
                    noChecksums: "LMDB 0.9 has no page checksums: damage that still parses is returned as data (reported as undetected)",
                    settingsUnderMemoryLimit: ["lmdb.no_readahead=true"],
                    unboundedNote: "LMDB reads through the OS page cache and cannot be bounded by the memory budget; see its peak RSS, or run with an enforced --memory-limit."),
        EngineEntry(LevelDBStore.self, name: "leveldb",
                    summary: "LevelDB \(LevelDBStore.engineVersion) through its C API: the LSM tree KVBench's follows (one compaction thread, bloom filters, block cache)",
                    refusedDurabilities: [.none: "--durability none is not available for leveldb: \(LevelDBStore.noneRefusal)"],
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.levelDB,
                    comparisonNote: "LevelDB's C API returns a copy of every value read (it has no pinned read), and LevelDB compacts on one background thread."),
        EngineEntry(SQLiteStore.self, name: "sqlite",
                    summary: "SQLite \(SQLiteStore.engineVersion): a WITHOUT ROWID B-tree table with a BLOB key, WAL journal, prepared statements",
                    refusedDurabilities: [.none: "--durability none is not available for sqlite: \(SQLiteStore.noneRefusal)"],
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.sqlite,
                    noChecksums: "SQLite has no page checksums (only its WAL frames are checksummed): damage to the database file that still parses is returned as data (reported as undetected)"),
        EngineEntry(WiredTigerStore.self, name: "wiredtiger",
                    summary: "WiredTiger \(WiredTigerStore.engineVersion) B-tree table through its C API (MongoDB's engine)",
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.wiredTiger,
                    comparisonNote: Self.wiredTigerNote),
        EngineEntry(WiredTigerLSMStore.self, name: "wiredtiger-lsm",
                    summary: "WiredTiger \(WiredTigerLSMStore.engineVersion) LSM table (type=lsm) through its C API",
                    powerLoss: .syscallTrace, corruptionPlan: CorruptionPlans.wiredTiger,
                    comparisonNote: Self.wiredTigerNote),
        EngineEntry(NullStore.self, name: "null", summary: "stores nothing; measures the harness itself"),
    ]

    /// What a reader of a comparison with WiredTiger must know.
    static let wiredTigerNote = "Half of WiredTiger's memory budget is its cache (the rest is for what it allocates beside the cache); it checkpoints every 60 s, so in a shorter run its pages are written by eviction, which keeps dirty data under 5 % of the cache by writing the same pages again and again."

    /// Engine names in table order.
    static let names = engines.map(\.name)

    /// Engines that `crash-test` and `corrupt-test` can drive (`null` stores nothing).
    static let crashEngines = engines.filter { $0.powerLoss != nil }.map(\.name)

    /// The one-line error for an unknown engine name.
    static func unknown(_ name: String, among choices: [String] = names, for command: String? = nil) -> String {
        "unknown engine '\(name)'\(command.map { " for \($0)" } ?? ""); choose one of: \(choices.joined(separator: ", "))"
    }

    /// The entry of `name`; a usage error naming the choices when there is none.
    static func entry(_ name: String) throws -> EngineEntry {
        guard let entry = engines.first(where: { $0.name == name }) else { throw CommandFailure(unknown(name), status: .usage) }
        return entry
    }

    /// Why `engine` cannot run under `durability`, or nil when it can; checked before anything runs.
    static func unsupported(engine: String, durability: Durability) -> String? {
        engines.first { $0.name == engine }?.refusedDurabilities[durability]
    }

    /// Why `engine` would refuse `given` settings under this budget and durability, or nil;
    /// checked before anything runs. For a refused setting: "--setting NAME: REASON".
    static func refusedSettings(engine: String, _ given: [String: String], durability: Durability, memoryBudget: Int) -> String? {
        guard let entry = engines.first(where: { $0.name == engine }) else { return nil }
        do throws(StoreError) {
            try entry.checkSettings(StoreOptions(directory: "", durability: durability, memoryBudget: memoryBudget, settings: given))
            return nil
        } catch {
            guard case .invalidOption(let name, let reason) = error else { return "\(engine): \(error.description)" }
            return "--setting \(name): \(reason)"
        }
    }

    /// How `--mode` is carried out for an engine of the fault tests.
    static func powerLossMethod(engine: String, mode: CrashMode) -> PowerLossMethod {
        guard mode == .power else { return .none }
        switch engines.first(where: { $0.name == engine })?.powerLoss {
        case .faultLayer:
            return .faultLayer
        case .syscallTrace:
            guard let library = FaultSupport.preloadLibrary else {
                return .notCovered(reason: "libCFaultPreload.so was not found next to kvbench; build it with `swift build --product CFaultPreload`")
            }
            return .syscallTrace(library: library)
        case nil:
            return .notCovered(reason: "no power-loss simulation for engine \(engine)")
        }
    }
}
