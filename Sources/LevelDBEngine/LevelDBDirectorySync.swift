import KVStore
import StorageIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Makes the names of LevelDB's new files durable before a synced write is acknowledged.
///
/// LevelDB syncs its directory only when it syncs a MANIFEST. When a memtable
/// fills it creates the next log and acknowledges writes synced to it before the
/// background flush syncs the MANIFEST and the directory, so in that window a
/// power loss (POSIX rules) loses the new log's name and the acknowledged writes
/// in it. After each write in `fsync` mode the store calls `afterSyncedWrite`,
/// which syncs the directory when its change time moved since the last sync (a
/// file was created, renamed or removed), or lies within `coarseWindow` of now
/// (the kernel stamps with a coarse clock, so two changes inside one tick share a
/// stamp). Otherwise it costs one `stat` and one clock read.
final class LevelDBDirectorySync: Sendable {
    /// Changes this recent are synced whatever the stamp: a generous bound on the kernel's timestamp tick.
    static let coarseWindowNanoseconds: Int64 = 50_000_000

    private let path: String
    /// The directory's change time at the last sync, in nanoseconds since the epoch.
    private let lastSynced = Mutex<Int64>(-1)
    private let syncs = Atomic<UInt64>(0)

    init(path: String) { self.path = path }

    /// Directory syncs done so far.
    var count: UInt64 { syncs.load(ordering: .relaxed) }

    func afterSyncedWrite() throws(StoreError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .io(operation: "stat directory", path: path, errno: errno) }
        let changed = Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let now = Int64(clock.tv_sec) * 1_000_000_000 + Int64(clock.tv_nsec)
        let recent = now - changed < Self.coarseWindowNanoseconds
        try lastSynced.withLock { (last) throws(StoreError) in
            guard changed != last || recent else { return }
            try FileSystem.syncDirectory(path)
            last = changed
            syncs.add(1, ordering: .relaxed)
        }
    }
}
