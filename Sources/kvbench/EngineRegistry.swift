import KVResults
import KVStore
import KVWorkbench
import LMDBEngine
import LSMEngine
import RocksDBEngine

/// The engines `kvbench` can drive. Each name dispatches to a call specialized
/// for that engine's concrete type, so the measured loop has no existential.
enum EngineRegistry {
    /// Engine names in the order they are listed and compared.
    static let names = ["rocksdb", "lmdb", "lsm", "null"]

    /// The one-line error for an unknown engine name.
    static func unknown(_ name: String) -> String {
        "unknown engine '\(name)'; choose one of: \(names.joined(separator: ", "))"
    }

    static func version(of name: String) -> String? {
        switch name {
        case "rocksdb": return RocksDBStore.engineVersion
        case "lmdb": return LMDBStore.engineVersion
        case "lsm": return LSMStore.engineVersion
        case "null": return NullStore.engineVersion
        default: return nil
        }
    }

    static func describe(_ name: String) -> String {
        switch name {
        case "rocksdb": return "RocksDB \(RocksDBStore.engineVersion) through its C API (Debian build, assertions enabled)"
        case "lmdb": return "LMDB \(LMDBStore.engineVersion), copy-on-write B+tree in a memory map"
        case "lsm": return "KVBench's hand-written LSM tree \(LSMStore.engineVersion): leveled compaction, bloom filters, block cache"
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
        case "null": return try Workbench.run(NullStore.self, configuration)
        default: throw CommandFailure(unknown(name))
        }
    }
}

/// A failure reported to the user as one line, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
