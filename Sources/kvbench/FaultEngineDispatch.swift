import BTreeEngine
import KVFaults
import KVStore
import LMDBEngine
import LSMEngine
import RocksDBEngine

extension EngineRegistry {
    /// Engines that `crash-test` and `corrupt-test` can drive (`null` stores nothing).
    static let crashEngines = ["rocksdb", "lmdb", "lsm", "btree"]

    /// How `--mode` is carried out for an engine.
    static func powerLossMethod(engine: String, mode: CrashMode) -> PowerLossMethod {
        guard mode == .power else { return .none }
        switch engine {
        case "rocksdb", "lmdb":
            guard let library = FaultSupport.preloadLibrary else {
                return .notCovered(reason: "libCFaultPreload.so was not found next to kvbench; build it with `swift build --product CFaultPreload`")
            }
            return .syscallTrace(library: library)
        case "lsm", "btree":
            return .faultLayer
        default:
            return .notCovered(reason: "no power-loss simulation for engine \(engine)")
        }
    }

    /// Runs the crash-test child against the named engine.
    static func crashWorker(engine: String, _ settings: CrashWorker.Settings, powerLossAfterMilliseconds: Int?, crashPointOneIn: Int?,
                            tornTails: Bool) throws -> Int32 {
        switch engine {
        case "rocksdb": return CrashWorker.run(RocksDBStore.self, settings)
        case "lmdb": return CrashWorker.run(LMDBStore.self, settings)
        case "lsm":
            guard let delay = powerLossAfterMilliseconds else { return CrashWorker.run(LSMStore.self, settings) }
            return CrashWorker.runWithPowerLoss(LSMStore.self, settings, afterMilliseconds: delay, crashPointOneIn: crashPointOneIn, tornTails: tornTails)
        case "btree":
            guard let delay = powerLossAfterMilliseconds else { return CrashWorker.run(BTreeStore.self, settings) }
            return CrashWorker.runWithPowerLoss(BTreeStore.self, settings, afterMilliseconds: delay, crashPointOneIn: crashPointOneIn, tornTails: tornTails)
        default: throw CommandFailure(unknown(engine))
        }
    }

    /// Runs the crash-test verifier against the named engine.
    static func crashVerify(engine: String, directory: String, durability: Durability, memoryBudget: Int, keySpace: Int, create: Bool) throws -> Int32 {
        switch engine {
        case "rocksdb": return CrashVerifier.run(RocksDBStore.self, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace, create: create)
        case "lmdb": return CrashVerifier.run(LMDBStore.self, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace, create: create)
        case "lsm": return CrashVerifier.run(LSMStore.self, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace, create: create)
        case "btree": return CrashVerifier.run(BTreeStore.self, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace, create: create)
        default: throw CommandFailure(unknown(engine))
        }
    }
}

extension EngineRegistry {
    /// Builds the corruption test database for the named engine; returns its expected contents.
    /// With `abandon`, the process kills itself instead of closing the store.
    static func corruptBuild(engine: String, directory: String, keySpace: Int, memoryBudget: Int, abandon: Bool = false) throws -> CorruptTest.Expectation {
        switch engine {
        case "rocksdb": return try CorruptTest.build(RocksDBStore.self, directory: directory, keySpace: keySpace, memoryBudget: memoryBudget, abandon: abandon)
        case "lmdb": return try CorruptTest.build(LMDBStore.self, directory: directory, keySpace: keySpace, memoryBudget: memoryBudget, abandon: abandon)
        case "lsm": return try CorruptTest.build(LSMStore.self, directory: directory, keySpace: keySpace, memoryBudget: memoryBudget, abandon: abandon)
        case "btree": return try CorruptTest.build(BTreeStore.self, directory: directory, keySpace: keySpace, memoryBudget: memoryBudget, abandon: abandon)
        default: throw CommandFailure(unknown(engine))
        }
    }

    /// Where to damage the named engine's files.
    static func corruptionCases(engine: String, directory: String) throws -> [CorruptionCase] {
        switch engine {
        case "rocksdb": return try CorruptionPlans.rocksDB(directory)
        case "lmdb": return try CorruptionPlans.lmdb(directory)
        case "lsm": return try CorruptionPlans.lsm(directory)
        case "btree": return try CorruptionPlans.btree(directory)
        default: return try CorruptionPlans.generic(directory)
        }
    }
}
