import ArgumentParser
import KVWorkbench
import KVWorkloads

/// `kvbench keys`: shows the skew of a key distribution as `rank,count` CSV.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Sample a key distribution and print rank,count CSV, most frequent first."
    )

    @Option(help: "Distribution: \(KeyDistribution.names.joined(separator: ", ")) (zipfian, latest and hotspot are YCSB's generators; zipfian-exact and latest-exact KVBench's exact Zipf).")
    var distribution: String = "zipfian"
    @Option(parsing: .unconditional, help: "Number of distinct items (records), 1 to 2^40.")
    var items: UInt64 = 1000
    @Option(parsing: .unconditional, help: "Number of samples to draw, 1 to 1000000000.")
    var samples: Int = 100_000
    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 1
    @OptionGroup var skew: SkewOptions

    func validate() throws {
        _ = try skew.distribution(named: distribution, ycsb: true)
        do {
            try Self.items.check(items)
            try Self.samples.check(samples)
        } catch {
            throw ValidationError(error.description)
        }
    }

    static let items = ParameterRange<UInt64>("--items", 1...(1 << 40), unit: "items")
    static let samples = ParameterRange<Int>("--samples", 1...1_000_000_000, unit: "samples")

    func run() throws {
        let parsed = try skew.distribution(named: distribution, ycsb: true)
        print(KeySkewReport.csv(distribution: parsed, items: items, samples: samples, seed: seed), terminator: "")
    }
}
