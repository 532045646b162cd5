#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
@_spi(SyscallHook) import StorageIO
import Synchronization

/// A fault-injecting layer under `StorageFile` and `FileSystem`, for crash tests
/// of the engines that do their I/O through StorageIO: a `SyscallHook` installed
/// by `enable` and removed by `disable`. Engines never import this module.
///
/// When on, it tracks what is not yet durable: per file (by inode) the length
/// at its last sync and the original bytes of every overwrite of synced data;
/// per directory the creations, renames and removals since its last directory
/// sync (a removed or replaced file is moved to a graveyard directory instead
/// of being deleted, so it can come back). A simulated power loss undoes all of
/// that: unsynced directory changes are reverted newest first (new files
/// disappear, renames go back, removed files return), then every file is cut
/// to its last synced length and its unsynced overwrites are reverted.
///
/// It can also fail writes, file syncs and directory syncs with a chosen errno
/// (ENOSPC, EIO). A failed file sync drops that file's unsynced data, as Linux
/// may after a failed fsync, so a retried sync that "succeeds" proves nothing.
public enum FaultInjection {
    /// An operation that can be made to fail.
    public enum Operation: Sendable, Hashable {
        case write
        case sync
        case syncDirectory
    }

    /// A rule: let `skip` matching calls through, then fail the next `count` with `errno`.
    public struct Fault: Sendable, Hashable {
        public var operation: Operation
        public var errno: Int32
        public var skip: Int
        public var count: Int
        /// Only calls on paths containing this text match (all when nil).
        public var pathContains: String?

        public init(operation: Operation, errno: Int32, skip: Int = 0, count: Int = 1, pathContains: String? = nil) {
            self.operation = operation
            self.errno = errno
            self.skip = skip
            self.count = count
            self.pathContains = pathContains
        }
    }

    private struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private struct InodeState {
        var durableLength: Int
        var undo: [(offset: Int, bytes: [UInt8])] = []
    }

    private enum DirectoryChange {
        case created(path: String)
        case renamed(source: String, destination: String, replaced: String?)
        case removed(path: String, grave: String)

        var directories: Set<String> {
            switch self {
            case .created(let path), .removed(let path, _): return [parent(of: path)]
            case .renamed(let source, let destination, _): return [parent(of: source), parent(of: destination)]
            }
        }
    }

    private struct PendingChange {
        var change: DirectoryChange
        var unsyncedDirectories: Set<String>
    }

    private struct State {
        var graveyard = ""
        var roots: [String] = []
        var graves = 0
        var inodes: [InodeKey: InodeState] = [:]
        var changes: [PendingChange] = []
        var faults: [Fault] = []
        var directories: Set<String> = []
        var poweredOff = false
        var injectedFailures = 0
        var crashOneIn: UInt64 = 0
        var crashRandom = SplitMix64(seed: 0)
        var tornTails = false
        var onCrash: (@Sendable (String) -> Void)?
    }

    private static let inFlight = Atomic<Int>(0)
    private static let state = Mutex(State())
    private static let hook = Hook()

    /// Turns the layer on for files under `root` (other paths are left alone, so
    /// unrelated code in the same process is unaffected). Files that exist now count as
    /// durable. `graveyard` becomes an empty directory, on the same file system as
    /// `root` and outside it, that holds removed files.
    public static func enable(root: String, graveyard: String) throws(StoreError) {
        disable()
        try FileSystem.removeTree(graveyard)
        try FileSystem.createDirectory(graveyard)
        try FileSystem.createDirectory(root)
        state.withLock { state in
            state = State()
            state.graveyard = FileSystem.canonicalPath(graveyard)
            let trimmed = root.hasSuffix("/") ? String(root.dropLast()) : root
            state.roots = [trimmed, FileSystem.canonicalPath(trimmed)]
        }
        Syscalls.install(hook)
    }

    /// Turns the layer off and forgets everything it tracked (files stay as they are).
    public static func disable() {
        Syscalls.install(nil)
        state.withLock { $0 = State() }
    }

    /// Adds an error rule.
    public static func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// Arms crash points: before every write, truncate, sync, directory sync, rename and
    /// removal, and after every sync, directory sync and rename, a power loss happens (and the
    /// process is killed) with probability 1/`oneIn` on log files (names ending in `.log` or
    /// containing `wal`) and 40 times that on every other file and on directories, so that
    /// the rarer background work (tables, pages, manifests, renames) is hit too. `onCrash` gets the point's name first
    /// (for example `after fsync 000012.log`). Points fire during recovery too.
    public static func armCrashPoints(oneIn: Int, seed: UInt64, onCrash: @escaping @Sendable (String) -> Void) {
        state.withLock { state in
            state.crashOneIn = UInt64(max(oneIn, 1))
            state.crashRandom = SplitMix64(seed: seed)
            state.onCrash = onCrash
        }
    }

    /// Makes later power losses keep, for each file with probability 1/2, a random-length
    /// prefix of the bytes appended past its last synced length (a torn tail: the cut may
    /// fall inside a record) instead of cutting all of them.
    public static func keepTornTails(seed: UInt64) {
        state.withLock { state in
            state.tornTails = true
            if state.crashRandom.state == 0 { state.crashRandom = SplitMix64(seed: seed) }
        }
    }

    private static func nextRandom(_ state: inout State) -> UInt64 { state.crashRandom.next() }

    /// Called at a crash point with the lock held: maybe the power goes out here.
    private static func crashPoint(_ state: inout State, _ point: String, _ path: String) {
        guard state.crashOneIn > 0, !state.poweredOff else { return }
        let z = nextRandom(&state)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lower = name.lowercased()
        let isLog = lower.hasSuffix(".log") || lower.contains("wal")
        let chance = isLog ? state.crashOneIn : max(state.crashOneIn / 40, 2)
        guard z % chance == 0 else { return }
        state.onCrash?("\(point) \(name)")
        waitForCallsInFlight()
        revertEverything(&state)
        state.poweredOff = true
        kill(getpid(), SIGKILL)
        while true { pause() }
    }

    /// How many calls failed because of a rule.
    public static var injectedFailures: Int { state.withLock { $0.injectedFailures } }

    /// Simulates a power loss now: every change that was not made durable is undone
    /// on disk, and every later write or sync through StorageIO fails with EIO (the
    /// machine is off) until `disable()`. Open stores must be abandoned, not used.
    public static func simulatePowerLoss() {
        state.withLock { state in
            waitForCallsInFlight()
            revertEverything(&state)
            state.poweredOff = true
        }
    }

    /// Simulates a power loss and kills this process with SIGKILL while holding the
    /// layer's lock, so no other thread can write after the power loss.
    public static func powerLossAndKill() -> Never {
        state.withLock { state in
            waitForCallsInFlight()
            revertEverything(&state)
            state.poweredOff = true
            kill(getpid(), SIGKILL)
        }
        while true { pause() }
    }

    private static func waitForCallsInFlight() {
        while inFlight.load(ordering: .acquiring) > 0 { sched_yield() }
    }

    private static func inScope(_ state: State, _ path: String) -> Bool {
        for root in state.roots where path == root || path.hasPrefix(root + "/") { return true }
        return false
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func key(_ descriptor: Int32) -> InodeKey? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return InodeKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    private static func key(path: String) -> InodeKey? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return InodeKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    private static func size(_ descriptor: Int32) -> Int {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Consumes a matching rule; returns its errno.
    private static func matchFault(_ state: inout State, _ operation: Operation, path: String) -> Int32? {
        for index in state.faults.indices {
            let fault = state.faults[index]
            guard fault.operation == operation, fault.count > 0 else { continue }
            if let text = fault.pathContains, !path.contains(text) { continue }
            if fault.skip > 0 {
                state.faults[index].skip -= 1
                continue
            }
            state.faults[index].count -= 1
            state.injectedFailures += 1
            return fault.errno
        }
        return nil
    }

    private static func moveToGrave(_ state: inout State, _ path: String) -> String? {
        state.graves += 1
        let grave = "\(state.graveyard)/\(state.graves)"
        return Glibc.rename(path, grave) == 0 ? grave : nil
    }

    // MARK: the hooks, called by StorageIO through `Hook` while the layer is on

    /// The layer as StorageIO sees it: each call runs the static hooks around the real one.
    private final class Hook: SyscallHook {
        func open(path: String, flags: Int32, _ perform: () throws(StoreError) -> Int32) throws(StoreError) -> Int32 {
            let keepsContents = flags & O_CREAT != 0 && flags & O_EXCL == 0
            let existed = keepsContents ? FileSystem.exists(path) : true
            let fd = try perform()
            FaultInjection.didOpen(path: path, descriptor: fd, created: flags & O_EXCL != 0 || !existed)
            return fd
        }

        func write(descriptor: Int32, path: String, offset: Int, count: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
            let tracked = try beginWrite(descriptor: descriptor, path: path, offset: offset, count: count)
            defer { if tracked { endCall() } }
            try perform()
        }

        func truncate(descriptor: Int32, path: String, length: Int, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
            let tracked = try beginTruncate(descriptor: descriptor, path: path, length: length)
            defer { if tracked { endCall() } }
            try perform()
        }

        func sync(descriptor: Int32, path: String, _ perform: () -> Int32) -> Int32 {
            if let injected = syncFailure(descriptor: descriptor, path: path) { return injected }
            let code = perform()
            if code == 0 { didSync(descriptor: descriptor, path: path) }
            return code
        }

        func syncDirectory(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
            if let code = directorySyncFailure(path: path) { throw .io(operation: "fsync directory", path: path, errno: code) }
            try perform()
            didSyncDirectory(path: path)
        }

        func rename(_ source: String, to destination: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
            try FaultInjection.rename(source, to: destination, perform)
        }

        func remove(path: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
            if try !FaultInjection.remove(path) { try perform() }
        }
    }

    private static func didOpen(path: String, descriptor: Int32, created: Bool) {
        state.withLock { state in
            guard inScope(state, path) else { return }
            state.directories.insert(parent(of: path))
            guard let key = key(descriptor) else { return }
            if created {
                state.inodes[key] = InodeState(durableLength: 0)
                let directory = parent(of: path)
                state.changes.append(PendingChange(change: .created(path: path), unsyncedDirectories: [directory]))
            }
        }
    }

    /// Before a write of `count` bytes at `offset`: may fail it; saves synced bytes it overwrites.
    /// Returns true when the file is in scope; then the caller must call `endCall()` after the write.
    private static func beginWrite(descriptor: Int32, path: String, offset: Int, count: Int) throws(StoreError) -> Bool {
        try state.withLock { (state) throws(StoreError) -> Bool in
            guard inScope(state, path) else { return false }
            if state.poweredOff { throw .io(operation: "pwrite (simulated power loss)", path: path, errno: EIO) }
            if let code = matchFault(&state, .write, path: path) { throw .io(operation: "pwrite (injected)", path: path, errno: code) }
            crashPoint(&state, "before write", path)
            state.directories.insert(parent(of: path))
            guard let key = key(descriptor) else { return true }
            var inode = state.inodes[key] ?? InodeState(durableLength: size(descriptor))
            let end = min(offset + count, inode.durableLength)
            if offset < end {
                var original = [UInt8](repeating: 0, count: end - offset)
                let got = original.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
                if got > 0 { inode.undo.append((offset, Array(original.prefix(got)))) }
            }
            state.inodes[key] = inode
            inFlight.add(1, ordering: .acquiring)
            return true
        }
    }

    /// Before a truncate to `length`: saves the synced bytes it cuts off.
    /// Returns true when the file is in scope; then the caller must call `endCall()` after it.
    private static func beginTruncate(descriptor: Int32, path: String, length: Int) throws(StoreError) -> Bool {
        try state.withLock { (state) throws(StoreError) -> Bool in
            guard inScope(state, path) else { return false }
            if state.poweredOff { throw .io(operation: "ftruncate (simulated power loss)", path: path, errno: EIO) }
            crashPoint(&state, "before truncate", path)
            state.directories.insert(parent(of: path))
            guard let key = key(descriptor) else { return true }
            var inode = state.inodes[key] ?? InodeState(durableLength: size(descriptor))
            if length < inode.durableLength {
                var original = [UInt8](repeating: 0, count: inode.durableLength - length)
                let got = original.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(length)) }
                if got > 0 { inode.undo.append((length, Array(original.prefix(got)))) }
            }
            state.inodes[key] = inode
            inFlight.add(1, ordering: .acquiring)
            return true
        }
    }

    /// Ends a call started by `beginWrite` or `beginTruncate`.
    private static func endCall() {
        inFlight.subtract(1, ordering: .releasing)
    }

    /// Before a file sync: returns an injected errno (and drops the file's unsynced data, as Linux may), or nil.
    private static func syncFailure(descriptor: Int32, path: String) -> Int32? {
        state.withLock { state in
            guard inScope(state, path) else { return nil }
            if state.poweredOff { return EIO }
            crashPoint(&state, "before fsync", path)
            guard let code = matchFault(&state, .sync, path: path) else { return nil }
            if let key = key(descriptor), let inode = state.inodes[key] {
                revert(inode, descriptor: descriptor)
                state.inodes[key]?.undo = []
            }
            return code
        }
    }

    /// After a successful file sync: the file's current content is durable.
    private static func didSync(descriptor: Int32, path: String) {
        state.withLock { state in
            guard inScope(state, path), let key = key(descriptor) else { return }
            state.inodes[key] = InodeState(durableLength: size(descriptor))
            crashPoint(&state, "after fsync", path)
        }
    }

    /// Before a directory sync: returns an injected errno, or nil.
    private static func directorySyncFailure(path: String) -> Int32? {
        state.withLock { state in
            guard inScope(state, path) else { return nil }
            if state.poweredOff { return EIO }
            crashPoint(&state, "before directory fsync", path)
            return matchFault(&state, .syncDirectory, path: path)
        }
    }

    /// After a successful directory sync: its pending entries are durable.
    private static func didSyncDirectory(path: String) {
        let directory = FileSystem.canonicalPath(path)
        state.withLock { state in
            for index in state.changes.indices {
                state.changes[index].unsyncedDirectories = state.changes[index].unsyncedDirectories.filter {
                    FileSystem.canonicalPath($0) != directory
                }
            }
            state.changes.removeAll { $0.unsyncedDirectories.isEmpty }
            if inScope(state, path) { crashPoint(&state, "after directory fsync", path) }
        }
    }

    /// Renames through the layer (`perform` is the real rename): a replaced destination goes
    /// to the graveyard so it can return.
    private static func rename(_ source: String, to destination: String, _ perform: () throws(StoreError) -> Void) throws(StoreError) {
        try state.withLock { (state) throws(StoreError) in
            guard inScope(state, source) || inScope(state, destination) else { return try perform() }
            if state.poweredOff { throw .io(operation: "rename (simulated power loss)", path: source, errno: EIO) }
            crashPoint(&state, "before rename", destination)
            var replaced: String?
            if FileSystem.exists(destination) {
                guard let grave = moveToGrave(&state, destination) else {
                    throw .io(operation: "rename (move replaced file aside)", path: destination, errno: errno)
                }
                replaced = grave
            }
            do throws(StoreError) {
                try perform()
            } catch {
                if let replaced { _ = Glibc.rename(replaced, destination) }
                throw error
            }
            let change = DirectoryChange.renamed(source: source, destination: destination, replaced: replaced)
            state.directories.formUnion(change.directories)
            state.changes.append(PendingChange(change: change, unsyncedDirectories: change.directories))
            crashPoint(&state, "after rename", destination)
        }
    }

    /// Removes a file through the layer: it goes to the graveyard until its directory is synced.
    /// Returns false (doing nothing) when the path is not in scope.
    private static func remove(_ path: String) throws(StoreError) -> Bool {
        try state.withLock { (state) throws(StoreError) -> Bool in
            guard inScope(state, path) else { return false }
            if state.poweredOff { throw .io(operation: "unlink (simulated power loss)", path: path, errno: EIO) }
            crashPoint(&state, "before unlink", path)
            guard FileSystem.exists(path) else { return true }
            guard let grave = moveToGrave(&state, path) else { throw .io(operation: "unlink", path: path, errno: errno) }
            let change = DirectoryChange.removed(path: path, grave: grave)
            state.directories.formUnion(change.directories)
            state.changes.append(PendingChange(change: change, unsyncedDirectories: change.directories))
            return true
        }
    }

    // MARK: the power loss

    /// Undoes a file's unsynced overwrites and cuts it to its synced length, or, with
    /// `keepTail` > 0, to that many bytes past it (a torn tail).
    private static func revert(_ inode: InodeState, descriptor: Int32, keepTail: Int = 0) {
        for (offset, bytes) in inode.undo.reversed() {
            _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        }
        let length = inode.durableLength + keepTail
        if size(descriptor) > length { _ = ftruncate(descriptor, off_t(length)) }
    }

    private static func revertEverything(_ state: inout State) {
        for pending in state.changes.reversed() {
            switch pending.change {
            case .created(let path):
                _ = unlink(path)
            case .renamed(let source, let destination, let replaced):
                _ = Glibc.rename(destination, source)
                if let replaced { _ = Glibc.rename(replaced, destination) }
            case .removed(let path, let grave):
                _ = Glibc.rename(grave, path)
            }
        }
        state.changes.removeAll()
        // Files are found by inode in every directory the layer has seen.
        for directory in state.directories.sorted() where FileSystem.isDirectory(directory) {
            guard let names = try? FileSystem.list(directory) else { continue }
            for name in names {
                let path = directory + "/" + name
                guard let key = key(path: path), let inode = state.inodes[key] else { continue }
                let descriptor = open(path, O_RDWR | O_CLOEXEC)
                guard descriptor >= 0 else { continue }
                var keepTail = 0
                let unsynced = size(descriptor) - inode.durableLength
                if state.tornTails && unsynced > 0 && nextRandom(&state) % 2 == 0 {
                    keepTail = Int(nextRandom(&state) % UInt64(unsynced))
                }
                revert(inode, descriptor: descriptor, keepTail: keepTail)
                close(descriptor)
                state.inodes[key] = nil
            }
        }
    }
}
