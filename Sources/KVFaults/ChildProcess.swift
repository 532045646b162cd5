#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore

/// A child process whose standard output is a pipe read by this process.
///
/// Spawned with `posix_spawn`; standard error goes to a file so that a child's
/// complaints end up in the test's working directory, not interleaved with the report.
final class ChildProcess {
    /// How a child ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    let pid: pid_t
    private var readEnd: Int32
    private(set) var output: [UInt8] = []
    private var reaped: Termination?

    /// Starts `arguments[0]` (an absolute path) with `arguments`, adding `environment` to this process's environment.
    init(arguments: [String], environment: [String: String] = [:], standardError: String) throws(StoreError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .io(operation: "pipe", path: arguments[0], errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)

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
                posix_spawn(&child, arguments[0], &actions, nil, argv, envp)
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
    func read(until deadline: UInt64, stop: ([UInt8]) -> Bool = { _ in false }) -> Bool {
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
    func readToEnd() { read(until: .max) }

    /// Sends SIGKILL.
    func killNow() { kill(pid, SIGKILL) }

    /// Waits for the child to end.
    func wait() -> Termination {
        if let reaped { return reaped }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termination: Termination = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        reaped = termination
        return termination
    }

    /// The output as lines (a last line without a newline is dropped: it was cut by the kill).
    var lines: [Substring] {
        let text = String(decoding: output, as: UTF8.self)
        var result = text.split(separator: "\n", omittingEmptySubsequences: false)
        result.removeLast()
        return result
    }
}

/// The monotonic clock.
enum Monotonic {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
