/// A snapshot of what an engine has done since it was opened. Counters only
/// grow, so the workbench subtracts two snapshots to get a phase's figures.
/// A field that the engine cannot know is `nil`, never a guess.
public struct StoreStatistics: Sendable, Hashable, Codable {
    /// Key + value bytes of every put, key bytes of every delete, as the user asked.
    public var userBytesWritten: UInt64
    /// Bytes the engine itself wrote to its files (log, tables, pages, manifest), if it knows.
    public var engineBytesWritten: UInt64?
    /// Bytes the engine read from its files, if it knows.
    public var engineBytesRead: UInt64?
    /// Point lookups the engine served, if it counts them.
    public var pointLookups: UInt64?
    /// Tables, blocks or pages touched by those lookups (the probe view of read amplification).
    public var lookupProbes: UInt64?
    /// Compaction work, for engines that compact.
    public var compaction: CompactionStatistics?
    /// Engine-specific counters by name, for example `block_cache.hits`.
    public var counters: [String: Double]

    public init(
        userBytesWritten: UInt64 = 0,
        engineBytesWritten: UInt64? = nil,
        engineBytesRead: UInt64? = nil,
        pointLookups: UInt64? = nil,
        lookupProbes: UInt64? = nil,
        compaction: CompactionStatistics? = nil,
        counters: [String: Double] = [:]
    ) {
        self.userBytesWritten = userBytesWritten
        self.engineBytesWritten = engineBytesWritten
        self.engineBytesRead = engineBytesRead
        self.pointLookups = pointLookups
        self.lookupProbes = lookupProbes
        self.compaction = compaction
        self.counters = counters
    }
}

/// Cumulative compaction work of an LSM engine.
public struct CompactionStatistics: Sendable, Hashable, Codable {
    public var count: UInt64
    public var bytesRead: UInt64
    public var bytesWritten: UInt64
    public var wallSeconds: Double
    public var cpuSeconds: Double
    /// Time foreground writes waited for flushes or compactions.
    public var stallSeconds: Double

    public init(count: UInt64 = 0, bytesRead: UInt64 = 0, bytesWritten: UInt64 = 0,
                wallSeconds: Double = 0, cpuSeconds: Double = 0, stallSeconds: Double = 0) {
        self.count = count
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.wallSeconds = wallSeconds
        self.cpuSeconds = cpuSeconds
        self.stallSeconds = stallSeconds
    }
}
