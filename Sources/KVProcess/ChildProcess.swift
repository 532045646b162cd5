#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore

/// A child process whose standard output is a pipe read by this process.
///
/// Spawned with `posix_spawn`. Standard error goes to a file (so that a crash
/// test's complaints end up in its working directory), or, when no file is
/// given, into the same pipe as standard output.
public final class ChildProcess {
    /// How a child ended.
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "killed by signal \(signal) (\(Self.signalName(signal)))"
            }
        }

        /// SIGABRT, SIGKILL …, or the number.
        public static func signalName(_ signal: Int32) -> String {
            let names: [Int32: String] = [SIGABRT: "SIGABRT", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS",
                                          SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGTRAP: "SIGTRAP"]
            return names[signal] ?? "signal \(signal)"
        }
    }

    public let pid: pid_t
    private var readEnd: Int32
    public private(set) var output: [UInt8] = []
    private var reaped: Termination?
    /// The child's resource usage, known once `wait()` has returned (`wait4`).
    public private(set) var usage: rusage?

    /// Starts `arguments[0]` (an absolute path) with `arguments`, adding `environment` to this process's environment.
    /// `standardError` nil sends the child's standard error into the output pipe;
    /// `ownProcessGroup` keeps terminal signals (Ctrl-C) from reaching the child directly.
    public init(arguments: [String], environment: [String: String] = [:], standardError: String?, ownProcessGroup: Bool = false) throws(StoreError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .io(operation: "pipe", path: arguments[0], errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        }
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownProcessGroup {
            // Its own group, no blocked signals and default SIGINT/SIGTERM handling, whatever this process inherited.
            var empty = sigset_t(), defaults = sigset_t()
            sigemptyset(&empty)
            sigemptyset(&defaults)
            sigaddset(&defaults, SIGINT)
            sigaddset(&defaults, SIGTERM)
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        }

        var variables: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if environment[name] == nil { variables.append(text) }
            index += 1
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) { variables.append("\(name)=\(value)") }

        var child: pid_t = 0
        let code = Self.withCStrings(arguments) { argv in
            Self.withCStrings(variables) { envp in
                posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
            }
        }
        Glibc.close(fds[1])
        guard code == 0 else {
            Glibc.close(fds[0])
            throw .io(operation: "posix_spawn", path: arguments[0], errno: code)
        }
        pid = child
        readEnd = fds[0]
    }

    deinit {
        if readEnd >= 0 { Glibc.close(readEnd) }
        if reaped == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Reads what the child writes until `deadline` (monotonic nanoseconds) or end of output,
    /// or until `stop` returns true for the output so far. Returns true at end of output.
    @discardableResult
    public func read(until deadline: UInt64, stop: ([UInt8]) -> Bool = { _ in false }) -> Bool {
        guard readEnd >= 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let now = Monotonic.nanoseconds()
            if now >= deadline { return false }
            var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(min((deadline - now) / 1_000_000 + 1, 1000))
            let ready = poll(&descriptor, 1, wait)
            if ready < 0 { if errno == EINTR { continue }; return false }
            if ready == 0 { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 { if errno == EINTR { continue }; return false }
            if count == 0 {
                Glibc.close(readEnd)
                readEnd = -1
                return true
            }
            output.append(contentsOf: buffer[0..<count])
            if stop(output) { return false }
        }
    }

    /// Reads everything until the child closes its output.
    public func readToEnd() { read(until: .max) }

    /// Sends SIGKILL.
    public func killNow() { kill(pid, SIGKILL) }

    /// Waits for the child to end and keeps its resource usage.
    public func wait() -> Termination {
        if let reaped { return reaped }
        var status: Int32 = 0
        var resources = rusage()
        while wait4(pid, &status, 0, &resources) < 0 && errno == EINTR {}
        let termination: Termination = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        reaped = termination
        usage = resources
        return termination
    }

    /// The child's peak resident set in bytes (`ru_maxrss`), once it has ended.
    public var peakResidentBytes: UInt64? { usage.map { UInt64(max($0.ru_maxrss, 0)) * 1024 } }

    /// The output as lines (a last line without a newline is dropped: it was cut by the kill).
    public var lines: [Substring] {
        let text = String(decoding: output, as: UTF8.self)
        var result = text.split(separator: "\n", omittingEmptySubsequences: false)
        result.removeLast()
        return result
    }
}

/// The monotonic clock.
public enum Monotonic {
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
