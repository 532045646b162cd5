import Synchronization

/// The engine's running counters (all only grow). Hot-path counters are
/// relaxed atomics; per-level compaction figures change once per compaction
/// and sit behind a mutex.
final class EngineCounters: Sendable {
    let userBytes = Atomic<UInt64>(0)
    let logBytes = Atomic<UInt64>(0)
    let logSyncs = Atomic<UInt64>(0)
    let flushBytes = Atomic<UInt64>(0)
    let flushes = Atomic<UInt64>(0)
    let manifestBytes = Atomic<UInt64>(0)
    let bytesRead = Atomic<UInt64>(0)
    let pointLookups = Atomic<UInt64>(0)
    let tableProbes = Atomic<UInt64>(0)
    let bloomNegatives = Atomic<UInt64>(0)
    /// Probes the bloom filter let through for a key the table does not hold (`bloom.false_positives`).
    let bloomFalsePositives = Atomic<UInt64>(0)
    let memtableHits = Atomic<UInt64>(0)
    let cacheHits = Atomic<UInt64>(0)
    let cacheMisses = Atomic<UInt64>(0)
    let stallNanoseconds = Atomic<UInt64>(0)
    let slowdowns = Atomic<UInt64>(0)
    let stops = Atomic<UInt64>(0)
    let compaction = Mutex(CompactionTotals())
}

/// Totals of finished compactions, overall and per output level.
struct CompactionTotals {
    var count: UInt64 = 0
    var trivialMoves: UInt64 = 0
    var wallNanoseconds: UInt64 = 0
    var cpuNanoseconds: UInt64 = 0
    /// Indexed by output level.
    var bytesRead = [UInt64](repeating: 0, count: Version.levelCount)
    var bytesWritten = [UInt64](repeating: 0, count: Version.levelCount)
    var countByLevel = [UInt64](repeating: 0, count: Version.levelCount)
}
