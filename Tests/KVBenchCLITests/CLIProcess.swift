import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built `kvbench` binary run as a child process, as a user runs it.
struct CLIResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
    /// True when the child ended by a signal rather than by exit.
    var signaled: Bool
}

enum CLI {
    /// `kvbench` next to the test bundle (both are built by `swift build --build-tests`), or the binary
    /// named by `KVBENCH_CLI_TEST_BINARY` (to run these tests against another build).
    static var executable: String {
        if let other = ProcessInfo.processInfo.environment["KVBENCH_CLI_TEST_BINARY"], !other.isEmpty { return other }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let me = String(decoding: buffer[0..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (me as NSString).deletingLastPathComponent + "/kvbench"
    }

    /// Starts `kvbench arguments` with standard output and error sent to files in `directory`.
    static func start(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        _ = FileManager.default.createFile(atPath: directory + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/stdout")
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr")
        try process.run()
        return process
    }

    /// Waits for a child started by `start` and collects what it printed.
    static func finish(_ process: Process, in directory: String) -> CLIResult {
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: directory + "/stdout", encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? ""
        return CLIResult(status: process.terminationStatus, standardOutput: output, standardError: errors,
                         signaled: process.terminationReason == .uncaughtSignal)
    }

    /// Runs `kvbench arguments` to its end in a fresh scratch directory (the working directory).
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let scratch = try Scratch()
        return finish(try start(arguments, in: scratch.path, environment: environment), in: scratch.path)
    }
}

/// A temporary directory removed when the value goes away.
final class Scratch {
    let path: String
    init() throws {
        var template = Array("/tmp/kvbench-cli-test-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw POSIXError(.EIO) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
