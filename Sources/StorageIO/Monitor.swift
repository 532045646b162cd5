#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A mutex with a condition variable (pthread), for an engine's control state:
/// writers waiting for room, group commit, background threads. Debug builds
/// (`KVBENCH_INTERNAL_CHECKS`) record the holder and check it on `unlock`, `wait`
/// and `assertHeld`.
///
/// `@unchecked Sendable`: the pthread objects live in heap memory that never
/// moves and are designed for use from many threads.
public final class Monitor: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let condition: UnsafeMutablePointer<pthread_cond_t>
    #if KVBENCH_INTERNAL_CHECKS
    /// The thread holding the mutex (0 when none), for `assertHeld`.
    @usableFromInline let owner = Atomic<UInt>(0)
    #endif

    public init() {
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

    @inlinable public func lock() {
        pthread_mutex_lock(mutex)
        #if KVBENCH_INTERNAL_CHECKS
        owner.store(Self.currentThread, ordering: .relaxed)
        #endif
    }

    @inlinable public func unlock() {
        #if KVBENCH_INTERNAL_CHECKS
        assertHeld()
        owner.store(0, ordering: .relaxed)
        #endif
        pthread_mutex_unlock(mutex)
    }

    /// Stops the process when the calling thread does not hold the mutex (only in
    /// builds with `KVBENCH_INTERNAL_CHECKS`, which debug builds define).
    @inlinable public func assertHeld() {
        #if KVBENCH_INTERNAL_CHECKS
        precondition(owner.load(ordering: .relaxed) == Self.currentThread, "the monitor is not held by this thread")
        #endif
    }

    #if KVBENCH_INTERNAL_CHECKS
    @usableFromInline static var currentThread: UInt { unsafeBitCast(pthread_self(), to: UInt.self) }
    #endif

    /// Waits for a broadcast; the mutex must be held and is held again on return.
    public func wait() {
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
    public func wait(nanoseconds: Int) {
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

    public func broadcast() { pthread_cond_broadcast(condition) }

    @inlinable
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
