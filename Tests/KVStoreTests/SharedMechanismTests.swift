#if canImport(Glibc)
import Glibc
#endif
import KVStore
import StorageIO
import Synchronization
import Testing

@Test func engineSettingsRefuseUnknownNamesAndBadValuesInOneStyle() throws {
    #expect(throws: StoreError.invalidOption(name: "x.b", reason: "unknown X setting; known: x.size, x.flag, x.mode")) {
        try EngineSettings(["x.size": "7", "x.b": "1", "x.c": "2"], engine: "X", known: ["x.size", "x.flag", "x.mode"])
    }
    #expect(throws: StoreError.invalidOption(name: "y.a", reason: "unknown Y setting; Y has no engine-specific settings")) {
        try EngineSettings(["y.a": "1"], engine: "Y", known: [])
    }
    let settings = try EngineSettings(["x.size": "4096", "x.flag": "true", "x.mode": "close"], engine: "X",
                                      known: ["x.size", "x.flag", "x.mode", "x.unset"])
    #expect(try settings.integer("x.size", in: 512...32768, powerOfTwo: true) == 4096)
    #expect(try settings.integer("x.unset", in: 1...2) == nil)
    #expect(try settings.flag("x.flag") == true)
    #expect(try settings.choice("x.mode", of: ["open", "close"]) == "close")
    #expect(throws: StoreError.invalidOption(name: "x.size", reason: "expected an integer in 1...100, got 4096")) {
        try settings.integer("x.size", in: 1...100)
    }
    #expect(throws: StoreError.invalidOption(name: "x.size", reason: "expected an integer of at least 8192, got 4096")) {
        try settings.integer("x.size", in: 8192...Int.max)
    }
    let odd = try EngineSettings(["x.size": "3000", "x.flag": "yes", "x.mode": "half"], engine: "X", known: ["x.size", "x.flag", "x.mode"])
    #expect(throws: StoreError.invalidOption(name: "x.size", reason: "expected a power of two in 512...32768, got 3000")) {
        try odd.integer("x.size", in: 512...32768, powerOfTwo: true)
    }
    #expect(throws: StoreError.invalidOption(name: "x.flag", reason: "expected true or false, got yes")) { try odd.flag("x.flag") }
    #expect(throws: StoreError.invalidOption(name: "x.mode", reason: "expected one of open, close, got half")) {
        try odd.choice("x.mode", of: ["open", "close"])
    }
    #expect(EngineSettings.split("lsm.block_bytes=4096=x") == ("lsm.block_bytes", "4096=x"))
    #expect(EngineSettings.split("flag") == ("flag", ""))
    #expect(EngineSettings.split("=") == ("", ""))
}

@Test func databaseDirectoryCheckWithCompanionsIsStrict() throws {
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-dir-test")
    defer { try? FileSystem.removeTree(scratch) }
    func prepare(_ path: String, create: Bool = true) throws(StoreError) -> Bool {
        try FileSystem.prepareDatabaseDirectory(path, createIfMissing: create, marker: "main.db", engine: "Test engine",
                                                companions: ["main.wal"], companionsName: "log files", strict: true)
    }
    let directory = scratch + "/db"
    #expect(try prepare(directory) == false)
    _ = try DirectoryLock(directory: directory)
    #expect(throws: StoreError.notFound(path: directory)) { try prepare(directory, create: false) }
    _ = try StorageFile(path: directory + "/main.wal", mode: .createNew)
    #expect(throws: StoreError.corruption(path: directory, reason: "log files exist but main.db is missing")) { try prepare(directory) }
    _ = try StorageFile(path: directory + "/main.db", mode: .createNew)
    #expect(try prepare(directory, create: false) == true)
    _ = try StorageFile(path: directory + "/data.mdb", mode: .createNew)
    #expect(throws: StoreError.notADatabase(path: directory, reason: "it holds data.mdb, which is not a Test engine file")) {
        try prepare(directory)
    }
}

/// One slot per thread: the same object on every call of one thread, another on another thread.
@Test func perThreadSlotsGiveEachThreadItsOwnSlot() throws {
    final class Slot: Sendable {}
    final class Seen: Sendable {
        let made = Atomic<Int>(0)
        let otherThreads = Mutex<Slot?>(nil)
        func make() -> Slot {
            made.add(1, ordering: .relaxed)
            return Slot()
        }
    }
    let slots = try PerThreadSlots<Slot>(path: "test")
    let seen = Seen()
    let first = slots.slot { seen.make() }
    #expect(slots.slot { seen.make() } === first)
    let thread = OSThread.start {
        let slot = slots.slot { seen.make() }
        seen.otherThreads.withLock { $0 = slot }
    }
    thread.join()
    let second = try #require(seen.otherThreads.withLock { $0 })
    #expect(second !== first)
    #expect(seen.made.load(ordering: .relaxed) == 2)
    #expect(slots.all.count == 2)
    slots.close()
    #expect(slots.all.isEmpty)
}
