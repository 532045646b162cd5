#if canImport(Glibc)
import Glibc
#endif
import BTreeEngine
@testable import KVFaults
import KVProcess
import KVStore
import LevelDBEngine
import LMDBEngine
import LSMEngine
import RocksDBEngine
import SQLiteEngine
import StorageIO
import Testing
import WiredTigerEngine

/// A small tmpfs mounted for one test (needs root and mount rights); unmounted in `deinit`.
final class SmallFileSystem {
    let path: String

    /// Mounts a tmpfs of `megabytes` on a new temporary directory; nil when that is not allowed here.
    init?(megabytes: Int) {
        guard let path = try? FileSystem.makeTemporaryDirectory(prefix: "kvfaults-tmpfs") else { return nil }
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(megabytes)m") == 0 else {
            try? FileSystem.removeTree(path)
            return nil
        }
        self.path = path
    }

    /// Grows the file system to `megabytes` (frees space without touching a file).
    func grow(to megabytes: Int) -> Bool {
        mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(megabytes)m") == 0
    }

    deinit {
        if umount2(path, 0) != 0 { umount2(path, Int32(MNT_DETACH)) }
        try? FileSystem.removeTree(path)
    }

    /// True when this process can mount a tmpfs (tried once).
    static let available: Bool = SmallFileSystem(megabytes: 1) != nil
}

/// Every engine on a real full disk (an 8 MiB tmpfs): writes until they fail, close, open again
/// while the disk is still full (the open may fail but must destroy nothing), then free space
/// and check that every acknowledged write is there with its value.
@Suite(.serialized, .enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
struct FullDiskTests {
    static func key(_ index: Int) -> Bytes { Bytes("key\(String(index + 100_000_000))".utf8) }

    static func value(_ index: Int) -> Bytes {
        (0..<1000).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0 &* 7) }
    }

    /// What the full disk did: writes acknowledged, writes failed, the reopen on the full disk, and
    /// after space was freed the acknowledged writes missing or wrong.
    struct Outcome: CustomStringConvertible {
        var acknowledged = 0
        var failed = 0
        var fullReopen = ""
        var missing = 0
        var wrong = 0
        var firstError = ""
        var description: String {
            "acknowledged \(acknowledged), failed \(failed) (first: \(firstError)), reopen on the full disk: \(fullReopen), missing \(missing), wrong \(wrong)"
        }
    }

    /// Fills the disk with `Store`, reopens it full and then with room, and checks that the writes
    /// did fail and that every acknowledged one is there with its value.
    func fill<Store: KeyValueStore>(_ type: Store.Type, records: Int = 20000, settings: [String: String] = [:]) throws {
        let disk = try #require(SmallFileSystem(megabytes: 8))
        let options = StoreOptions(directory: disk.path + "/db", durability: .os, memoryBudget: 4 << 20, settings: settings)
        var outcome = Outcome()
        var acknowledged: [Int] = []
        do {
            let store = try Store.open(options)
            var failuresAfterFirst = 0
            for index in 0..<records where failuresAfterFirst < 200 {
                do {
                    try store.put(Self.key(index), Self.value(index))
                    acknowledged.append(index)
                } catch {
                    if outcome.failed == 0 { outcome.firstError = "\(error)" }
                    outcome.failed += 1
                    failuresAfterFirst += 1
                }
            }
            try? store.close()
        }
        outcome.acknowledged = acknowledged.count
        do {
            let store = try Store.open(options)
            try? store.close()
            outcome.fullReopen = "opened"
        } catch {
            outcome.fullReopen = "failed: \(error)"
        }
        #expect(disk.grow(to: 64))
        let store = try Store.open(options)
        for index in acknowledged {
            let got = try store.get(Self.key(index))
            if got == nil { outcome.missing += 1 } else if got != Self.value(index) { outcome.wrong += 1 }
        }
        try store.close()
        print("full disk, \(Store.engineName): \(outcome)")
        #expect(outcome.failed > 0 && outcome.acknowledged > 0 && outcome.missing == 0 && outcome.wrong == 0, "\(outcome)")
        #expect(outcome.firstError.contains("No space left on device (errno 28)"), "the first failure is not ENOSPC: \(outcome.firstError)")
    }

    @Test func lsm() throws {
        try fill(LSMStore.self)
    }

    @Test func btree() throws {
        try fill(BTreeStore.self)
    }

    @Test func lmdb() throws {
        try fill(LMDBStore.self)
    }

    /// With the adapter's info log at fatal level and no WAL sync after a failed write (RocksDBStore).
    @Test func rocksdb() throws {
        try fill(RocksDBStore.self)
    }

    @Test func leveldb() throws {
        try fill(LevelDBStore.self)
    }

    @Test func sqlite() throws {
        try fill(SQLiteStore.self)
    }

    /// WiredTiger 3.2.1 panics when a log write fails and asks the process to exit, and the
    /// panicked connection keeps its lock: the store is written and opened again in children,
    /// the crash test's (`kvbench crash-worker`, which stops at its first failed write, and
    /// `kvbench crash-verify`, built beside this test binary), and the crash oracle checks that
    /// every acknowledged write is there once space is freed.
    func fillThenVerifyInChildren(engine: String) throws {
        let disk = try #require(SmallFileSystem(megabytes: 8))
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-full-\(engine)")
        defer { try? FileSystem.removeTree(work) }
        let directory = disk.path + "/db"
        let errors = work + "/stderr"
        let executable = FileSystem.canonicalPath("/proc/self/exe")
        var configuration = CrashTestConfiguration(
            engine: engine, durability: .os, mode: .process, method: .none, crashes: 1, seed: 1, workDirectory: work,
            executable: String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]) + "/kvbench")
        try #require(FileSystem.exists(configuration.executable), "kvbench is not built beside the tests")
        configuration.keySpace = 100_000
        configuration.memoryBudget = 4 << 20
        let setup = try CrashTest.verify(configuration, directory: directory, create: true, errors: errors)
        try #require(setup.openKind == "ok", "\(setup.openMessage)")

        let worker = try ChildProcess(arguments: configuration.workerArguments(directory: directory, startSequence: 1, seed: 1, powerLossAfter: nil),
                                      standardError: errors)
        if !worker.read(until: Monotonic.nanoseconds() + 120_000_000_000) { worker.killNow() }
        worker.readToEnd()
        let termination = worker.wait()
        var oracle = CrashOracle()
        let (failure, _) = oracle.apply(workerLines: worker.lines)
        let full = try CrashTest.verify(configuration, directory: directory, create: false, errors: errors)
        #expect(disk.grow(to: 64))
        let after = try CrashTest.verify(configuration, directory: directory, create: false, errors: errors)
        let findings = oracle.check(present: after.present, wrongKeys: after.wrongKeys, unreadableKeys: after.unreadableKeys, promised: true)
        print("full disk, \(engine): worker \(termination), \(oracle.highestSequence) operations, failure: \(failure ?? "none"); " +
              "open on the full disk: \(full.openKind) \(full.openMessage.prefix(300)); after: \(after.openKind), " +
              "acknowledged checked \(findings.acknowledgedChecked), lost \(findings.lost), wrong \(findings.wrongValues)")
        #expect(termination == .exited(3), "the worker did not stop at a failed write: \(termination)")
        #expect(failure?.contains("No space left on device (errno 28)") == true, "the first failure is not ENOSPC: \(failure ?? "none")")
        #expect(full.crashSignal == nil && after.crashSignal == nil)
        #expect(after.openKind == "ok" && findings.acknowledgedChecked > 0 && findings.lost == 0 && findings.wrongValues == 0,
                "\(after.openKind) \(after.openMessage); \(findings.details)")
    }

    @Test func wiredtiger() throws {
        try fillThenVerifyInChildren(engine: WiredTigerStore.engineName)
    }

    @Test func wiredtigerLSM() throws {
        try fillThenVerifyInChildren(engine: WiredTigerLSMStore.engineName)
    }
}
