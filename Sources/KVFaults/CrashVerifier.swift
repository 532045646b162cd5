import KVStore

/// What the verifying child does after a crash: opens the store in a fresh
/// process, reads every key of the key space and scans the whole store, and
/// writes what it found to standard output for the parent's oracle.
///
/// Lines: `O ok` or `O corruption|error <message>`; `V <key> <seq>` an intact
/// value; `W <key> <reason>` a wrong value (`W -1 ...` for a key outside the key
/// space); `G <key> corruption|error <message>` a read failed; `S <entries>` scan
/// done; `E` end.
public enum CrashVerifier {
    /// Verifies the store in `directory`; returns the exit status.
    /// With `create`, makes an empty store when there is none (the test's setup step).
    /// `settings` are the engine settings the store is opened with.
    public static func run<Store: KeyValueStore>(_ type: Store.Type, directory: String, durability: Durability,
                                                 memoryBudget: Int, keySpace: Int, create: Bool = false,
                                                 settings: [String: String] = [:]) -> Int32 {
        let writer = LineWriter(descriptor: 1)
        verify(type, directory: directory, durability: durability, memoryBudget: memoryBudget, keySpace: keySpace,
               create: create, settings: settings, output: writer.write)
        return 0
    }

    /// Verifies the store in `directory`, passing each report line to `output`.
    static func verify<Store: KeyValueStore>(_ type: Store.Type, directory: String, durability: Durability,
                                             memoryBudget: Int, keySpace: Int, create: Bool, settings: [String: String] = [:],
                                             output: (String) -> Void) {
        let options = StoreOptions(directory: directory, durability: durability, memoryBudget: memoryBudget, createIfMissing: create,
                                   settings: settings)
        let store: Store
        do {
            store = try Store.open(options)
        } catch {
            output("O \(CrashWorker.kind(of: error)) \(error.description)\n")
            return
        }
        output("O ok\n")
        var found: [Int: UInt64] = [:]
        for index in 0..<keySpace {
            do {
                let result = try store.withValue(forKey: CrashValues.key(index)) { CrashValues.decode($0, key: index) }
                switch result {
                case .none: break
                case .intact(let sequence)?:
                    found[index] = sequence
                    output("V \(index) \(sequence)\n")
                case .wrong(let reason)?:
                    output("W \(index) \(reason)\n")
                }
            } catch {
                output("G \(index) \(CrashWorker.kind(of: error)) \(error.description)\n")
            }
        }
        do {
            var entries = 0
            try store.withCursor { (cursor: inout Store.Cursor) throws(StoreError) in
                try cursor.seekToFirst()
                while cursor.isValid {
                    entries += 1
                    let problem: String? = cursor.withCurrent { key, value in
                        guard let index = CrashValues.keyIndex(key), index < keySpace else {
                            return "-1 unexpected key of \(key.count) bytes in the scan"
                        }
                        switch CrashValues.decode(value, key: index) {
                        case .wrong(let reason): return "\(index) scan: \(reason)"
                        case .intact(let sequence):
                            if found[index] != sequence { return "\(index) scan sees sequence \(sequence), point read saw \(found[index].map(String.init) ?? "nothing")" }
                            found[index] = nil
                            return nil
                        }
                    }
                    if let problem { output("W \(problem)\n") }
                    try cursor.next()
                }
            }
            for index in found.keys.sorted() { output("W \(index) point read sees sequence \(found[index]!), the scan does not\n") }
            output("S \(entries)\n")
        } catch {
            output("G -1 \(CrashWorker.kind(of: error)) \(error.description)\n")
        }
        do {
            try store.close()
        } catch {
            output("G -1 \(CrashWorker.kind(of: error)) close: \(error.description)\n")
        }
        output("E\n")
    }
}
