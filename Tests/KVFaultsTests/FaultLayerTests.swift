#if canImport(Glibc)
import Glibc
#endif
import KVStore
import StorageFaults
import StorageIO
import Testing
@testable import KVFaults

/// Reads a whole file, or nil when it does not exist.
func contents(_ path: String) throws -> String? {
    guard FileSystem.exists(path) else { return nil }
    let file = try StorageFile(path: path, mode: .readOnly)
    return String(decoding: try file.read(at: 0, count: try file.size()), as: UTF8.self)
}

/// Creates a file with `text`, synced, and syncs its directory.
func durableFile(_ path: String, _ text: String) throws {
    let file = try StorageFile(path: path, mode: .createNew)
    try file.write(at: 0, Array(text.utf8))
    try file.sync()
    try FileSystem.syncDirectory(String(path[..<path.lastIndex(of: "/")!]))
}

/// Everything that uses the process-wide fault layer runs one test at a time.
@Suite(.serialized)
struct FaultLayerTests {
    let directory: String

    init() throws {
        directory = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-layer")
        try FaultInjection.enable(root: directory, graveyard: directory + ".graveyard")
    }

    func finish() throws {
        FaultInjection.disable()
        try FileSystem.removeTree(directory)
        try FileSystem.removeTree(directory + ".graveyard")
    }

    @Test func unsyncedTailAndOverwriteAreDropped() throws {
        let path = directory + "/a"
        try durableFile(path, "hello world")
        let file = try StorageFile(path: path, mode: .readWrite)
        try file.write(at: 0, Array("HELLO".utf8))
        try file.write(at: 11, Array(" and more".utf8))
        #expect(try contents(path) == "HELLO world and more")
        FaultInjection.simulatePowerLoss()
        #expect(try contents(path) == "hello world")
        #expect(throws: StoreError.self) { try file.write(at: 0, Array("x".utf8)) }
        try finish()
    }

    @Test func syncedDataSurvives() throws {
        let path = directory + "/a"
        try durableFile(path, "one")
        let file = try StorageFile(path: path, mode: .readWrite)
        try file.write(at: 3, Array(" two".utf8))
        try file.sync()
        try file.write(at: 7, Array(" three".utf8))
        FaultInjection.simulatePowerLoss()
        #expect(try contents(path) == "one two")
        try finish()
    }

    @Test func tornTailKeepsAPrefixOfTheUnsyncedBytes() throws {
        var lengths: Set<Int> = []
        for seed in 1...12 as ClosedRange<UInt64> {
            try FaultInjection.enable(root: directory, graveyard: directory + ".graveyard")
            let path = directory + "/log\(seed)"
            try durableFile(path, "abc")
            let file = try StorageFile(path: path, mode: .readWrite)
            try file.write(at: 3, Array("DEFGHIJ".utf8))
            FaultInjection.keepTornTails(seed: seed)
            FaultInjection.simulatePowerLoss()
            let text = try #require(try contents(path))
            #expect(text.hasPrefix("abc") && "abcDEFGHIJ".hasPrefix(text), "\(text)")
            lengths.insert(text.count)
        }
        #expect(lengths.contains(3))
        #expect(lengths.count > 1)
        try finish()
    }

    @Test func newFileNeedsDirectorySync() throws {
        let lost = directory + "/lost"
        let kept = directory + "/kept"
        let first = try StorageFile(path: lost, mode: .createNew)
        try first.write(at: 0, Array("data".utf8))
        try first.sync()
        let second = try StorageFile(path: kept, mode: .createNew)
        try second.write(at: 0, Array("data".utf8))
        try second.sync()
        try FileSystem.syncDirectory(directory)
        let third = try StorageFile(path: directory + "/late", mode: .createOrOpen)
        try third.write(at: 0, Array("late".utf8))
        try third.sync()
        FaultInjection.simulatePowerLoss()
        #expect(try contents(kept) == "data")
        #expect(try contents(lost) == "data")
        #expect(try contents(directory + "/late") == nil)
        try finish()
    }

    @Test func renameAndRemoveNeedDirectorySync() throws {
        let target = directory + "/CURRENT"
        let doomed = directory + "/old"
        try durableFile(target, "version 1")
        try durableFile(doomed, "old data")
        let temporary = directory + "/CURRENT.tmp"
        let file = try StorageFile(path: temporary, mode: .createNew)
        try file.write(at: 0, Array("version 2".utf8))
        try file.sync()
        try FileSystem.rename(temporary, to: target)
        try FileSystem.removeFile(doomed)
        #expect(try contents(target) == "version 2")
        #expect(try contents(doomed) == nil)
        FaultInjection.simulatePowerLoss()
        #expect(try contents(target) == "version 1")
        #expect(try contents(doomed) == "old data")
        #expect(try contents(temporary) == nil)
        try finish()
    }

    @Test func renameWithDirectorySyncIsDurable() throws {
        let target = directory + "/CURRENT"
        try durableFile(target, "version 1")
        let temporary = directory + "/CURRENT.tmp"
        let file = try StorageFile(path: temporary, mode: .createNew)
        try file.write(at: 0, Array("version 2".utf8))
        try file.sync()
        try FileSystem.rename(temporary, to: target)
        try FileSystem.syncDirectory(directory)
        FaultInjection.simulatePowerLoss()
        #expect(try contents(target) == "version 2")
        try finish()
    }

    @Test func failedSyncIsFinalAndDropsUnsyncedData() throws {
        let path = directory + "/wal"
        try durableFile(path, "acknowledged;")
        let file = try StorageFile(path: path, mode: .readWrite)
        try file.write(at: 13, Array("pending;".utf8))
        FaultInjection.inject(.init(operation: .sync, errno: EIO))
        #expect(throws: StoreError.io(operation: "fdatasync", path: path, errno: EIO)) { try file.sync() }
        // Linux may drop the dirty pages: the unsynced bytes are gone, and a retry must not succeed.
        #expect(try contents(path) == "acknowledged;")
        #expect(throws: StoreError.io(operation: "fdatasync", path: path, errno: EIO)) { try file.sync() }
        #expect(throws: StoreError.self) { try file.write(at: 13, Array("again".utf8)) }
        #expect(FaultInjection.injectedFailures == 1)
        try finish()
    }

    @Test func injectedWriteErrorWritesNothing() throws {
        let path = directory + "/table"
        try durableFile(path, "abc")
        let file = try StorageFile(path: path, mode: .readWrite)
        FaultInjection.inject(.init(operation: .write, errno: ENOSPC, skip: 1, pathContains: "table"))
        try file.write(at: 3, Array("d".utf8))
        #expect(throws: StoreError.io(operation: "pwrite (injected)", path: path, errno: ENOSPC)) { try file.write(at: 4, Array("e".utf8)) }
        try file.write(at: 4, Array("f".utf8))
        #expect(try contents(path) == "abcdf")
        FaultInjection.inject(.init(operation: .syncDirectory, errno: EIO))
        #expect(throws: StoreError.self) { try FileSystem.syncDirectory(directory) }
        try finish()
    }

    @Test func inProcessCrashTestFindsNoLossWithFsync() throws {
        let report = try CrashTest.runInProcess(LogStore.self, directory: directory + "/db", durability: .fsync,
                                                rounds: 6, operationsPerRound: 150, seed: 11)
        #expect(report.recoveries == 6)
        #expect(report.acknowledgedChecked > 0)
        #expect(report.lost == 0)
        #expect(report.wrongValues == 0)
        #expect(report.holes == 0)
        #expect(report.tornBatches == 0)
        #expect(report.status == "pass")
        try finish()
    }

    /// The negative control: `os` durability only reaches the page cache, so a power loss
    /// must lose acknowledged writes; an oracle that saw nothing here would be blind.
    @Test func negativeControlPowerLossWithOSDurabilityLosesWrites() throws {
        let report = try CrashTest.runInProcess(LogStore.self, directory: directory + "/db", durability: .os,
                                                rounds: 4, operationsPerRound: 150, seed: 12)
        #expect(report.recoveries == 4)
        #expect(report.lost > 0)
        #expect(report.wrongValues == 0)
        #expect(report.holes == 0)
        #expect(report.status == "losses allowed")
        #expect(!report.promised)
        try finish()
    }

    /// With an fsync that fails, the write is not acknowledged, and the store never retries and trusts it.
    @Test func failedFsyncIsNotAcknowledged() throws {
        let db = directory + "/db"
        let options = StoreOptions(directory: db, durability: .fsync)
        let store = try LogStore.open(options)
        try store.put(Array("k1".utf8), Array("v1".utf8))
        FaultInjection.inject(.init(operation: .sync, errno: EIO, pathContains: "/log"))
        #expect(throws: StoreError.self) { try store.put(Array("k2".utf8), Array("v2".utf8)) }
        #expect(throws: StoreError.self) { try store.put(Array("k3".utf8), Array("v3".utf8)) }
        FaultInjection.simulatePowerLoss()
        _ = try? store.close()
        FaultInjection.disable()
        let reopened = try LogStore.open(options)
        #expect(try reopened.get(Array("k1".utf8)) == Array("v1".utf8))
        #expect(try reopened.get(Array("k3".utf8)) == nil)
        try reopened.close()
        try finish()
    }
}

extension FaultLayerTests {
    @Test(arguments: [
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 40, count: 1_000_000),
        FaultInjection.Fault(operation: .write, errno: EIO, skip: 25),
        FaultInjection.Fault(operation: .sync, errno: EIO, skip: 30),
    ])
    func ioErrorsLoseNothingAcknowledged(fault: FaultInjection.Fault) throws {
        let outcome = try IOErrorTest.run(LogStore.self, directory: directory + "/db", fault: fault)
        #expect(outcome.passed, "\(outcome)")
        #expect(outcome.acknowledged > 0)
        try finish()
    }
}
