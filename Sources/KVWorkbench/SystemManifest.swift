import KVResults
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Facts about the machine and the tool for a result's manifest.
public enum SystemManifest {
    /// The version of KVBench.
    public static let toolVersion = "0.1.0"

    /// Builds the manifest for a result written now.
    public static func make(engineVersions: [String: String], dataDirectory: String, command: String) -> Manifest {
        Manifest(
            tool: "kvbench",
            toolVersion: toolVersion,
            gitCommit: gitCommit(),
            engineVersions: engineVersions,
            cpuModel: cpuModel(),
            cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            memoryBytes: memoryBytes(),
            kernel: kernel(),
            dataFilesystem: filesystem(of: dataDirectory),
            startTime: ISO8601DateFormatter().string(from: Date()),
            command: command
        )
    }

    /// The commit of the source tree, from `KVBENCH_GIT_COMMIT` or by asking git in the working directory.
    public static func gitCommit() -> String {
        if let fromEnvironment = ProcessInfo.processInfo.environment["KVBENCH_GIT_COMMIT"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return "unknown"
        }
        guard process.terminationStatus == 0 else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown" : text
    }

    static func cpuModel() -> String {
        guard let text = readProcFile("/proc/cpuinfo") else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// Physical memory of the machine (`MemTotal` in `/proc/meminfo`), or 0 when unknown.
    public static func memoryBytes() -> UInt64 {
        guard let text = readProcFile("/proc/meminfo") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            if let kibibytes = UInt64(line.filter { $0.isNumber }) { return kibibytes * 1024 }
        }
        return 0
    }

    static func kernel() -> String {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return "\(field(names.sysname)) \(field(names.release)) \(field(names.machine))"
    }

    /// The filesystem type holding `path`: the type of the longest mount point in
    /// `/proc/self/mountinfo` that contains it.
    public static func filesystem(of path: String) -> String {
        guard let text = readProcFile("/proc/self/mountinfo") else { return "unknown" }
        var probe = path
        while !probe.isEmpty && !FileManager.default.fileExists(atPath: probe) {
            probe = String(probe[..<(probe.lastIndex(of: "/") ?? probe.startIndex)])
        }
        let resolved = URL(fileURLWithPath: probe.isEmpty ? "/" : probe).resolvingSymlinksInPath().path
        var best: (length: Int, type: String) = (-1, "unknown")
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            let after = halves[1].split(separator: " ")
            guard fields.count >= 5, let type = after.first else { continue }
            let mountPoint = String(fields[4])
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains && mountPoint.count > best.length { best = (mountPoint.count, String(type)) }
        }
        return best.type
    }
}
