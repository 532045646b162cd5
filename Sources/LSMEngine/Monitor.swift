#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A mutex with a condition variable (pthread), for the engine's control
/// state: writers waiting for room, group commit, background threads.
///
/// `@unchecked Sendable`: the pthread objects live in heap memory that never
/// moves and are designed for use from many threads.
final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    #if KVBENCH_INTERNAL_CHECKS
    /// The thread holding the mutex (0 when none), for `assertHeld`.
    private let owner = Atomic<UInt>(0)
    #endif

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    @inline(__always) func lock() {
        pthread_mutex_lock(mutex)
        #if KVBENCH_INTERNAL_CHECKS
        owner.store(Self.currentThread, ordering: .relaxed)
        #endif
    }

    @inline(__always) func unlock() {
        #if KVBENCH_INTERNAL_CHECKS
        assertHeld()
        owner.store(0, ordering: .relaxed)
        #endif
        pthread_mutex_unlock(mutex)
    }

    /// Stops the process when the calling thread does not hold the mutex (only in
    /// builds with `KVBENCH_INTERNAL_CHECKS`, which debug builds define).
    @inline(__always) func assertHeld() {
        #if KVBENCH_INTERNAL_CHECKS
        precondition(owner.load(ordering: .relaxed) == Self.currentThread, "the engine monitor is not held by this thread")
        #endif
    }

    #if KVBENCH_INTERNAL_CHECKS
    private static var currentThread: UInt { unsafeBitCast(pthread_self(), to: UInt.self) }
    #endif

    /// Waits for a broadcast; the mutex must be held and is held again on return.
    func wait() {
        #if KVBENCH_INTERNAL_CHECKS
        assertHeld()
        owner.store(0, ordering: .relaxed)
        #endif
        pthread_cond_wait(condition, mutex)
        #if KVBENCH_INTERNAL_CHECKS
        owner.store(Self.currentThread, ordering: .relaxed)
        #endif
    }

    /// Waits for a broadcast or until `nanoseconds` have passed.
    func wait(nanoseconds: Int) {
        #if KVBENCH_INTERNAL_CHECKS
        assertHeld()
        owner.store(0, ordering: .relaxed)
        defer { owner.store(Self.currentThread, ordering: .relaxed) }
        #endif
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var total = Int(now.tv_nsec) + nanoseconds
        var deadline = now
        deadline.tv_sec += total / 1_000_000_000
        total %= 1_000_000_000
        deadline.tv_nsec = total
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(condition) }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// CPU time of the calling thread in nanoseconds.
func threadCPUNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
