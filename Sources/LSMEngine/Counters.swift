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
    /// Every stall: the sum of the three causes below, and of delays and stops.
    let stallNanoseconds = Atomic<UInt64>(0)
    let stallLevel0Nanoseconds = Atomic<UInt64>(0)
    let stallPendingNanoseconds = Atomic<UInt64>(0)
    let stallMemtableNanoseconds = Atomic<UInt64>(0)
    let delayNanoseconds = Atomic<UInt64>(0)
    let stopNanoseconds = Atomic<UInt64>(0)
    /// Writes that slept to keep to the delayed write rate.
    let slowdowns = Atomic<UInt64>(0)
    /// Waits of a writer stopped until a flush or compaction finishes.
    let stops = Atomic<UInt64>(0)
    let compaction = Mutex(CompactionTotals())

    /// Adds a writer's stall to the total and to its cause; `delay` tells a
    /// paced write (slowdown) from a stopped one.
    func recordStall(_ cause: StallCause, delay: Bool, nanoseconds: UInt64) {
        stallNanoseconds.add(nanoseconds, ordering: .relaxed)
        switch cause {
        case .level0Files: stallLevel0Nanoseconds.add(nanoseconds, ordering: .relaxed)
        case .pendingCompactionBytes: stallPendingNanoseconds.add(nanoseconds, ordering: .relaxed)
        case .memtables: stallMemtableNanoseconds.add(nanoseconds, ordering: .relaxed)
        }
        if delay {
            delayNanoseconds.add(nanoseconds, ordering: .relaxed)
            slowdowns.add(1, ordering: .relaxed)
        } else {
            stopNanoseconds.add(nanoseconds, ordering: .relaxed)
            stops.add(1, ordering: .relaxed)
        }
    }
}

/// Why a write was slowed or stopped.
enum StallCause {
    /// L0 holds `lsm.l0_slowdown_trigger` (delay) or `lsm.l0_stop_trigger` (stop) tables.
    case level0Files
    /// The estimated bytes compaction still has to rewrite passed the soft (delay) or hard (stop) limit.
    case pendingCompactionBytes
    /// The memtable is full and the previous one is still being flushed.
    case memtables
}

/// Totals of finished compactions, overall and per output level.
struct CompactionTotals {
    var count: UInt64 = 0
    var trivialMoves: UInt64 = 0
    var wallNanoseconds: UInt64 = 0
    var cpuNanoseconds: UInt64 = 0
    /// Indexed by output level: bytes of the compactions' inputs and outputs, compactions.
    var bytesRead = [UInt64](repeating: 0, count: Version.levelCount)
    var bytesWritten = [UInt64](repeating: 0, count: Version.levelCount)
    var countByLevel = [UInt64](repeating: 0, count: Version.levelCount)
    /// Indexed by input level: bytes compactions read from that level's tables.
    var bytesReadFrom = [UInt64](repeating: 0, count: Version.levelCount)
    /// Key ranges merged by compactions split into more than one (each range counted).
    var subcompactions: UInt64 = 0
}
