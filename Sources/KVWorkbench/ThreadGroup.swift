#if canImport(Glibc)
import Glibc
#endif
import StorageIO

/// Runs a body on N dedicated OS threads and waits for all of them.
/// Benchmark threads are real threads (not tasks), so that a blocking engine
/// call stalls only its own thread, as it would in a server.
public enum ThreadGroup {
    /// Calls `body(index)` for index in 0..<count, each on its own thread, and returns when all have returned.
    public static func run(count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        if count == 1 {
            body(0)
            return
        }
        let handles = (0..<count).map { index in OSThread.start { body(index) } }
        for handle in handles { handle.join() }
    }
}

/// Sleeps until the monotonic clock reaches `deadline` (nanoseconds): sleeps
/// for long waits, spins for the last stretch so that open-loop schedules stay precise.
@inlinable
public func waitUntil(_ deadline: UInt64) {
    while true {
        let now = LatencyClock.now()
        if now >= deadline { return }
        let remaining = deadline - now
        if remaining > 200_000 {
            if Interrupt.isRequested { return }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(remaining - 100_000))
            if remaining > 1_000_000_000 { pause = timespec(tv_sec: 0, tv_nsec: 900_000_000) }
            nanosleep(&pause, nil)
        }
    }
}
