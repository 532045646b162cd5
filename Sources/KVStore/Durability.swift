/// What an acknowledged write survives. Every engine maps these the same way
/// (`docs/measurement.md`), and every report states the mode used.
public enum Durability: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// No write-ahead log: a process crash may lose recent writes.
    case none
    /// Every acknowledged write has reached the OS before the call returns:
    /// survives a process crash, not a power loss.
    case os
    /// Every acknowledged write has been synced to stable storage (fsync/fdatasync,
    /// group commit allowed): survives a power loss.
    case fsync

    public var description: String { rawValue }
}
