import KVConformance
import KVStore
import SQLiteEngine
import StorageIO
import Testing

@Test(arguments: ConformanceCase.allCases)
func sqliteConformance(_ check: ConformanceCase) throws { try ConformanceSuite<SQLiteStore>().run(check) }

@Test func sqliteFsyncPersists() throws {
    try ConformanceSuite<SQLiteStore>(durability: .fsync).run(.persistsAcrossReopen)
}

@Test func sqliteRefusesDurabilityNone() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-sqlite")
    defer { try? FileSystem.removeTree(directory) }
    #expect(throws: StoreError.unsupported(SQLiteStore.noneRefusal)) {
        try SQLiteStore.open(StoreOptions(directory: directory + "/db", durability: .none))
    }
    #expect(!FileSystem.exists(directory + "/db"), "a refused open created the directory")
}

@Test(arguments: [Durability.os, .fsync])
func sqliteRunsInWALWithTheModesSynchronousLevel(_ durability: Durability) throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-sqlite")
    defer { try? FileSystem.removeTree(directory) }
    let store = try SQLiteStore.open(StoreOptions(directory: directory + "/db", durability: durability, memoryBudget: 16 << 20))
    defer { try? store.close() }
    try store.put([1], [2])
    #expect(store.settingsReport["journal_mode"] == "wal")
    #expect(store.settingsReport["synchronous"]?.hasPrefix(durability == .fsync ? "full" : "normal") == true)
    #expect(store.settingsReport["mmap_size"] == "0")
    #expect(FileSystem.exists(directory + "/db/" + SQLiteStore.fileName + "-wal"), "no WAL file: not in WAL mode")
    #expect(store.statistics().engineBytesWritten == nil)
}

/// A point read inside a cursor on the same thread sees the latest writes, not the cursor's snapshot.
@Test func sqliteReadInsideACursorSeesLatestWrites() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-sqlite")
    defer { try? FileSystem.removeTree(directory) }
    let store = try SQLiteStore.open(StoreOptions(directory: directory + "/db"))
    defer { try? store.close() }
    try store.put([1], [1])
    let (inside, nested) = try store.withCursor { (cursor: inout SQLiteCursor) throws(StoreError) -> (Bytes?, Int) in
        try cursor.seekToFirst()
        try store.put([1], [9])
        let nested = try store.scan(from: []).count
        return (try store.get([1]), nested)
    }
    #expect(inside == [9])
    #expect(nested == 1)
}

@Test func sqliteRejectsAForeignSQLiteFile() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-sqlite")
    defer { try? FileSystem.removeTree(directory) }
    try FileSystem.createDirectory(directory + "/db")
    let file = try StorageFile(path: directory + "/db/" + SQLiteStore.fileName, mode: .createNew)
    try file.write(at: 0, Bytes(repeating: 0x5A, count: 8192))
    #expect(throws: StoreError.self) { try SQLiteStore.open(StoreOptions(directory: directory + "/db")) }
}
