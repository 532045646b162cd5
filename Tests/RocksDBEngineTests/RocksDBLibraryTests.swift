@testable import RocksDBEngine
import StorageIO
import Testing
#if canImport(Glibc)
import Glibc
#endif

private let debianLibrary = "/usr/lib/x86_64-linux-gnu/librocksdb.so.7.8.3"
/// `.build-rocksdb/lib` of this checkout (three levels above this file), where scripts/build-rocksdb installs.
private let releaseLibrary = FileSystem.canonicalPath(
    "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/.build-rocksdb/lib/librocksdb.so.7.8.3")

@Test(.enabled(if: FileSystem.exists(debianLibrary), "Debian's librocksdb7.8 is installed"))
func debianLibraryIsDetectedWithAssertionsOn() {
    let library = RocksDBLibrary(path: debianLibrary)
    #expect(library.version == "7.8.3")
    #expect(library.buildKind == .assertionsOn)
    #expect(library.debianPackage == "librocksdb7.8")
    #expect(library.versionText == "7.8.3, assertions on")
    #expect(library.summary == "RocksDB 7.8.3, assertions on (Debian package librocksdb7.8, \(debianLibrary))")
}

@Test(.enabled(if: FileSystem.exists(releaseLibrary), "scripts/build-rocksdb has built the release library"))
func releaseBuildIsDetectedAsRelease() {
    let library = RocksDBLibrary(path: releaseLibrary)
    #expect(library.version == "7.8.3")
    #expect(library.buildKind == .release)
    #expect(library.debianPackage == nil)
    #expect(library.summary == "RocksDB 7.8.3, release build (\(releaseLibrary))")
}

@Test func loadedLibraryIsTheFileThatDefinesRocksDBOpen() throws {
    let library = RocksDBLibrary.loaded
    #expect(library.path.contains("librocksdb.so"))
    let symbols = try ELFDynamicSymbols(path: library.path)
    #expect(symbols.defined.contains("rocksdb_open"))
    #expect(library.buildKind == (symbols.imported.contains("__assert_fail") ? .assertionsOn : .release))
    if getenv("LD_LIBRARY_PATH") == nil && FileSystem.exists(debianLibrary) {
        #expect(library.path == debianLibrary)
        #expect(RocksDBStore.engineVersion == "7.8.3, assertions on")
    }
}

@Test func symbolTableSeparatesImportsFromDefinitions() throws {
    let libc = try ELFDynamicSymbols(path: "/lib/x86_64-linux-gnu/libc.so.6")
    #expect(libc.defined.contains("__assert_fail"))
    #expect(!libc.imported.contains("__assert_fail"))
    let lz4 = RocksDBLibrary(path: "/lib/x86_64-linux-gnu/liblz4.so.1")
    #expect(lz4.buildKind == .release)
}

@Test func unreadableLibraryHasUnknownBuildKind() throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "rocksdb-library")
    defer { try? FileSystem.removeTree(directory) }
    let path = directory + "/librocksdb.so.9.1.0"
    let file = try StorageFile(path: path, mode: .createNew)
    try [UInt8](repeating: 0x78, count: 64).withUnsafeBytes { try file.write(at: 0, $0) }
    let library = RocksDBLibrary(path: path)
    #expect(library.version == "9.1.0")
    #expect(library.buildKind == .unknown("\(path) is not an ELF file"))
    #expect(library.versionText == "9.1.0, build kind unknown")
    let missing = RocksDBLibrary(path: directory + "/absent.so")
    #expect(missing.version == "unknown")
    if case .unknown(let reason) = missing.buildKind { #expect(reason.hasPrefix("cannot open")) } else { Issue.record("missing file read as \(missing.buildKind)") }
}
