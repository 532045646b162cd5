/// Options common to every engine when opening a store.
public struct StoreOptions: Sendable, Hashable {
    /// Directory that holds the engine's files. One store per directory.
    public var directory: String
    /// What an acknowledged write survives.
    public var durability: Durability
    /// Memory the engine may use for caches and write buffers, in bytes
    /// (RocksDB block cache + memtables, LSM memtable + block cache, B+tree buffer pool).
    public var memoryBudget: Int
    /// Create the directory and an empty store when none exists.
    public var createIfMissing: Bool
    /// Engine-specific settings by name (for example `lsm.bloom_bits_per_key`).
    /// Unknown names are rejected by the engine with `StoreError.invalidOption`.
    public var settings: [String: String]

    /// The default memory budget: 64 MiB.
    public static let defaultMemoryBudget = 64 << 20

    public init(
        directory: String,
        durability: Durability = .os,
        memoryBudget: Int = StoreOptions.defaultMemoryBudget,
        createIfMissing: Bool = true,
        settings: [String: String] = [:]
    ) {
        self.directory = directory
        self.durability = durability
        self.memoryBudget = memoryBudget
        self.createIfMissing = createIfMissing
        self.settings = settings
    }
}

/// Size limits an engine enforces before anything is written.
public struct StoreLimits: Sendable, Hashable {
    /// Largest key in bytes.
    public var maxKeySize: Int
    /// Largest value in bytes.
    public var maxValueSize: Int

    public init(maxKeySize: Int, maxValueSize: Int) {
        self.maxKeySize = maxKeySize
        self.maxValueSize = maxValueSize
    }

    /// Checks a key against the empty-key policy and the size limit.
    @inlinable
    public func validate(key count: Int) throws(StoreError) {
        if count == 0 { throw .emptyKey }
        if count > maxKeySize { throw .keyTooLarge(size: count, limit: maxKeySize) }
    }

    /// Checks a key and a value before a put.
    @inlinable
    public func validate(key keyCount: Int, value valueCount: Int) throws(StoreError) {
        try validate(key: keyCount)
        if valueCount > maxValueSize { throw .valueTooLarge(size: valueCount, limit: maxValueSize) }
    }

    /// Checks every operation of a batch before any of it is applied.
    public func validate(_ batch: WriteBatch) throws(StoreError) {
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value): try validate(key: key.count, value: value.count)
            case .delete(let key): try validate(key: key.count)
            }
        }
    }
}
