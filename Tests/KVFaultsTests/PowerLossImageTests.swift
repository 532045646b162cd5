#if canImport(Glibc)
import Glibc
#endif
import KVStore
import StorageIO
import Testing
@testable import KVFaults

/// Builds a trace in the format `CFaultPreload` writes.
struct TraceBuilder {
    var bytes: [UInt8] = []

    mutating func record(_ type: UInt8, fd: Int32 = -1, a: UInt64 = 0, b: UInt64 = 0, path: String = "", data: [UInt8] = []) {
        bytes.append(type)
        withUnsafeBytes(of: fd.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: a.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: b.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(path.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(data.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(path.utf8)
        bytes += data
    }

    mutating func open(_ fd: Int32, _ path: String, flags: Int32 = O_RDWR, inode: UInt64, directory: Bool = false) {
        record(1, fd: fd, a: UInt64(UInt32(bitPattern: flags)), b: inode, path: path, data: [directory ? 1 : 0])
    }
    mutating func write(_ fd: Int32, at offset: UInt64, _ text: String) { record(3, fd: fd, a: offset, data: Array(text.utf8)) }
    mutating func sync(_ fd: Int32) { record(4, fd: fd) }
    mutating func rename(_ from: String, _ to: String) { record(6, path: from, data: Array(to.utf8)) }
    mutating func unlink(_ path: String) { record(7, path: path) }

    func save(_ path: String) throws {
        let file = try StorageFile(path: path, mode: .createNew)
        try file.write(at: 0, bytes)
    }
}

struct PowerLossImageTests {
    @Test func rebuildsWhatWasSynced() throws {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-image")
        defer { try? FileSystem.removeTree(work) }
        let db = FileSystem.canonicalPath(work) + "/db"
        try FileSystem.createDirectory(db)
        try durableFile(db + "/CURRENT", "MANIFEST-1")
        try durableFile(db + "/old.log", "old")
        var image = try PowerLossImage(directory: db)
        var info = stat()
        _ = stat(db + "/CURRENT", &info)
        let currentInode = UInt64(info.st_ino)

        var trace = TraceBuilder()
        trace.open(3, db, flags: O_RDONLY, inode: 1, directory: true)
        // A new log: synced data, then an unsynced tail; its name made durable by a directory fsync.
        trace.open(4, db + "/000002.log", flags: O_RDWR | O_CREAT, inode: 900)
        trace.write(4, at: 0, "acked;")
        trace.sync(4)
        trace.write(4, at: 6, "unsynced;")
        trace.sync(3)
        // CURRENT replaced through a rename that no directory fsync made durable.
        trace.open(5, db + "/CURRENT.tmp", flags: O_RDWR | O_CREAT, inode: 901)
        trace.write(5, at: 0, "MANIFEST-2")
        trace.sync(5)
        trace.rename(db + "/CURRENT.tmp", db + "/CURRENT")
        trace.unlink(db + "/old.log")
        // An O_DSYNC descriptor: every write is durable when it returns.
        trace.open(6, db + "/000002.log", flags: O_WRONLY | O_DSYNC, inode: 900)
        trace.write(6, at: 0, "ACKED;")
        // An existing file overwritten in place without a sync.
        trace.open(7, db + "/CURRENT", flags: O_RDWR, inode: currentInode)
        trace.write(7, at: 0, "XXXX")
        try trace.save(work + "/trace.bin")

        try image.replay(trace: work + "/trace.bin")
        #expect(image.notCovered.isEmpty)
        var random = SplitMix64(seed: 1)
        let files = image.survivingFiles(partial: false, random: &random)
        #expect(files["000002.log"].map { String(decoding: $0, as: UTF8.self) } == "ACKED;")
        #expect(files["CURRENT"].map { String(decoding: $0, as: UTF8.self) } == "MANIFEST-1")
        #expect(files["old.log"].map { String(decoding: $0, as: UTF8.self) } == "old")
        #expect(files["CURRENT.tmp"] == nil)

        try PowerLossImage.materialize(files, into: db)
        #expect(try FileSystem.list(db) == ["000002.log", "CURRENT", "old.log"])
        #expect(try contents(db + "/000002.log") == "ACKED;")
    }

    @Test func partialApplicationKeepsSyncedPrefix() throws {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-image")
        defer { try? FileSystem.removeTree(work) }
        let db = FileSystem.canonicalPath(work) + "/db"
        try FileSystem.createDirectory(db)
        try durableFile(db + "/log", "base;")
        var image = try PowerLossImage(directory: db)
        var info = stat()
        _ = stat(db + "/log", &info)
        var trace = TraceBuilder()
        trace.open(3, db + "/log", inode: UInt64(info.st_ino))
        for index in 0..<20 { trace.write(3, at: UInt64(5 + index * 4), "w\(index % 10);") }
        try trace.save(work + "/trace.bin")
        try image.replay(trace: work + "/trace.bin")
        var random = SplitMix64(seed: 3)
        for _ in 0..<20 {
            let log = image.survivingFiles(partial: true, random: &random)["log"] ?? []
            #expect(log.count >= 5 && log.count <= 85)
            #expect(Array(log.prefix(5)) == Array("base;".utf8))
        }
    }

    @Test func memoryMapSyncIsNotCovered() throws {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-image")
        defer { try? FileSystem.removeTree(work) }
        let db = FileSystem.canonicalPath(work) + "/db"
        try FileSystem.createDirectory(db)
        var image = try PowerLossImage(directory: db)
        var trace = TraceBuilder()
        trace.record(8, a: 4096, b: 4096)
        try trace.save(work + "/trace.bin")
        try image.replay(trace: work + "/trace.bin")
        #expect(!image.notCovered.isEmpty)
    }
}
