#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// A memory cgroup created below this process's own cgroup, for one child
/// process: cgroup v2 (`memory.max`) where the memory controller is available
/// there, else cgroup v1 (`memory.limit_in_bytes`). Page cache the child causes
/// is charged to it as well as its heap, so the limit bounds both.
/// `remove()` (or deinit) kills what is left in it and removes the directory.
public final class MemoryCgroup {
    /// Which cgroup interface holds the group.
    public enum Version: String, Sendable { case v1, v2 }

    /// Where a memory cgroup can be created, or why not.
    public enum Availability: Sendable {
        case available(parent: String, version: Version)
        case unavailable(reason: String)
    }

    /// Memory use sampled from the group.
    public struct Usage: Sendable {
        public var currentBytes: UInt64
        public var anonymousBytes: UInt64?
        public var fileBytes: UInt64?
    }

    public let path: String
    public let version: Version
    public let limitBytes: UInt64
    private var removed = false

    /// Finds this process's memory cgroup and checks that a group can be created below it.
    public static func availability() -> Availability {
        guard let membership = readText("/proc/self/cgroup"), let mounts = readText("/proc/self/mountinfo") else {
            return .unavailable(reason: "/proc/self/cgroup or /proc/self/mountinfo cannot be read")
        }
        return availability(membership: membership, mounts: mounts)
    }

    /// The same decision from the texts of `/proc/self/cgroup` and `/proc/self/mountinfo`,
    /// with the cgroup file systems looked up below `root` (a test's fake tree; "" for the real one).
    static func availability(membership: String, mounts: String, root: String = "") -> Availability {
        var v1Path: String?, v2Path: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { v2Path = String(fields[2]) }
            if fields[1].split(separator: ",").contains("memory") { v1Path = String(fields[2]) }
        }
        var v1Mount: String?, v2Mount: String?
        for line in mounts.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            if right[0] == "cgroup2" { v2Mount = mountPoint }
            if right[0] == "cgroup", right[2].split(separator: ",").contains("memory") { v1Mount = mountPoint }
        }
        var reasons: [String] = []
        if let v2Mount, let v2Path {
            let parent = root + v2Mount + (v2Path == "/" ? "" : v2Path)
            let controllers = readText(parent + "/cgroup.controllers") ?? ""
            if controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory") {
                let subtree = readText(parent + "/cgroup.subtree_control") ?? ""
                if subtree.contains("memory") || writeText(parent + "/cgroup.subtree_control", "+memory") {
                    if access(parent, W_OK) == 0 { return .available(parent: parent, version: .v2) }
                    reasons.append("cgroup v2 group \(parent) is not writable")
                } else {
                    reasons.append("the memory controller cannot be enabled below cgroup v2 group \(parent)")
                }
            } else {
                reasons.append("cgroup v2 at \(v2Mount) has no memory controller for this process")
            }
        }
        if let v1Mount, let v1Path {
            let parent = root + v1Mount + (v1Path == "/" ? "" : v1Path)
            if access(parent, W_OK) == 0 { return .available(parent: parent, version: .v1) }
            reasons.append("cgroup v1 memory group \(parent) is not writable by this user")
        } else {
            reasons.append("no cgroup v1 memory controller is mounted")
        }
        return .unavailable(reason: reasons.joined(separator: "; "))
    }

    /// Creates `<parent>/<name>` with the limit; nil and a reason when the kernel refuses.
    public static func create(parent: String, version: Version, name: String, limitBytes: UInt64) -> Result<MemoryCgroup, CgroupError> {
        let path = parent + "/" + name
        guard mkdir(path, 0o755) == 0 else {
            return .failure(CgroupError(description: "cannot create memory cgroup \(path): \(String(cString: strerror(errno)))"))
        }
        let group = MemoryCgroup(path: path, version: version, limitBytes: limitBytes)
        let file = version == .v2 ? "memory.max" : "memory.limit_in_bytes"
        guard writeText(path + "/" + file, String(limitBytes)) else {
            let reason = String(cString: strerror(errno))
            group.remove()
            return .failure(CgroupError(description: "cannot set \(path)/\(file): \(reason)"))
        }
        if version == .v2 { _ = writeText(path + "/memory.swap.max", "0") }
        return .success(group)
    }

    private init(path: String, version: Version, limitBytes: UInt64) {
        self.path = path
        self.version = version
        self.limitBytes = limitBytes
    }

    deinit { remove() }

    /// Moves `pid` into the group; true on success.
    public static func join(path: String, pid: pid_t) -> Bool { writeText(path + "/cgroup.procs", String(pid)) }

    /// The highest usage the kernel recorded (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`).
    public var peakBytes: UInt64? {
        readNumber(path + (version == .v2 ? "/memory.peak" : "/memory.max_usage_in_bytes"))
    }

    /// How often the limit was hit (v1 `memory.failcnt`, v2 `max` of `memory.events`).
    public var limitHits: UInt64? {
        if version == .v1 { return readNumber(path + "/memory.failcnt") }
        return statField(Self.readText(path + "/memory.events"), "max")
    }

    /// The group was OOM-killed at least once (v2 `oom_kill` of `memory.events`, v1 `oom_kill` of `memory.oom_control`).
    public var oomKills: UInt64? {
        statField(Self.readText(path + (version == .v2 ? "/memory.events" : "/memory.oom_control")), "oom_kill")
    }

    /// Current usage, with anonymous and file-backed parts from `memory.stat` (v1 `rss`/`cache`, v2 `anon`/`file`).
    public func usage() -> Usage? {
        guard let current = readNumber(path + (version == .v2 ? "/memory.current" : "/memory.usage_in_bytes")) else { return nil }
        let stat = Self.readText(path + "/memory.stat")
        return Usage(currentBytes: current,
                     anonymousBytes: statField(stat, version == .v2 ? "anon" : "rss"),
                     fileBytes: statField(stat, version == .v2 ? "file" : "cache"))
    }

    /// Kills any process left in the group, waits for it to leave, and removes the directory.
    public func remove() {
        guard !removed else { return }
        removed = true
        for _ in 0..<200 {
            let members = (Self.readText(path + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
            if members.isEmpty { break }
            for member in members { kill(member, SIGKILL) }
            usleep(10_000)
        }
        for _ in 0..<100 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(10_000)
        }
    }

    private func statField(_ text: String?, _ name: String) -> UInt64? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return UInt64(parts[1]) }
        }
        return nil
    }

    private func readNumber(_ file: String) -> UInt64? {
        Self.readText(file).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func readText(_ file: String) -> String? {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func writeText(_ file: String, _ text: String) -> Bool {
        let fd = open(file, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { write(fd, $0, strlen($0)) } == text.utf8.count
    }
}

/// Why a memory cgroup could not be set up, in one sentence.
public struct CgroupError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
