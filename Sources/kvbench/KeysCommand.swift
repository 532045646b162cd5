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
    @OptionGroup var skew: SkewOptions

    func validate() throws {
        _ = try skew.distribution(named: distribution)
        guard items > 0, samples > 0 else { throw ValidationError("--items and --samples must be at least 1") }
    }

    func run() throws {
        let parsed = try skew.distribution(named: distribution)
        print(KeySkewReport.csv(distribution: parsed, items: items, samples: samples, seed: seed), terminator: "")
    }
}
