#if canImport(Glibc)
import Glibc
#endif
import KVStore
@_spi(SyscallHook) import StorageIO
import Synchronization
import Testing

/// Records the hooked calls it sees under `root` (other suites run beside this one) and runs each real call.
private final class RecordingHook: SyscallHook {
    let root: String
    let calls = Mutex<[String]>([])

    init(root: String) { self.root = root }

    private func record(_ call: String, _ path: String) {
        guard path.hasPrefix(root) else { return }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        calls.withLock { $0.append("\(call) \(name)") }
    }

    func open(path: String, flags: Int32, _ perform: () throws(StoreError) -> Int32) throws(StoreError) -> Int32 {
        record("open", path)
        return try perform()
    }

    func write(descriptor: Int32, path: String, offset: Int, count: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        record("write \(offset) \(count)", path)
        try perform()
    }

    func truncate(descriptor: Int32, path: String, length: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        record("truncate \(length)", path)
        try perform()
    }

    func sync(descriptor: Int32, path: String, _ perform: () -> Int32) -> Int32 {
        record("sync", path)
        return perform()
    }

    func syncDirectory(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        record("sync directory", path)
        try perform()
    }

    func rename(_ source: String, to destination: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        record("rename to", destination)
        try perform()
    }

    func remove(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        record("remove", path)
        try perform()
    }
}

extension FaultLayerTests {
    /// Every state-changing call of StorageFile and FileSystem reaches an installed hook, and none after it is
    /// removed. Here, because the hook is process-wide, as the fault layer is (this replaces it for the test).
    @Test func everyStateChangingCallGoesThroughTheHook() throws {
        defer { try? finish() }
        let scratch = directory
        let hook = RecordingHook(root: scratch)
        Syscalls.install(hook)
        do {
            defer { Syscalls.install(nil) }
            let file = try StorageFile(path: scratch + "/a", mode: .createNew)
            try file.write(at: 0, Array("hello".utf8))
            try file.sync()
            try file.truncate(to: 2)
            #expect(try file.read(at: 0, count: 2) == Array("he".utf8))
            try FileSystem.rename(scratch + "/a", to: scratch + "/b")
            try FileSystem.syncDirectory(scratch)
            try FileSystem.removeFile(scratch + "/b")
        }
        let dir = scratch.split(separator: "/").last.map(String.init) ?? scratch
        #expect(hook.calls.withLock { $0 } == ["open a", "write 0 5 a", "sync a", "truncate 2 a", "rename to b", "sync directory \(dir)", "remove b"])
        let file = try StorageFile(path: scratch + "/c", mode: .createNew)
        try file.write(at: 0, [1])
        try FileSystem.removeFile(scratch + "/c")
        #expect(hook.calls.withLock { $0.count } == 7, "a removed hook sees nothing")
    }
}
