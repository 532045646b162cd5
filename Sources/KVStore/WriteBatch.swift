/// An ordered group of writes applied atomically: after a crash either all of
/// them are visible or none is.
public struct WriteBatch: Sendable, Hashable {
    /// One write in a batch.
    public enum Operation: Sendable, Hashable {
        case put(key: Bytes, value: Bytes)
        case delete(key: Bytes)

        /// The key this operation writes.
        public var key: Bytes {
            switch self {
            case .put(let key, _), .delete(let key): return key
            }
        }
    }

    /// The writes, applied in order (a later write to the same key wins).
    public private(set) var operations: [Operation] = []

    public init() {}

    public init(_ operations: [Operation]) { self.operations = operations }

    public mutating func put(_ key: Bytes, _ value: Bytes) { operations.append(.put(key: key, value: value)) }

    public mutating func delete(_ key: Bytes) { operations.append(.delete(key: key)) }

    public var isEmpty: Bool { operations.isEmpty }

    public var count: Int { operations.count }

    /// User bytes as `docs/measurement.md` defines them: key + value per put, key per delete.
    public var userBytes: UInt64 {
        operations.reduce(0) { total, operation in
            switch operation {
            case .put(let key, let value): return total + UInt64(key.count + value.count)
            case .delete(let key): return total + UInt64(key.count)
            }
        }
    }
}
