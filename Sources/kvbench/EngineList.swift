import ArgumentParser
import KVStore

/// A comma-separated `--engines` list, as `compare` and `sweep` take it.
enum EngineList {
    static func parse(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Refuses an unknown engine, an empty list, an engine named twice, an engine that
    /// refuses the durability, and a setting an engine would refuse.
    static func check(_ engines: [String], options: BenchmarkOptions) throws {
        let durability = options.durability
        for name in engines where !EngineTable.names.contains(name) { throw ValidationError(EngineTable.unknown(name)) }
        guard !engines.isEmpty else { throw ValidationError("--engines needs at least one engine") }
        guard Set(engines).count == engines.count else { throw ValidationError("--engines names an engine twice") }
        for name in engines {
            if let reason = EngineTable.unsupported(engine: name, durability: durability) { throw ValidationError(reason) }
        }
        try options.checkSettings(engines: engines)
    }
}
