import KVStore
import StorageIO
import Testing
@_spi(Testing) @testable import LSMEngine

/// Every file of `directory` with its bytes, to show that a failed open changed nothing.
private func snapshot(_ directory: String) throws -> [String: Bytes] {
    var result: [String: Bytes] = [:]
    for name in try FileSystem.list(directory) where name != DirectoryLock.fileName {
        let file = try StorageFile(path: directory + "/" + name, mode: .readOnly)
        result[name] = try file.read(at: 0, count: try file.size())
    }
    return result
}

/// The end offset of each edit in manifest bytes (records after the header).
private func editEnds(_ manifest: Bytes) throws -> [Int] {
    try manifest.withUnsafeBytes { raw in
        try FramedRecords.scan(raw, from: ManifestLog.headerSize, types: VersionEdit.recordType...VersionEdit.recordType, path: "manifest")
            .records.map(\.end)
    }
}

/// A manifest cut after any of its edits (or inside the next one) either opens holding exactly what
/// was written (the lost edits changed nothing the files do not show: a trivial move) or is refused
/// as corruption, leaving every file as it was. It never serves stale or resurrected values.
@Test(arguments: [Durability.os, .fsync])
func manifestThatLostEditsIsCorruption(_ durability: Durability) throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: durability, settings: smallSettings)
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        try randomWorkload(store, model: &model, operations: 4000, keySpace: 1500, seed: 31)
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        try randomWorkload(store, model: &model, operations: 300, keySpace: 1500, seed: 32)
        try store.close()
        let pristine = try snapshot(directory)
        let manifest = pristine[ManifestLog.fileName]!
        let ends = try editEnds(manifest)
        #expect(ends.count > 3, "expected flush and compaction edits")
        var refused = 0
        for (index, end) in ends.dropLast().enumerated() {
            for cut in [end, end + 5] {
                for (name, bytes) in pristine {
                    let file = try StorageFile(path: directory + "/" + name, mode: .createOrOpen)
                    try file.truncate(to: 0)
                    try file.write(at: 0, name == ManifestLog.fileName ? Bytes(bytes[..<cut]) : bytes)
                }
                let damaged = try snapshot(directory)
                do {
                    let reopened = try LSMStore.open(options)
                    try expectMatches(reopened, model, keySpace: 1500)
                    try reopened.close()
                } catch let error as StoreError {
                    guard case .corruption = error else {
                        Issue.record("cut after edit \(index + 1) of \(ends.count): \(error)")
                        continue
                    }
                    refused += 1
                    #expect(try snapshot(directory) == damaged, "the refused open changed files")
                }
                for name in try FileSystem.list(directory) where pristine[name] == nil && name != DirectoryLock.fileName {
                    try FileSystem.removeFile(directory + "/" + name)
                }
            }
        }
        #expect(refused > 0)
    }
}

/// What a crash legitimately leaves behind still opens: a table written by an interrupted flush or
/// compaction that no edit names yet (numbered above the manifest's next file number) and an empty
/// log created ahead of a rotation. The orphan table is removed; the data is what was acknowledged.
@Test func crashLeftoversStillOpen() throws {
    try withDirectory { directory in
        let options = StoreOptions(directory: directory, durability: .fsync, settings: smallSettings)
        var model: [Bytes: Bytes] = [:]
        let store = try LSMStore.open(options)
        try randomWorkload(store, model: &model, operations: 3000, keySpace: 1000, seed: 41)
        try store.flushMemtable()
        try store.waitForBackgroundWork()
        try randomWorkload(store, model: &model, operations: 200, keySpace: 1000, seed: 42)
        store.simulateCrash()
        let table = try #require(try files(directory, suffix: ".sst").first)
        let bytes = try StorageFile(path: directory + "/" + table, mode: .readOnly)
        let orphan = LSMFileName.table(900).name
        try StorageFile(path: directory + "/" + orphan, mode: .createNew).write(at: 0, try bytes.read(at: 0, count: try bytes.size()))
        _ = try StorageFile(path: LSMFileName.log(901).path(in: directory), mode: .createNew)
        let reopened = try LSMStore.open(options)
        try expectMatches(reopened, model, keySpace: 1000)
        #expect(!FileSystem.exists(directory + "/" + orphan))
        try reopened.close()
    }
}
