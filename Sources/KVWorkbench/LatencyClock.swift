import StorageIO
import CCycleCounter
#if canImport(Glibc)
import Glibc
#endif

/// The clock every latency is read from, in nanoseconds.
///
/// Where the kernel itself keeps time with the CPU's invariant time-stamp
/// counter (clocksource `tsc`, flags `constant_tsc` and `nonstop_tsc`), the
/// counter is read directly (`rdtsc`, a few nanoseconds) and scaled by a
/// fixed-point factor calibrated against `CLOCK_MONOTONIC` once per process. Elsewhere it is
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

    /// Chooses and calibrates the clock now (it takes about 0.2 s), rather than on first use inside a measured phase.
    public static func calibrate() {
        _ = tickMultiplier
    }

    @usableFromInline
    static let nanosecondsPerTick: Double = {
        if case .cycleCounter(let scale) = source { return scale }
        return 0
    }()

    /// Nanoseconds per tick as a 32.32 fixed-point factor (0 on `CLOCK_MONOTONIC`):
    /// a tick count converts with one 64×64-bit multiply, no floating point.
    @usableFromInline
    static let tickMultiplier: UInt64 = UInt64((nanosecondsPerTick * 0x1p32).rounded())

    /// A reader of this clock whose scale is held in the value itself, for hot
    /// loops (no lazy-global check per read).
    public static var reader: Reader { Reader(tickMultiplier: tickMultiplier) }

    /// Reads `LatencyClock` with its calibration copied in.
    public struct Reader: Sendable {
        @usableFromInline let tickMultiplier: UInt64

        @usableFromInline
        init(tickMultiplier: UInt64) { self.tickMultiplier = tickMultiplier }

        /// Now, in nanoseconds on `LatencyClock`'s scale.
        @inlinable
        @inline(__always)
        public func now() -> UInt64 {
            if tickMultiplier > 0 { return LatencyClock.scale(kvbench_read_cycle_counter(), tickMultiplier) }
            return Monotonic.nanoseconds()
        }
    }

    /// `ticks` in nanoseconds: ticks × multiplier / 2^32.
    @inlinable
    @inline(__always)
    static func scale(_ ticks: UInt64, _ multiplier: UInt64) -> UInt64 {
        let product = ticks.multipliedFullWidth(by: multiplier)
        return product.high &<< 32 | product.low &>> 32
    }

    /// Now, in nanoseconds on this clock's own monotonic scale.
    @inlinable
    @inline(__always)
    public static func now() -> UInt64 {
        let multiplier = tickMultiplier
        if multiplier > 0 { return scale(kvbench_read_cycle_counter(), multiplier) }
        return Monotonic.nanoseconds()
    }

    /// A (CLOCK_MONOTONIC, TSC) reading taken as close together as possible: the
    /// TSC read is bracketed by two clock reads, and of several tries the one with
    /// the narrowest bracket is kept, so a preemption cannot skew the calibration.
    private static func tightestPair() -> (nanoseconds: UInt64, ticks: UInt64)? {
        var best: (gap: UInt64, nanoseconds: UInt64, ticks: UInt64)?
        for _ in 0..<16 {
            let before = Monotonic.nanoseconds()
            let ticks = kvbench_read_cycle_counter()
            let after = Monotonic.nanoseconds()
            let gap = after &- before
            if best == nil || gap < best!.gap { best = (gap, before + gap / 2, ticks) }
        }
        guard let best, best.gap < 20_000 else { return nil }
        return (best.nanoseconds, best.ticks)
    }

    private static func chooseSource() -> Source {
        guard kvbench_has_cycle_counter() != 0,
              readProcFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")?.hasPrefix("tsc") == true,
              let cpuinfo = readProcFile("/proc/cpuinfo"),
              cpuinfo.contains(" constant_tsc"), cpuinfo.contains(" nonstop_tsc") else { return .monotonic }
        guard let first = tightestPair() else { return .monotonic }
        var pause = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        nanosleep(&pause, nil)
        guard let second = tightestPair(), second.ticks > first.ticks, second.nanoseconds > first.nanoseconds else {
            return .monotonic
        }
        let startNanoseconds = first.nanoseconds, endNanoseconds = second.nanoseconds
        let startTicks = first.ticks, endTicks = second.ticks
        return .cycleCounter(nanosecondsPerTick: Double(endNanoseconds - startNanoseconds) / Double(endTicks - startTicks))
    }
}
