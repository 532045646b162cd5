import CRocksDB
import KVStore
import StorageIO
#if canImport(Glibc)
import Glibc
#endif

/// The RocksDB shared library this process actually loaded, found with
/// `dladdr` on `rocksdb_open`, and what it is: its version (from the file
/// name, `librocksdb.so.X.Y.Z`), its build kind (detected from its dynamic
/// symbols, not assumed) and the Debian package that installed it, if any.
public struct RocksDBLibrary: Sendable, Equatable {
    /// How the library was compiled, as far as its imports tell.
    public enum BuildKind: Sendable, Equatable {
        /// No `__assert_fail` import: compiled with `NDEBUG`, as RocksDB's release builds are.
        case release
        /// Imports `__assert_fail`: its `assert`s run (Debian's CMake build leaves `NDEBUG` unset).
        case assertionsOn
        /// The library file could not be read; the reason.
        case unknown(String)
    }

    /// The canonical path of the loaded library file.
    public let path: String
    /// `X.Y.Z` from the file name, or `unknown`.
    public let version: String
    public let buildKind: BuildKind
    /// The Debian package whose file list holds `path`, or nil.
    public let debianPackage: String?

    /// The library loaded into this process.
    public static let loaded = RocksDBLibrary.detect()

    /// Describes the library at `path` (a shared object file).
    public init(path: String, debianPackageListings: String = "/var/lib/dpkg/info") {
        self.path = path
        version = Self.version(fileName: path.split(separator: "/").last.map(String.init) ?? path)
        do {
            let symbols = try ELFDynamicSymbols(path: path)
            buildKind = symbols.imported.contains("__assert_fail") ? .assertionsOn : .release
        } catch {
            buildKind = .unknown(error.description)
        }
        debianPackage = Self.debianPackage(owning: path, listings: debianPackageListings)
    }

    /// `release build`, `assertions on` or `build kind unknown`.
    public var buildKindText: String {
        switch buildKind {
        case .release: "release build"
        case .assertionsOn: "assertions on"
        case .unknown: "build kind unknown"
        }
    }

    /// The engine version as reported in results: `7.8.3, release build`.
    public var versionText: String { "\(version), \(buildKindText)" }

    /// Where the library came from: `Debian package librocksdb7.8, /usr/lib/…` or the path alone.
    public var origin: String {
        debianPackage.map { "Debian package \($0), \(path)" } ?? path
    }

    /// One line for tables and reports: `RocksDB 7.8.3, assertions on (Debian package librocksdb7.8, /usr/lib/…)`.
    public var summary: String { "RocksDB \(versionText) (\(origin))" }

    /// How the build kind was found, for `engine_settings`.
    public var buildEvidence: String {
        switch buildKind {
        case .release: "\(buildKindText) (the library imports no __assert_fail); \(origin)"
        case .assertionsOn: "\(buildKindText) (the library imports __assert_fail); \(origin)"
        case .unknown(let reason): "\(buildKindText) (\(reason)); \(origin)"
        }
    }

    private static func detect() -> RocksDBLibrary {
        var info = crocksdb_dl_info()
        guard let symbol = dlsym(nil, "rocksdb_open"), dladdr(symbol, &info) != 0, let name = info.dli_fname else {
            return RocksDBLibrary(path: "unknown (dladdr found no library holding rocksdb_open)")
        }
        return RocksDBLibrary(path: FileSystem.canonicalPath(String(cString: name)))
    }

    /// `7.8.3` from `librocksdb.so.7.8.3`; `unknown` when the name carries no version.
    static func version(fileName: String) -> String {
        let parts = fileName.split(separator: ".", omittingEmptySubsequences: false)
        guard let so = parts.firstIndex(of: "so"), so + 1 < parts.count else { return "unknown" }
        return parts[(so + 1)...].joined(separator: ".")
    }

    /// The package whose dpkg file list (`<package>[:arch].list` in `listings`) names `path`.
    static func debianPackage(owning path: String, listings: String) -> String? {
        let names = (try? FileSystem.list(listings)) ?? []
        for name in names where name.hasPrefix("librocksdb") && name.hasSuffix(".list") {
            guard let file = try? StorageFile(path: listings + "/" + name, mode: .readOnly),
                  let size = try? file.size(), let bytes = try? file.read(at: 0, count: size) else { continue }
            let listing = bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            if listing.split(separator: "\n").contains(where: { $0 == path }) {
                return String(name.dropLast(".list".count).prefix(while: { $0 != ":" }))
            }
        }
        return nil
    }
}
