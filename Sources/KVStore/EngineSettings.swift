/// An engine's reading of its `StoreOptions.settings`, the one way every engine
/// reads them: unknown names are refused when it is made, each setting is then
/// read by name and kind, and every refusal is a `StoreError.invalidOption`
/// whose reason reads "unknown … setting; known: …" or "expected …, got …".
public struct EngineSettings: Sendable {
    private let settings: [String: String]

    /// Refuses the first name (in sorted order) not in `known`; `engine` names the engine
    /// in the error ("LSM").
    public init(_ settings: [String: String], engine: String, known: [String]) throws(StoreError) {
        for name in settings.keys.sorted() where !known.contains(name) {
            let choices = known.isEmpty ? "\(engine) has no engine-specific settings" : "known: \(known.joined(separator: ", "))"
            throw .invalidOption(name: name, reason: "unknown \(engine) setting; \(choices)")
        }
        self.settings = settings
    }

    /// The integer set for `name` (nil when not set), which must lie in `range` and, with
    /// `powerOfTwo`, be a power of two.
    public func integer(_ name: String, in range: ClosedRange<Int>, powerOfTwo: Bool = false) throws(StoreError) -> Int? {
        guard let text = settings[name] else { return nil }
        if let value = Int(text), range.contains(value), !powerOfTwo || value & (value - 1) == 0 { return value }
        let kind = powerOfTwo ? "a power of two" : "an integer"
        let bounds = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
        throw .invalidOption(name: name, reason: "expected \(kind) \(bounds), got \(text)")
    }

    /// The `true` or `false` set for `name` (nil when not set).
    public func flag(_ name: String) throws(StoreError) -> Bool? {
        guard let text = settings[name] else { return nil }
        guard text == "true" || text == "false" else {
            throw .invalidOption(name: name, reason: "expected true or false, got \(text)")
        }
        return text == "true"
    }

    /// The value set for `name` (nil when not set), which must be one of `choices`.
    public func choice(_ name: String, of choices: [String]) throws(StoreError) -> String? {
        guard let text = settings[name] else { return nil }
        guard choices.contains(text) else {
            throw .invalidOption(name: name, reason: "expected one of \(choices.joined(separator: ", ")), got \(text)")
        }
        return text
    }

    /// Splits a `name=value` argument (`--setting`); without `=` the value is empty.
    public static func split(_ argument: String) -> (name: String, value: String) {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}
