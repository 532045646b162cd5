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
