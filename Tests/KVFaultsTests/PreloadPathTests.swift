#if canImport(Glibc)
import Glibc
#endif
import KVStore
import StorageIO
import Testing
@testable import KVFaults

/// The syscall recorder (`libCFaultPreload.so`, loaded here with `dlopen` and called through
/// its own symbols) names each file one way, whatever the spelling of the path: WiredTiger
/// creates `DIR/./NAME` and syncs the directory as `DIR/`.
@Test func preloadRecorderNamesFilesCanonically() throws {
    let executable = FileSystem.canonicalPath("/proc/self/exe")
    let library = String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]) + "/libCFaultPreload.so"
    try #require(FileSystem.exists(library), "build the recorder first: swift build --product CFaultPreload")
    let work = try FileSystem.makeTemporaryDirectory(prefix: "kvfaults-preload")
    defer { try? FileSystem.removeTree(work) }
    let directory = work + "/db"
    try FileSystem.createDirectory(directory)
    let trace = work + "/trace"
    var image = try PowerLossImage(directory: directory)

    // The recorder reads its directory and trace file when it is loaded.
    setenv("KVFAULTS_DIR", directory, 1)
    setenv("KVFAULTS_TRACE", trace, 1)
    let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL)
    unsetenv("KVFAULTS_DIR")
    unsetenv("KVFAULTS_TRACE")
    let loaded = try #require(handle, "dlopen \(library) failed")
    defer { dlclose(loaded) }
    func symbol<T>(_ name: String, as type: T.Type) throws -> T {
        unsafeBitCast(try #require(dlsym(loaded, name), "no \(name) in the recorder"), to: type)
    }
    typealias Creat = @convention(c) (UnsafePointer<CChar>, mode_t) -> Int32
    typealias Open = @convention(c) (UnsafePointer<CChar>, Int32) -> Int32
    typealias Write = @convention(c) (Int32, UnsafeRawPointer, Int) -> Int
    typealias Descriptor = @convention(c) (Int32) -> Int32
    typealias Rename = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32
    let recordedCreat = try symbol("creat", as: Creat.self)
    let recordedOpen = try symbol("__open_2", as: Open.self)
    let recordedWrite = try symbol("write", as: Write.self)
    let recordedSync = try symbol("fdatasync", as: Descriptor.self)
    let recordedClose = try symbol("close", as: Descriptor.self)
    let recordedRename = try symbol("rename", as: Rename.self)

    let file = recordedCreat(directory + "/./Tmplog", 0o644)
    try #require(file >= 0)
    #expect(recordedWrite(file, "durable", 7) == 7)
    #expect(recordedSync(file) == 0)
    #expect(recordedClose(file) == 0)
    #expect(recordedRename(directory + "/./Tmplog", directory + "//Log") == 0)
    let folder = recordedOpen(directory + "/", O_RDONLY)
    try #require(folder >= 0)
    #expect(recordedSync(folder) == 0)
    #expect(recordedClose(folder) == 0)

    try image.replay(trace: trace)
    #expect(image.notCovered.isEmpty, "\(image.notCovered)")
    var random = SplitMix64(seed: 1)
    let survivors = image.survivingFiles(unsynced: .dropped, random: &random)
    #expect(survivors == ["Log": Array("durable".utf8)], "\(survivors.keys.sorted())")
}
