import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as a flag: the handlers (installed with `sigaction`) only store the signal number
/// in an atomic, which is async-signal-safe; the run loops poll `isRequested` every 1024 operations
/// and end the phase, and the command writes what finished, marked partial. A second signal ends the
/// process at once with the default action.
public enum Interrupt {
    @usableFromInline static let received = Atomic<Int32>(0)
    /// A child process (`kvbench child-run`) to pass both signals on to, or 0: `run` and `compare`
    /// start each engine run in its own process group, so a terminal's Ctrl-C reaches it only through here.
    public static let forwardTo = Atomic<Int32>(0)

    /// Installs the handlers for SIGINT and SIGTERM (SA_RESTART, so engine system calls are not cut short)
    /// and unblocks both in the calling thread, whose mask the benchmark threads inherit (a parent may
    /// have started this process with them blocked).
    public static func install() {
        received.store(0, ordering: .relaxed)
        let handler: @convention(c) (Int32) -> Void = { signal in
            let child = Interrupt.forwardTo.load(ordering: .relaxed)
            if child > 0 { kill(child, signal) }
            if Interrupt.received.exchange(signal, ordering: .relaxed) != 0 {
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
        }
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGINT)
        sigaddset(&unblocked, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }

    /// True once SIGINT or SIGTERM arrived: stop the current phase.
    @inlinable
    public static var isRequested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The signal that arrived (SIGINT or SIGTERM), or nil.
    public static var signal: Int32? {
        let value = received.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }
}
