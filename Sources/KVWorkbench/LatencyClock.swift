import CCycleCounter
#if canImport(Glibc)
import Glibc
#endif

/// The clock every latency is read from, in nanoseconds.
///
/// Where the kernel itself keeps time with the CPU's invariant time-stamp
/// counter (clocksource `tsc`, flags `constant_tsc` and `nonstop_tsc`), the
/// counter is read directly (`rdtsc`, a few nanoseconds) and scaled by a
/// factor calibrated against `CLOCK_MONOTONIC` once per process. Elsewhere it is
/// `clock_gettime(CLOCK_MONOTONIC)`. `LatencyClock.source` says which, and every
/// phase checks the scaled clock against `CLOCK_MONOTONIC` at its end.
public enum LatencyClock {
    /// Which clock is in use and how it converts to nanoseconds.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case cycleCounter(nanosecondsPerTick: Double)
        case monotonic

        public var description: String {
            switch self {
            case .cycleCounter(let scale): return "TSC (rdtsc) at \(Int((1 / scale * 1000).rounded())) MHz, calibrated against CLOCK_MONOTONIC"
            case .monotonic: return "clock_gettime(CLOCK_MONOTONIC)"
            }
        }
    }

    /// The source chosen for this process (decided once).
    public static let source: Source = chooseSource()

    @usableFromInline
    static let nanosecondsPerTick: Double = {
        if case .cycleCounter(let scale) = source { return scale }
        return 0
    }()

    @usableFromInline
    static let usesCycleCounter: Bool = nanosecondsPerTick > 0

    /// Now, in nanoseconds on this clock's own monotonic scale.
    @inlinable
    @inline(__always)
    public static func now() -> UInt64 {
        if usesCycleCounter {
            return UInt64(Double(kvbench_read_cycle_counter()) * nanosecondsPerTick)
        }
        return monotonicNanoseconds()
    }

    private static func chooseSource() -> Source {
        guard kvbench_has_cycle_counter() != 0,
              readProcFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")?.hasPrefix("tsc") == true,
              let cpuinfo = readProcFile("/proc/cpuinfo"),
              cpuinfo.contains(" constant_tsc"), cpuinfo.contains(" nonstop_tsc") else { return .monotonic }
        let startNanoseconds = monotonicNanoseconds()
        let startTicks = kvbench_read_cycle_counter()
        var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
        nanosleep(&pause, nil)
        let endNanoseconds = monotonicNanoseconds()
        let endTicks = kvbench_read_cycle_counter()
        guard endTicks > startTicks, endNanoseconds > startNanoseconds else { return .monotonic }
        return .cycleCounter(nanosecondsPerTick: Double(endNanoseconds - startNanoseconds) / Double(endTicks - startTicks))
    }
}
