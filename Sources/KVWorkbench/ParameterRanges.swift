import KVWorkloads

/// The valid range of one numeric option, stated in the one-line error that refuses a value outside it.
public struct ParameterRange<Value: Comparable & Sendable>: Sendable {
    /// The option as the user writes it, e.g. `--records`.
    public let option: String
    public let range: ClosedRange<Value>
    /// What the value counts, e.g. "records" or "seconds".
    public let unit: String

    public init(_ option: String, _ range: ClosedRange<Value>, unit: String) {
        self.option = option
        self.range = range
        self.unit = unit
    }

    /// Throws unless `value` lies in the range (NaN never does); the message names the value, the range and what to do.
    public func check(_ value: Value) throws(WorkloadError) {
        guard range.contains(value) else {
            throw WorkloadError("\(option) \(value) is out of range: it must be from \(range.lowerBound) to \(range.upperBound) \(unit); give a value in that range")
        }
    }
}

/// Every numeric parameter's valid range, checked before anything is opened or written.
/// The limits keep each figure finite and each run finite in time and memory.
public enum ParameterRanges {
    public static let records = ParameterRange<Int>("--records", 1...1_000_000_000_000, unit: "records")
    public static let operations = ParameterRange<Int>("--operations", 1...1_000_000_000_000, unit: "operations")
    public static let durationSeconds = ParameterRange<Double>("--duration", 0.001...604_800, unit: "seconds (one week)")
    public static let warmupOperations = ParameterRange<Int>("--warmup", 0...1_000_000_000_000, unit: "operations")
    public static let warmupSeconds = ParameterRange<Double>("--warmup", 0...86_400, unit: "seconds")
    public static let threads = ParameterRange<Int>("--threads", 1...1024, unit: "threads")
    public static let targetRate = ParameterRange<Double>("--target-rate", 0.001...1_000_000_000, unit: "operations per second")
    public static let keySize = ParameterRange<Int>("--key-size", 8...1024, unit: "bytes")
    public static let valueSize = ParameterRange<Int>("--value-size", 0...(256 << 20), unit: "bytes")
    public static let scanLength = ParameterRange<Int>("--scan-length", 1...1_000_000, unit: "entries")
    public static let zipfTheta = ParameterRange<Double>("--zipf-theta", 0...10, unit: "(a finite exponent; YCSB uses 0.99)")
    public static let hotFraction = ParameterRange<Double>("--hot-fraction", 0...1, unit: "(a fraction of the key space)")
    public static let hotOperationFraction = ParameterRange<Double>("--hot-op-fraction", 0...1, unit: "(a fraction of the operations)")
    public static let writerRate = ParameterRange<Double>("--writer-rate", 0.001...1_000_000_000, unit: "updates per second")
    /// The lower bound of `--memory-budget`; the upper bound is the machine's memory (`memoryBudget(_:physical:)`).
    public static let minimumMemoryBudget = 1 << 20
    /// Largest dataset (records × (key + value)) a run may ask for: 1 PiB.
    public static let maximumDatasetBytes = 1 << 50

    /// Checks `--memory-budget` against 1 MiB and the machine's physical memory (unchecked above when that is unknown, 0).
    public static func checkMemoryBudget(_ bytes: Int, physical: UInt64) throws(WorkloadError) {
        if bytes < minimumMemoryBudget {
            throw WorkloadError("--memory-budget \(bytes) bytes is below the minimum of 1 MiB; give at least 1MiB")
        }
        if physical > 0 && UInt64(bytes) > physical {
            throw WorkloadError("--memory-budget \(bytes / 1_048_576) MiB is more than this machine's memory (\(physical / 1_048_576) MiB); give at most \(physical / 1_048_576)MiB")
        }
    }

    /// Checks that records × (key + value) stays below `maximumDatasetBytes`.
    public static func checkDataset(records: Int, keySize: Int, valueSize: Int) throws(WorkloadError) {
        let bytes = Double(records) * Double(keySize + valueSize)
        if bytes > Double(maximumDatasetBytes) {
            throw WorkloadError("--records \(records) of \(keySize + valueSize) bytes each make a dataset above 1 PiB; give fewer records or smaller values")
        }
    }
}
