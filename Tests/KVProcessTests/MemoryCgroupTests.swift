import Foundation
import Testing
@testable import KVProcess

/// Mount lines as `/proc/self/mountinfo` writes them.
private let v1MemoryMount = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"
private let v2Mount = "35 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw"

/// A fake cgroup tree in a temporary directory; `body` gets its root.
private func withFakeTree(_ directories: [String], files: [String: String] = [:], _ body: (String) throws -> Void) throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-cgroup-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    for directory in directories { try FileManager.default.createDirectory(atPath: root + directory, withIntermediateDirectories: true) }
    for (path, text) in files { try text.write(toFile: root + path, atomically: false, encoding: .utf8) }
    try body(root)
}

@Test func aV1MemoryGroupBelowOurOwnIsFound() throws {
    try withFakeTree(["/sys/fs/cgroup/memory/jobs/42"]) { root in
        let found = MemoryCgroup.availability(membership: "4:memory:/jobs/42\n0::/\n", mounts: v1MemoryMount + "\n", root: root)
        guard case .available(let parent, let version) = found else { Issue.record("expected a v1 group, got \(found)"); return }
        #expect(version == .v1)
        #expect(parent == root + "/sys/fs/cgroup/memory/jobs/42")
    }
}

@Test func aV2GroupWithTheMemoryControllerIsPreferred() throws {
    try withFakeTree(["/sys/fs/cgroup/unified/user/7", "/sys/fs/cgroup/memory/user/7"],
                     files: ["/sys/fs/cgroup/unified/user/7/cgroup.controllers": "cpu io memory pids\n",
                             "/sys/fs/cgroup/unified/user/7/cgroup.subtree_control": "memory\n"]) { root in
        let found = MemoryCgroup.availability(membership: "4:memory:/user/7\n0::/user/7\n", mounts: v1MemoryMount + "\n" + v2Mount + "\n", root: root)
        guard case .available(let parent, let version) = found else { Issue.record("expected a v2 group, got \(found)"); return }
        #expect(version == .v2)
        #expect(parent == root + "/sys/fs/cgroup/unified/user/7")
    }
}

@Test func withoutAMemoryControllerTheLimitIsNotAvailableAndSaysWhy() throws {
    try withFakeTree(["/sys/fs/cgroup/unified"], files: ["/sys/fs/cgroup/unified/cgroup.controllers": "cpu io pids\n"]) { root in
        let found = MemoryCgroup.availability(membership: "0::/\n", mounts: v2Mount + "\n", root: root)
        guard case .unavailable(let reason) = found else { Issue.record("expected no group, got \(found)"); return }
        #expect(reason.contains("no memory controller"))
        #expect(reason.contains("no cgroup v1 memory controller is mounted"))
    }
}
