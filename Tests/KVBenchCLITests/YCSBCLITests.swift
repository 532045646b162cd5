import Foundation
import KVResults
import Testing

/// The property lines of YCSB's own `workloads/workloada` … `workloadf` (their comments left out).
let ycsbCoreWorkloads: [(name: String, properties: String, generator: String)] = [
    ("workloada", "readproportion=0.5\nupdateproportion=0.5\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n", "ScrambledZipfianGenerator"),
    ("workloadb", "readproportion=0.95\nupdateproportion=0.05\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n", "ScrambledZipfianGenerator"),
    ("workloadc", "readproportion=1\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n", "ScrambledZipfianGenerator"),
    ("workloadd", "readproportion=0.95\nupdateproportion=0\nscanproportion=0\ninsertproportion=0.05\nrequestdistribution=latest\n", "SkewedLatestGenerator"),
    ("workloade", "readproportion=0\nupdateproportion=0\nscanproportion=0.95\ninsertproportion=0.05\nrequestdistribution=zipfian\nmaxscanlength=100\nscanlengthdistribution=uniform\n", "ScrambledZipfianGenerator"),
    ("workloadf", "readproportion=0.5\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nreadmodifywriteproportion=0.5\nrequestdistribution=zipfian\n", "ScrambledZipfianGenerator"),
]

func writeYCSBWorkload(_ workload: (name: String, properties: String, generator: String), in scratch: Scratch) throws -> String {
    let path = scratch.path + "/" + workload.name
    let text = "# Yahoo! Cloud System Benchmark\nrecordcount=1000\noperationcount=1000\nworkload=site.ycsb.workloads.CoreWorkload\n\nreadallfields=true\n\n" + workload.properties
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Test(arguments: ycsbCoreWorkloads.map(\.name))
func ycsbCoreWorkloadRunsAsIsAndSaysWhatRan(name: String) throws {
    let scratch = try Scratch()
    let workload = ycsbCoreWorkloads.first { $0.name == name }!
    let path = try writeYCSBWorkload(workload, in: scratch)
    let result = try CLI.run(["run", "--engine", "btree", "--workload", path, "--quiet", "--json", scratch.path + "/out.json"])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.contains("records of 10 fields × 100 B = 1,000 B stored as 1,140-byte values"), "\(result.standardOutput)")
    #expect(result.standardOutput.contains("keys ycsb-hashed (\"user\" + FNV-64(id)) drawn by \(workload.generator) (YCSB)"))
    #expect(!result.standardError.contains("warning"), "\(result.standardError)")
    let results = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/out.json")))
    let parameters = try #require(results.runs.first?.parameters)
    #expect(parameters.keyScheme == "ycsb-hashed" && parameters.accounting == "ycsb" && parameters.record?.recordBytes == 1_000)
    #expect(parameters.records == 1_000 && parameters.operations == 1_000)
    let run = try #require(results.runs.first?.phases.last)
    #expect(run.ycsbOperations?.values.reduce(0) { $0 + ($1.returns["NOT_FOUND"] ?? 0) } == 0, "every request finds its record")
    if name == "workloade" {
        #expect(parameters.maxScanLength == 100 && parameters.minScanLength == 1 && parameters.scanLengthDistribution == "uniform")
    }
}

/// `[SECTION], Metric, value` lines, as YCSB's TextMeasurementsExporter writes and its users parse them.
func parseYCSBOutput(_ text: String) -> [String: [String: String]] {
    var sections: [String: [String: String]] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.components(separatedBy: ", ")
        guard parts.count == 3, parts[0].hasPrefix("["), parts[0].hasSuffix("]") else { continue }
        sections[String(parts[0].dropFirst().dropLast()), default: [:]][parts[1]] = parts[2]
    }
    return sections
}

@Test func workloadFInYCSBFormatCountsReadModifyWriteAsYCSBDoes() throws {
    let scratch = try Scratch()
    let path = try writeYCSBWorkload(ycsbCoreWorkloads[5], in: scratch)
    let result = try CLI.run(["run", "--engine", "btree", "--workload", path, "--quiet", "--format", "ycsb",
                              "--json", scratch.path + "/out.json"])
    #expect(result.status == 0, "\(result.standardError)")
    for line in result.standardOutput.split(separator: "\n") {
        #expect(line.range(of: #"^\[[A-Z-]+\], [A-Za-z0-9()/=_]+, -?[0-9.E]+$"#, options: .regularExpression) != nil, "\(line)")
    }
    let sections = parseYCSBOutput(result.standardOutput)
    #expect(Set(sections.keys) == ["OVERALL", "READ", "UPDATE", "READ-MODIFY-WRITE"])
    #expect(sections["OVERALL"]?["RunTime(ms)"].flatMap { Int($0) } != nil)
    #expect(sections["OVERALL"]?["Throughput(ops/sec)"].flatMap { Double($0) } != nil)
    let reads = Int(sections["READ"]?["Operations"] ?? "") ?? -1
    let updates = Int(sections["UPDATE"]?["Operations"] ?? "") ?? -1
    let rmw = Int(sections["READ-MODIFY-WRITE"]?["Operations"] ?? "") ?? -1
    #expect(reads == 1_000, "every operation reads: 1000 = reads + read-modify-writes")
    #expect(updates == rmw && rmw > 400 && rmw < 600)
    for section in ["READ", "UPDATE", "READ-MODIFY-WRITE"] {
        for metric in ["AverageLatency(us)", "MinLatency(us)", "MaxLatency(us)", "95thPercentileLatency(us)", "99thPercentileLatency(us)"] {
            #expect(sections[section]?[metric].flatMap { Double($0) } != nil, "\(section) \(metric)")
        }
        #expect(sections[section]?["Return=OK"] == sections[section]?["Operations"])
    }
    let results = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/out.json")))
    let run = try #require(results.runs.first?.phases.last)
    #expect(run.ops["read_modify_write"]?.count == UInt64(rmw), "the JSON keeps KVBench's own per-kind figures")
    #expect((run.ops["read"]?.count ?? 0) + UInt64(rmw) == 1_000)
}

@Test func keysShowYCSBsZipfianAndTheExactOne() throws {
    func hottest(_ distribution: String) throws -> Double {
        let result = try CLI.run(["keys", "--distribution", distribution, "--items", "1000", "--samples", "200000"])
        let row = result.standardOutput.split(separator: "\n")[1].split(separator: ",")
        return Double(row[1])! / 200_000
    }
    #expect(abs(try hottest("zipfian") - 0.0386) < 0.002)
    #expect(abs(try hottest("zipfian-exact") - 0.1335) < 0.004)
}

@Test func ycsbModeFlagsAndOverrides() throws {
    let scratch = try Scratch()
    let sized = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-a", "--value-size", "200"])
    #expect(sized.status == 64 && sized.standardError.contains("--value-size does not apply in YCSB mode"), "\(sized.standardError)")
    let theta = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-a", "--zipf-theta", "0.8"])
    #expect(theta.status == 64 && theta.standardError.contains("zipfian-exact"), "\(theta.standardError)")
    let notYCSB = try CLI.run(["run", "--engine", "null", "--workload", "readrandom", "-p", "fieldcount=2"])
    #expect(notYCSB.status == 64 && notYCSB.standardError.contains("not a YCSB workload"))
    let badProperty = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-a", "-p", "fieldcount=zero"])
    #expect(badProperty.status == 64 && badProperty.standardError.contains("-p fieldcount=zero: fieldcount must be"), "\(badProperty.standardError)")

    let json = scratch.path + "/p.json"
    let overridden = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-c", "--records", "500", "--operations", "500", "--quiet",
                                  "-p", "fieldcount=2", "-p", "fieldlength=50", "-p", "insertorder=ordered", "-p", "zeropadding=10", "--json", json])
    #expect(overridden.status == 0, "\(overridden.standardError)")
    var parameters = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: json))).runs[0].parameters
    #expect(parameters.record?.recordBytes == 100 && parameters.record?.valueBytes == 128 && parameters.keyScheme == "ycsb-ordered")
    #expect(parameters.keySize == 14 && parameters.valueSize == 128)

    let plain = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-a", "--records", "500", "--operations", "500", "--quiet",
                             "--no-ycsb-mode", "--value-size", "200", "--json", json])
    #expect(plain.status == 0, "\(plain.standardError)")
    parameters = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: json))).runs[0].parameters
    #expect(parameters.keyScheme == "record-order" && parameters.record == nil && parameters.valueSize == 200)
    #expect(parameters.keyGenerator?.hasPrefix("exact Zipf") == true && parameters.accounting == "kvbench")

    let exact = try CLI.run(["run", "--engine", "null", "--workload", "ycsb-a", "--records", "500", "--operations", "500", "--quiet",
                             "--distribution", "zipfian-exact", "--json", json])
    #expect(exact.status == 0, "\(exact.standardError)")
    parameters = try JSONDecoder().decode(ResultsFile.self, from: Data(contentsOf: URL(fileURLWithPath: json))).runs[0].parameters
    #expect(parameters.keyScheme == "ycsb-hashed" && parameters.keyGenerator?.hasPrefix("exact Zipf") == true)
}
