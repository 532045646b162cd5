import KVStore
import StorageIO
import Testing

@Test func bytesOrderUnsignedAndShorterFirst() {
    let ordered: [Bytes] = [[], [0x00], [0x00, 0x00], [0x01], [0x7F, 0xFF], [0x80], [0xFF], [0xFF, 0x00]]
    for (index, lhs) in ordered.enumerated() {
        for (otherIndex, rhs) in ordered.enumerated() {
            let order = ByteOrder.compare(lhs, rhs)
            #expect((order < 0) == (index < otherIndex) && (order == 0) == (index == otherIndex), "\(lhs) vs \(rhs)")
        }
    }
    let long = Bytes(repeating: 0xAB, count: 40)
    var longer = long
    longer[37] = 0xAC
    #expect(ByteOrder.less(long, longer))
}

@Test func crc32cMatchesTheStandardCheckValue() {
    let check = Array("123456789".utf8)
    #expect(check.withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
    #expect(check.withUnsafeBytes { CRC32C.softwareUpdate(0, $0) } == 0xE306_9283)
    #expect(Bytes(repeating: 0, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
}

@Test func hardwareAndSoftwareCRC32CAgreeAtEveryLengthAndSplit() {
    var state: UInt64 = 7
    let data = (0..<9000).map { _ -> UInt8 in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
    data.withUnsafeBytes { buffer in
        for length in Array(0...300) + [767, 768, 769, 1000, 3071, 3072, 3073, 3840, 4095, 4096, 4097, 6000, 6143, 6144, 8191, 9000] {
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
            let whole = CRC32C.update(0, slice)
            #expect(whole == CRC32C.softwareUpdate(0, slice))
            let split = length / 3
            let first = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: buffer[0..<split]))
            #expect(CRC32C.update(first, UnsafeRawBufferPointer(rebasing: buffer[split..<length])) == whole)
        }
    }
}

@Test func limitsRejectEmptyAndOversizedKeysAndValues() {
    let limits = StoreLimits(maxKeySize: 4, maxValueSize: 8)
    #expect(throws: StoreError.emptyKey) { try limits.validate(key: 0) }
    #expect(throws: StoreError.keyTooLarge(size: 5, limit: 4)) { try limits.validate(key: 5) }
    #expect(throws: StoreError.valueTooLarge(size: 9, limit: 8)) { try limits.validate(key: 1, value: 9) }
    #expect(throws: Never.self) { try limits.validate(key: 4, value: 8) }
    var batch = WriteBatch()
    batch.put([1], [1, 2])
    batch.delete([1, 2, 3])
    #expect(batch.userBytes == 3 + 3)
    batch.put([1, 2, 3, 4, 5], [])
    #expect(throws: StoreError.keyTooLarge(size: 5, limit: 4)) { try limits.validate(batch) }
}

@Test func errorsReadAsOneSentenceSayingWhatToDo() {
    let errors: [StoreError] = [
        .emptyKey, .keyTooLarge(size: 600, limit: 511), .closed, .alreadyOpen(path: "/db"), .notFound(path: "/db"),
        .notADatabase(path: "/db", reason: "no CURRENT file"), .corruption(path: "/db/1.sst", reason: "bad block checksum"),
        .io(operation: "fdatasync", path: "/db/log", errno: 5),
    ]
    for error in errors {
        let text = error.description
        #expect(!text.isEmpty && !text.contains("\n"))
        #expect(text.contains(";") || text.contains("failed"), "\(text) should say what to do")
    }
    #expect(StoreError.io(operation: "fdatasync", path: "/db/log", errno: 5).description.contains("Input/output error"))
}

@Test func directoryLockRefusesASecondHolderAndReleases() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-lock-test")
    defer { try? FileSystem.removeTree(directory) }
    let first = try DirectoryLock(directory: directory)
    #expect(DirectoryLock.isOpenInProcess(directory))
    #expect(throws: StoreError.alreadyOpen(path: FileSystem.canonicalPath(directory))) { _ = try DirectoryLock(directory: directory) }
    first.release()
    #expect(!DirectoryLock.isOpenInProcess(directory))
    let second = try DirectoryLock(directory: directory)
    second.release()
}

@Test func databaseDirectoryCheckRefusesForeignContents() throws {
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-dir-test")
    defer { try? FileSystem.removeTree(scratch) }
    let fresh = scratch + "/new/db"
    #expect(throws: StoreError.notFound(path: fresh)) {
        try FileSystem.prepareDatabaseDirectory(fresh, createIfMissing: false, marker: "CURRENT", engine: "Test")
    }
    #expect(try FileSystem.prepareDatabaseDirectory(fresh, createIfMissing: true, marker: "CURRENT", engine: "Test") == false)
    #expect(FileSystem.isDirectory(fresh))
    let file = try StorageFile(path: fresh + "/notes", mode: .createNew)
    try file.write(at: 0, Array("hello".utf8))
    #expect(throws: StoreError.self) {
        try FileSystem.prepareDatabaseDirectory(fresh, createIfMissing: true, marker: "CURRENT", engine: "Test")
    }
    _ = try StorageFile(path: fresh + "/CURRENT", mode: .createNew)
    #expect(try FileSystem.prepareDatabaseDirectory(fresh, createIfMissing: false, marker: "CURRENT", engine: "Test") == true)
}

@Test func storageFileReadsWhatItWroteAndReportsShortFiles() throws {
    let scratch = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-file-test")
    defer { try? FileSystem.removeTree(scratch) }
    let file = try StorageFile(path: scratch + "/data", mode: .createNew)
    try file.write(at: 0, Bytes(repeating: 7, count: 100))
    try file.write(at: 100, [1, 2, 3])
    try file.sync()
    #expect(try file.size() == 103)
    #expect(try file.read(at: 100, count: 3) == [1, 2, 3])
    #expect(file.bytesWritten == 103)
    #expect(throws: StoreError.self) { _ = try file.read(at: 101, count: 10) }
    try file.truncate(to: 50)
    #expect(try file.size() == 50)
    #expect(throws: StoreError.self) { _ = try StorageFile(path: scratch + "/data", mode: .createNew) }
    #expect(FileSystem.allocatedBytes(scratch) > 0)
}

@Test func aDirectoryClaimExcludesASecondClaimButNotTheEngineLock() throws {
    let base = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-claim-test")
    defer { try? FileSystem.removeTree(base) }
    let directory = base + "/new/db"
    let claim = try DirectoryClaim(directory: directory)
    #expect(FileSystem.isDirectory(directory))
    #expect(try FileSystem.list(directory).isEmpty, "a claim creates no file in the directory")
    #expect(throws: StoreError.alreadyOpen(path: directory)) { try DirectoryClaim(directory: directory) }
    #expect(DirectoryClaim.isHeldElsewhere(directory))
    let lock = try DirectoryLock(directory: directory)
    lock.release()
    claim.release()
    #expect(!DirectoryClaim.isHeldElsewhere(directory))
    let held = try DirectoryLock(directory: directory)
    #expect(DirectoryClaim.isHeldElsewhere(directory), "a store open in the directory counts as held")
    held.release()
    _ = try DirectoryClaim(directory: directory)
}
