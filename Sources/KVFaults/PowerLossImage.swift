#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import StorageIO

/// Rebuilds the state a power loss leaves in a database directory from a
/// record of the system calls a crashed child made (the `CFaultPreload`
/// library's trace), as the ALICE study does.
///
/// The model: every file (inode) has a volatile content (what processes see)
/// and a durable content (what survives power loss); the directory has
/// volatile and durable name tables. A write changes the volatile content
/// (and the durable one too on an `O_DSYNC`/`O_SYNC` descriptor); fsync or
/// fdatasync of a file makes its content durable; fsync of the directory makes
/// its names durable. At the crash, each durable name gets its inode's durable
/// content, optionally plus a random prefix of the writes issued since its last
/// sync, the last of them possibly torn. Names created or renamed since the last
/// directory fsync are lost; a file whose name is durable but whose data was
/// never synced comes back empty.
struct PowerLossImage {
    private enum Pending {
        case write(offset: Int, data: [UInt8])
        case resize(Int)
    }

    private final class Inode {
        var volatile: [UInt8]
        var durable: [UInt8]
        var pending: [Pending] = []
        init(content: [UInt8]) { volatile = content; durable = content }
    }

    private enum Descriptor {
        case file(inode: Int, synchronous: Bool)
        case directory(path: String)
    }

    let directory: String
    private var inodes: [Inode] = []
    private var byRealInode: [UInt64: Int] = [:]
    private var volatileNames: [String: Int] = [:]
    private var durableNames: [String: Int] = [:]
    private var descriptors: [Int32: Descriptor] = [:]
    /// What the trace showed that this model cannot rebuild (each makes the round "not covered").
    private(set) var notCovered: Set<String> = []
    /// Records read from the trace.
    private(set) var records = 0

    /// Takes the directory's current files as the durable starting state.
    init(directory: String) throws(StoreError) {
        self.directory = FileSystem.canonicalPath(directory)
        for name in try FileSystem.list(self.directory) {
            let path = self.directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                notCovered.insert("\(name) is not a regular file; only files directly in the database directory are modelled")
                continue
            }
            let file = try StorageFile(path: path, mode: .readOnly)
            let content = try file.read(at: 0, count: try file.size())
            byRealInode[UInt64(info.st_ino)] = inodes.count
            volatileNames[name] = inodes.count
            durableNames[name] = inodes.count
            inodes.append(Inode(content: content))
        }
    }

    private func name(of path: String) -> String? {
        guard path.hasPrefix(directory + "/") else { return nil }
        return String(path.dropFirst(directory.count + 1))
    }

    private mutating func releaseIfUnnamed(_ inode: Int) {
        if !volatileNames.values.contains(inode) {
            for (real, index) in byRealInode where index == inode { byRealInode[real] = nil }
        }
    }

    private static func apply(_ pending: Pending, to content: inout [UInt8]) {
        switch pending {
        case .write(let offset, let data):
            if content.count < offset + data.count { content.append(contentsOf: repeatElement(0, count: offset + data.count - content.count)) }
            content.replaceSubrange(offset..<(offset + data.count), with: data)
        case .resize(let length):
            if length < content.count { content.removeLast(content.count - length) } else { content.append(contentsOf: repeatElement(0, count: length - content.count)) }
        }
    }

    /// Replays the trace file written by the preload library.
    mutating func replay(trace path: String) throws(StoreError) {
        guard FileSystem.exists(path) else { return }
        let file = try StorageFile(path: path, mode: .readOnly)
        let bytes = try file.read(at: 0, count: try file.size())
        var offset = 0
        let headerSize = 29
        while offset + headerSize <= bytes.count {
            let (type, fd, a, b, pathLength, dataLength) = bytes.withUnsafeBytes { raw in
                (raw[offset],
                 Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 1, as: Int32.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 5, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 13, as: UInt64.self)),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 21, as: UInt32.self))),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 25, as: UInt32.self))))
            }
            let end = offset + headerSize + pathLength + dataLength
            guard end <= bytes.count else { break }
            let recordPath = String(decoding: bytes[(offset + headerSize)..<(offset + headerSize + pathLength)], as: UTF8.self)
            let data = Array(bytes[(offset + headerSize + pathLength)..<end])
            offset = end
            records += 1
            handle(type: type, fd: fd, a: a, b: b, path: recordPath, data: data)
        }
    }

    private mutating func handle(type: UInt8, fd: Int32, a: UInt64, b: UInt64, path: String, data: [UInt8]) {
        switch type {
        case 1: // open
            if data.first == 1 {
                descriptors[fd] = .directory(path: path)
                return
            }
            guard let name = name(of: path), !name.contains("/") else {
                if path != directory { notCovered.insert("a file in a subdirectory (\(path)) is not modelled") }
                return
            }
            let flags = Int32(truncatingIfNeeded: a)
            let inode: Int
            if let known = byRealInode[b], volatileNames[name] == known {
                inode = known
            } else {
                if let previous = volatileNames[name] { volatileNames[name] = nil; releaseIfUnnamed(previous) }
                inode = inodes.count
                inodes.append(Inode(content: []))
                byRealInode[b] = inode
            }
            volatileNames[name] = inode
            if flags & O_TRUNC != 0 {
                inodes[inode].volatile.removeAll()
                inodes[inode].pending.append(.resize(0))
            }
            descriptors[fd] = .file(inode: inode, synchronous: flags & O_DSYNC != 0)
        case 2: // close
            descriptors[fd] = nil
        case 3: // write
            guard case .file(let inode, let synchronous)? = descriptors[fd] else { return }
            let write = Pending.write(offset: Int(a), data: data)
            Self.apply(write, to: &inodes[inode].volatile)
            if synchronous { Self.apply(write, to: &inodes[inode].durable) } else { inodes[inode].pending.append(write) }
        case 4: // fsync / fdatasync
            switch descriptors[fd] {
            case .file(let inode, _)?:
                inodes[inode].durable = inodes[inode].volatile
                inodes[inode].pending.removeAll()
            case .directory(let path)?:
                if FileSystem.canonicalPath(path) == directory { durableNames = volatileNames }
            case nil:
                break
            }
        case 5, 10: // ftruncate, fallocate that extends
            guard case .file(let inode, _)? = descriptors[fd] else { return }
            let length = Int(a)
            if type == 10 && inodes[inode].volatile.count >= length { return }
            Self.apply(.resize(length), to: &inodes[inode].volatile)
            inodes[inode].pending.append(.resize(length))
        case 6: // rename
            let target = String(decoding: data, as: UTF8.self)
            let source = name(of: path)
            let destination = name(of: target)
            if let destination, let previous = volatileNames[destination] {
                volatileNames[destination] = nil
                releaseIfUnnamed(previous)
            }
            if let source, let inode = volatileNames[source] {
                volatileNames[source] = nil
                if let destination { volatileNames[destination] = inode } else { releaseIfUnnamed(inode) }
            } else if destination != nil, source == nil {
                notCovered.insert("a file renamed into the database directory from outside (\(path)) is not modelled")
            }
        case 7: // unlink
            if let name = name(of: path), let inode = volatileNames[name] {
                volatileNames[name] = nil
                releaseIfUnnamed(inode)
            }
        case 8:
            notCovered.insert("msync of a memory map: writes through a map are not recorded")
        case 9: // sync, syncfs
            for inode in inodes {
                inode.durable = inode.volatile
                inode.pending.removeAll()
            }
            durableNames = volatileNames
        case 11: // truncate by path
            if let name = name(of: path), let inode = volatileNames[name] {
                Self.apply(.resize(Int(a)), to: &inodes[inode].volatile)
                inodes[inode].pending.append(.resize(Int(a)))
            }
        default:
            notCovered.insert("unknown trace record type \(type)")
        }
    }

    /// How much of the unsynced writes a rebuilt file keeps.
    enum Unsynced {
        /// None: each file as of its last sync.
        case dropped
        /// A random prefix of each file's unsynced writes, the next one possibly torn.
        case prefix
        /// A random subset of each file's unsynced writes, in any order (a disk may reorder).
        case subset
    }

    /// Files the power loss leaves: durable names with durable contents, plus what `unsynced` keeps.
    func survivingFiles(partial: Bool, random: inout SplitMix64) -> [String: [UInt8]] {
        survivingFiles(unsynced: partial ? .prefix : .dropped, random: &random)
    }

    func survivingFiles(unsynced: Unsynced, random: inout SplitMix64) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for (name, index) in durableNames {
            let inode = inodes[index]
            var content = inode.durable
            if unsynced == .subset {
                for pending in inode.pending where random.uniform(2) == 0 { Self.apply(pending, to: &content) }
            } else if unsynced == .prefix && !inode.pending.isEmpty {
                let applied = Int(random.uniform(UInt64(inode.pending.count + 1)))
                for pending in inode.pending.prefix(applied) { Self.apply(pending, to: &content) }
                if applied < inode.pending.count, random.uniform(2) == 0, case .write(let offset, let data) = inode.pending[applied], data.count > 1 {
                    let kept = 1 + Int(random.uniform(UInt64(data.count - 1)))
                    Self.apply(.write(offset: offset, data: Array(data.prefix(kept))), to: &content)
                }
            }
            files[name] = content
        }
        return files
    }

    /// Replaces the directory's contents with `files`.
    static func materialize(_ files: [String: [UInt8]], into directory: String) throws(StoreError) {
        for name in try FileSystem.list(directory) { try FileSystem.removeTree(directory + "/" + name) }
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let file = try StorageFile(path: directory + "/" + name, mode: .createNew)
            try file.write(at: 0, content)
        }
    }
}
