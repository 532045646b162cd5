#if canImport(Glibc)
import Glibc
#endif
import BTreeEngine
import KVStore
import LMDBEngine
import LSMEngine
import RocksDBEngine
import StorageIO
import Testing

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
    func fill<Store: KeyValueStore>(_ type: Store.Type, records: Int = 20000) throws {
        let disk = try #require(SmallFileSystem(megabytes: 8))
        let options = StoreOptions(directory: disk.path + "/db", durability: .os, memoryBudget: 4 << 20)
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
}
