import StorageIO
import KVStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Engine compaction figures sampled once a second during a phase.
public struct StatisticsSample: Sendable {
    public var compactions: UInt64
    public var stallSeconds: Double
}

/// Samples an engine's statistics at the end of each second of a phase, on
/// its own thread, so the time series can show when compactions and stalls happened.
final class StatisticsSampler: Sendable {
    private let samples = Mutex<[StatisticsSample?]>([])
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<OSThread?>(nil)
    private let snapshot: @Sendable () -> StoreStatistics

    init<Store: KeyValueStore>(store: Store, phaseStart: UInt64) {
        snapshot = { store.statistics() }
        let handle = OSThread.start { [self] in
            var next = phaseStart &+ 1_000_000_000
            while !stopped.load(ordering: .relaxed) {
                let now = LatencyClock.now()
                if now >= next {
                    let statistics = snapshot()
                    samples.withLock { $0.append(Self.sample(statistics)) }
                    next &+= 1_000_000_000
                } else {
                    var pause = timespec(tv_sec: 0, tv_nsec: Int(min(next - now, 50_000_000)))
                    nanosleep(&pause, nil)
                }
            }
        }
        thread.withLock { $0 = handle }
    }

    private static func sample(_ statistics: StoreStatistics) -> StatisticsSample? {
        statistics.compaction.map { StatisticsSample(compactions: $0.count, stallSeconds: $0.stallSeconds) }
    }

    /// Stops sampling, takes one last sample for the final partial second, and returns one sample per second.
    func stop() -> [StatisticsSample?] {
        stopped.store(true, ordering: .relaxed)
        let handle = thread.withLock { current -> OSThread? in current.take() }
        handle?.join()
        let last = Self.sample(snapshot())
        return samples.withLock { $0 + [last] }
    }
}

/// One thread's count of operations not yet handed to the phase's progress: it hands
/// them over every 1,024 operations and checks for an interrupt there, and after every
/// operation of a paced loop (which may sleep between operations).
@usableFromInline
struct ProgressBatch {
    @usableFromInline let progress: PhaseProgress
    @usableFromInline let checksEveryOperation: Bool
    @usableFromInline var pending: UInt64 = 0

    @inlinable
    init(_ progress: PhaseProgress, checksEveryOperation: Bool = false) {
        self.progress = progress
        self.checksEveryOperation = checksEveryOperation
    }

    /// Counts one operation; true when the thread should stop (an interrupt was requested,
    /// or `deadlineReached` says so at a hand-over).
    @inlinable @inline(__always)
    mutating func countAndCheckStop(deadlineReached: () -> Bool = { false }) -> Bool {
        pending &+= 1
        if pending == 1024 {
            progress.add(pending)
            pending = 0
            return Interrupt.isRequested || deadlineReached()
        }
        return checksEveryOperation && Interrupt.isRequested
    }

    /// Hands the remaining count over (at the end of the thread's loop).
    @inlinable
    mutating func flush() {
        progress.add(pending)
        pending = 0
    }
}

/// Operations done in the current phase, and the live progress line on a terminal.
public final class PhaseProgress: Sendable {
    @usableFromInline let done = Atomic<UInt64>(0)
    private let phase: String
    private let expected: UInt64?
    private let deadlineSeconds: Double?
    private let visible: Bool
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<OSThread?>(nil)

    init(phase: String, expectedOperations: UInt64?, deadlineSeconds: Double?, visible: Bool) {
        self.phase = phase
        self.expected = expectedOperations
        self.deadlineSeconds = deadlineSeconds
        self.visible = visible && isatty(2) != 0
    }

    /// Counts operations done (threads report in batches).
    @inlinable
    public func add(_ count: UInt64) {
        if count > 0 { done.add(count, ordering: .relaxed) }
    }

    func start(at start: UInt64) {
        guard visible else { return }
        let handle = OSThread.start { [self] in
            while !stopped.load(ordering: .relaxed) {
                var pause = timespec(tv_sec: 0, tv_nsec: 500_000_000)
                nanosleep(&pause, nil)
                if stopped.load(ordering: .relaxed) { break }
                render(elapsed: Double(LatencyClock.now() - start) / 1e9)
            }
        }
        thread.withLock { $0 = handle }
    }

    private func render(elapsed: Double) {
        let count = done.load(ordering: .relaxed)
        let rate = elapsed > 0 ? Double(count) / elapsed : 0
        var line = "\r\u{1B}[2K  \(phase): \(count)"
        if let expected { line += " / \(expected)" }
        line += " ops  \(Int(rate)) ops/s"
        if let expected, rate > 0, expected > count {
            line += "  ETA \(Int(Double(expected - count) / rate))s"
        } else if let deadlineSeconds {
            line += "  ETA \(max(0, Int(deadlineSeconds - elapsed)))s"
        }
        writeStandardError(line)
    }

    func finish() {
        stopped.store(true, ordering: .relaxed)
        let handle = thread.withLock { current -> OSThread? in current.take() }
        if let handle {
            handle.join()
            writeStandardError("\r\u{1B}[2K")
        }
    }
}
