// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "KVBench",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KVStore", targets: ["KVStore"]),
        .library(name: "StorageIO", targets: ["StorageIO"]),
        .library(name: "RocksDBEngine", targets: ["RocksDBEngine"]),
        .library(name: "LMDBEngine", targets: ["LMDBEngine"]),
        .library(name: "LevelDBEngine", targets: ["LevelDBEngine"]),
        .library(name: "SQLiteEngine", targets: ["SQLiteEngine"]),
        .library(name: "WiredTigerEngine", targets: ["WiredTigerEngine"]),
        .library(name: "BTreeEngine", targets: ["BTreeEngine"]),
        .library(name: "LSMEngine", targets: ["LSMEngine"]),
        .library(name: "KVWorkloads", targets: ["KVWorkloads"]),
        .library(name: "KVResults", targets: ["KVResults"]),
        .library(name: "KVReports", targets: ["KVReports"]),
        .library(name: "KVWorkbench", targets: ["KVWorkbench"]),
        .library(name: "KVFaults", targets: ["KVFaults"]),
        .library(name: "StorageFaults", targets: ["StorageFaults"]),
        .library(name: "KVProcess", targets: ["KVProcess"]),
        .library(name: "CFaultPreload", type: .dynamic, targets: ["CFaultPreload"]),
        .executable(name: "kvbench", targets: ["kvbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRocksDB",
            path: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .systemLibrary(
            name: "CLMDB",
            path: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // Debian's libleveldb-dev ships no pkg-config file; the module map links -lleveldb.
        .systemLibrary(
            name: "CLevelDB",
            path: "CLevelDB",
            providers: [.apt(["libleveldb-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CWiredTiger",
            path: "CWiredTiger",
            pkgConfig: "wiredtiger",
            providers: [.apt(["libwiredtiger-dev"])]
        ),
        .target(name: "KVStore"),
        .target(name: "CCRC32C"),
        .target(name: "StorageIO", dependencies: ["KVStore", "CCRC32C"],
                swiftSettings: [.define("KVBENCH_INTERNAL_CHECKS", .when(configuration: .debug))]),
        .target(name: "LevelDBStyleAPI", dependencies: ["KVStore", "StorageIO"]),
        // C++ (an extern "C" header only): RocksDB's point reads into a reused PinnableSlice.
        .target(name: "CRocksDBShim", cxxSettings: [.define("NDEBUG", .when(configuration: .release))],
                linkerSettings: [.linkedLibrary("rocksdb")]),
        .target(name: "RocksDBEngine", dependencies: ["KVStore", "StorageIO", "CRocksDB", "CRocksDBShim", "LevelDBStyleAPI"]),
        .target(name: "LMDBEngine", dependencies: ["KVStore", "StorageIO", "CLMDB"]),
        .target(name: "LevelDBEngine", dependencies: ["KVStore", "StorageIO", "CLevelDB", "LevelDBStyleAPI"]),
        .target(name: "SQLiteEngine", dependencies: ["KVStore", "StorageIO", "CSQLite"]),
        .target(name: "WiredTigerEngine", dependencies: ["KVStore", "StorageIO", "CWiredTiger"]),
        .target(name: "BTreeEngine", dependencies: ["KVStore", "StorageIO"],
                swiftSettings: [.define("KVBENCH_INTERNAL_CHECKS", .when(configuration: .debug))]),
        .target(name: "LSMEngine", dependencies: ["KVStore", "StorageIO"],
                swiftSettings: [.define("KVBENCH_INTERNAL_CHECKS", .when(configuration: .debug))]),
        .target(name: "KVWorkloads", dependencies: ["KVStore"]),
        .target(name: "KVResults"),
        .target(name: "KVProcess", dependencies: ["KVStore", "StorageIO"]),
        .target(name: "StorageFaults", dependencies: ["KVStore", "StorageIO"]),
        .target(name: "KVFaults", dependencies: ["KVStore", "StorageIO", "StorageFaults", "KVProcess"]),
        .target(name: "CFaultPreload", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CCycleCounter"),
        .target(name: "KVReports", dependencies: ["KVResults"]),
        .target(
            name: "KVWorkbench",
            dependencies: [
                "KVStore", "StorageIO", "KVWorkloads", "KVResults", "CCycleCounter",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "kvbench",
            dependencies: [
                "KVStore", "StorageIO", "KVWorkloads", "KVResults", "KVReports", "KVWorkbench", "RocksDBEngine", "LMDBEngine", "LSMEngine", "BTreeEngine", "KVFaults", "KVProcess",
                "LevelDBEngine", "SQLiteEngine", "WiredTigerEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "KVConformance", dependencies: ["KVStore", "StorageIO"], path: "Tests/KVConformance"),
        .testTarget(name: "KVStoreTests", dependencies: ["KVStore", "StorageIO"]),
        .testTarget(name: "RocksDBEngineTests", dependencies: ["RocksDBEngine", "CRocksDB", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "LMDBEngineTests", dependencies: ["LMDBEngine", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "LevelDBEngineTests", dependencies: ["LevelDBEngine", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "SQLiteEngineTests", dependencies: ["SQLiteEngine", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "WiredTigerEngineTests", dependencies: ["WiredTigerEngine", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "BTreeEngineTests", dependencies: ["BTreeEngine", "KVConformance", "StorageIO", "KVStore"]),
        .testTarget(name: "LSMEngineTests", dependencies: ["LSMEngine", "KVConformance", "KVStore", "StorageIO"]),
        .testTarget(name: "KVWorkloadsTests", dependencies: ["KVWorkloads", "KVStore"]),
        .testTarget(name: "KVWorkbenchTests", dependencies: ["KVWorkbench", "KVWorkloads", "KVResults", "KVStore", "StorageIO", "LMDBEngine",
                                                   .product(name: "Histogram", package: "hdrhistogram-swift")]),
        .testTarget(name: "KVReportsTests", dependencies: ["KVReports", "KVResults"]),
        .testTarget(name: "KVBenchCLITests", dependencies: ["kvbench", "KVResults"]),
        .testTarget(name: "KVProcessTests", dependencies: ["KVProcess"]),
        .testTarget(name: "KVFaultsTests", dependencies: ["KVFaults", "KVStore", "StorageIO", "StorageFaults", "LSMEngine", "BTreeEngine", "LMDBEngine", "RocksDBEngine", "WiredTigerEngine",
                                                 "LevelDBEngine", "SQLiteEngine", "KVProcess"]),
    ],
    swiftLanguageModes: [.v6]
)
