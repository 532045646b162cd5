// swift-tools-version: 6.1
// Microbenchmarks of KVBench's building blocks, with ordo-one/package-benchmark.
// A package of its own (as swift-nio does), so the main package stays light:
// run `swift package benchmark` in this directory.
import PackageDescription

let package = Package(
    name: "KVBenchBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KVBench", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KVStore", package: "KVBench"),
                .product(name: "StorageIO", package: "KVBench"),
                .product(name: "KVWorkloads", package: "KVBench"),
                .product(name: "LSMEngine", package: "KVBench"),
                .product(name: "BTreeEngine", package: "KVBench"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
