#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A dedicated OS thread (pthread) running one body: the one way the project starts threads
/// (benchmark threads, samplers, the LSM's flush and compaction threads, the crash worker's
/// power-loss timer). Real threads rather than tasks, so that a blocking call stalls only its
/// own thread. Join it at most once.
public struct OSThread: Sendable {
    private final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private let thread: pthread_t

    /// Starts `body` on a new thread. `pthread_create` fails only when the system is out of
    /// threads or memory, and then the process stops with its error code.
    public static func start(_ body: @escaping @Sendable () -> Void) -> OSThread {
        let job = Unmanaged.passRetained(Job(body))
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
            job.body()
            return nil
        }, job.toOpaque())
        precondition(created == 0, "pthread_create failed with \(created)")
        return OSThread(thread: thread)
    }

    /// Waits until the thread's body has returned.
    public func join() { pthread_join(thread, nil) }
}
