import ArgumentParser
import KVWorkloads

/// `kvbench keys`: shows the skew of a key distribution as `rank,count` CSV.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Sample a key distribution and print rank,count CSV, most frequent first."
    )

    @Option(help: "Distribution: \(KeyDistribution.names.joined(separator: ", ")).")
    var distribution: String = "zipfian"
    @Option(help: "Number of distinct items (records).")
    var items: UInt64 = 1000
    @Option(help: "Number of samples to draw.")
    var samples: Int = 100_000
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(name: .customLong("zipf-theta"), help: "Zipfian exponent.")
    var zipfTheta: Double = 0.99
    @Option(name: .customLong("hot-fraction"), help: "hotspot: fraction of the key space that is hot.")
    var hotFraction: Double = 0.2
    @Option(name: .customLong("hot-op-fraction"), help: "hotspot: fraction of operations that go to hot keys.")
    var hotOperationFraction: Double = 0.8

    func validate() throws {
        guard KeyDistribution.parse(distribution, theta: zipfTheta, hotFraction: hotFraction, hotOperationFraction: hotOperationFraction) != nil else {
            throw ValidationError("unknown distribution '\(distribution)'; choose one of: \(KeyDistribution.names.joined(separator: ", "))")
        }
        guard items > 0, samples > 0 else { throw ValidationError("--items and --samples must be at least 1") }
    }

    func run() throws {
        let parsed = KeyDistribution.parse(distribution, theta: zipfTheta, hotFraction: hotFraction, hotOperationFraction: hotOperationFraction)!
        print(KeySkewReport.csv(distribution: parsed, items: items, samples: samples, seed: seed), terminator: "")
    }
}
