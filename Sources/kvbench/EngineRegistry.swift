import KVResults
import KVStore
import KVWorkbench
import BTreeEngine
import LMDBEngine
import LSMEngine
import RocksDBEngine

/// The engines `kvbench` can drive. Each name dispatches to a call specialized
/// for that engine's concrete type, so the measured loop has no existential.
enum EngineRegistry {
    /// Engine names in the order they are listed and compared.
    static let names = ["lsm", "btree", "rocksdb", "lmdb", "null"]

    /// The one-line error for an unknown engine name.
    static func unknown(_ name: String) -> String {
        "unknown engine '\(name)'; choose one of: \(names.joined(separator: ", "))"
    }

    /// Why `engine` cannot run under `durability`, or nil when it can; checked before anything runs.
    static func unsupported(engine: String, durability: Durability) -> String? {
        guard engine == "lmdb" && durability == .none else { return nil }
        return "--durability none is not available for lmdb: LMDB has no mode without durability (every commit goes through its data file); use --durability os or fsync"
    }

    static func version(of name: String) -> String? {
        switch name {
        case "rocksdb": return RocksDBStore.engineVersion
        case "lmdb": return LMDBStore.engineVersion
        case "lsm": return LSMStore.engineVersion
        case "btree": return BTreeStore.engineVersion
        case "null": return NullStore.engineVersion
        default: return nil
        }
    }

    static func describe(_ name: String) -> String {
        switch name {
        case "rocksdb": return "RocksDB \(RocksDBStore.engineVersion) through its C API (Debian build, assertions enabled)"
        case "lmdb": return "LMDB \(LMDBStore.engineVersion), copy-on-write B+tree in a memory map"
        case "lsm": return "KVBench's hand-written LSM tree \(LSMStore.engineVersion): leveled compaction, bloom filters, block cache"
        case "btree": return "KVBench's hand-written B+tree \(BTreeStore.engineVersion): copy-on-write pages, buffer pool, redo log"
        case "null": return "stores nothing; measures the harness itself"
        default: return ""
        }
    }

    /// Runs the benchmark against the named engine.
    static func run(_ name: String, _ configuration: BenchmarkConfiguration) throws -> RunResult {
        switch name {
        case "rocksdb": return try Workbench.run(RocksDBStore.self, configuration)
        case "lmdb": return try Workbench.run(LMDBStore.self, configuration)
        case "lsm": return try Workbench.run(LSMStore.self, configuration)
        case "btree": return try Workbench.run(BTreeStore.self, configuration)
        case "null": return try Workbench.run(NullStore.self, configuration)
        default: throw CommandFailure(unknown(name), status: .usage)
        }
    }
}
