import KVWorkbench
import Testing

/// The CLI's size reader, enough for these tests: a count with an optional KiB/MiB/GiB.
private func bytes(_ text: String) -> Int? {
    for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where text.hasSuffix(unit) {
        return Int(text.dropLast(unit.count)).map { $0 * scale }
    }
    return Int(text).flatMap { $0 > 0 ? $0 : nil }
}

@Test func aGeometricRangeExpandsUpToItsEnd() throws {
    let sizes = try SweepVariation.parse("value-size=16..4096x2", bytes: bytes)
    #expect(sizes.parameter == .valueSize)
    #expect(sizes.values == ["16", "32", "64", "128", "256", "512", "1024", "2048", "4096"])
    #expect(sizes.scale == .geometric)
    let budgets = try SweepVariation.parse("memory-budget=16MiB..1GiBx4", bytes: bytes)
    #expect(budgets.values == ["16MiB", "64MiB", "256MiB", "1GiB"])
    #expect(budgets.numbers == [16, 64, 256, 1024].map { Double($0 << 20) })
    #expect(try SweepVariation.parse("records=1000..5000x3", bytes: bytes).values == ["1000", "3000"])
}

@Test func anArithmeticRangeAndListsKeepTheirOrder() throws {
    let theta = try SweepVariation.parse("zipf-theta=0.5..1.2+0.1", bytes: bytes)
    #expect(theta.values == ["0.5", "0.6", "0.7", "0.8", "0.9", "1", "1.1", "1.2"])
    #expect(theta.scale == .linear)
    let list = try SweepVariation.parse("zipf-theta=0.5,0.8,0.99,1.2", bytes: bytes)
    #expect(list.values == ["0.5", "0.8", "0.99", "1.2"])
    #expect(list.scale == .linear)
    #expect(try SweepVariation.parse("memory-budget=16MiB,64MiB,256MiB", bytes: bytes).scale == .geometric)
    #expect(try SweepVariation.parse("threads=1, 2 ,4", bytes: bytes).values == ["1", "2", "4"])
}

@Test func settingsTakeAnyValues() throws {
    let ratio = try SweepVariation.parse("setting:lsm.level_size_ratio=4,10", bytes: bytes)
    #expect(ratio.parameter == .setting("lsm.level_size_ratio"))
    #expect(ratio.values == ["4", "10"])
    #expect(ratio.numbers == [4, 10])
    let named = try SweepVariation.parse("setting:lsm.compaction=leveled,tiered", bytes: bytes)
    #expect(named.scale == .categorical)
    #expect(named.numbers == nil)
}

@Test(arguments: [
    ("speed=1,2", "unknown --vary parameter 'speed'; choose one of: memory-budget, value-size, zipf-theta, records, threads, target-rate, setting:NAME"),
    ("memory-budget=", "--vary memory-budget= gives no values"),
    ("memory-budget", "must be PARAM=LIST"),
    ("threads=1,,2", "has an empty value"),
    ("threads=1,2,1", "names a value twice"),
    ("value-size=16..4096", "cannot read the range '16..4096'"),
    ("value-size=16..4096x1", "must be above 1"),
    ("value-size=4096..16x2", "ends below its start"),
    ("zipf-theta=0..1x2", "a geometric range starts above 0"),
    ("zipf-theta=0.5..1.2+0", "must be above 0"),
    ("records=1..1e9x1.001", "gives more than 1000 values"),
    ("records=1.5,2", "cannot read '1.5' as a whole number"),
    ("memory-budget=lots", "cannot read 'lots' as a size"),
    ("setting:=1,2", "names no setting"),
    ("setting:lsm.compaction=a..b+1", "takes a list, not a range"),
])
func badVariationsAreOneSentence(text: String, message: String) {
    #expect(throws: SweepVariationError.self) { try SweepVariation.parse(text, bytes: bytes) }
    do {
        _ = try SweepVariation.parse(text, bytes: bytes)
    } catch {
        #expect(error.description.contains(message), "\(text): \(error.description)")
        #expect(!error.description.contains("\n"))
    }
}
