import Testing
@testable import KVWorkloads

@Suite struct YCSBWorkloadFileTests {
    @Test func parsesAGoodFile() throws {
        let text = """
        # Yahoo! Cloud System Benchmark
        # Workload E: short ranges
        recordcount=1000
        operationcount = 5000
        workload=site.ycsb.workloads.CoreWorkload

        readallfields=true
        readproportion=0
        updateproportion=0
        scanproportion=0.95
        insertproportion=0.05
        requestdistribution=zipfian
        maxscanlength=100
        scanlengthdistribution=uniform\r
        fieldcount=10
        fieldlength=100
        """
        let (definition, warnings) = try WorkloadDefinition.parseYCSB(text, name: "workloade")
        #expect(definition.name == "workloade")
        #expect(definition.recordCount == 1_000 && definition.operationCount == 5_000)
        #expect(definition.proportions == [OperationWeight(kind: .insert, weight: 0.05),
                                           OperationWeight(kind: .scan, weight: 0.95)])
        #expect(definition.requestDistribution == .zipfian(theta: 0.99))
        #expect(definition.maxScanLength == 100 && definition.scanLengthUniform)
        #expect(definition.fieldCount == 10 && definition.fieldLength == 100)
        #expect(definition.loadOrder == .random && definition.hasRunPhase && definition.special == .none)
        #expect(warnings.count == 3)
        #expect(warnings.contains { $0.contains("line 5") && $0.contains("workload") })
        #expect(warnings.contains { $0.contains("line 7") && $0.contains("readallfields") })
        #expect(warnings.allSatisfy { !$0.contains("unknown") })
        #expect(definition.withZipfTheta(0.8).requestDistribution == .zipfian(theta: 0.8))
        #expect(definition.insertsRecords)
    }

    @Test func defaultsAreYCSBs() throws {
        let (definition, warnings) = try WorkloadDefinition.parseYCSB("recordcount=10\n", name: "w")
        #expect(definition.proportions == [OperationWeight(kind: .read, weight: 0.95),
                                           OperationWeight(kind: .update, weight: 0.05)])
        #expect(definition.requestDistribution == .uniform)
        #expect(definition.maxScanLength == 1_000 && definition.scanLengthUniform)
        #expect(warnings.isEmpty)
    }

    @Test func unknownPropertyIsWarnedAbout() throws {
        let text = "readproportion=1\nupdateproportion=0\nmeasurementtype=histogram\nrequestdistribution=hotspot\nhotspotdatafraction=0.1\ninsertorder=ordered\n"
        let (definition, warnings) = try WorkloadDefinition.parseYCSB(text, name: "w")
        #expect(warnings == ["w line 3: unknown property 'measurementtype' is ignored."])
        #expect(definition.requestDistribution == .hotspot(hotFraction: 0.1, hotOperationFraction: 0.8))
        #expect(definition.loadOrder == .sequential)
    }

    @Test(arguments: [
        ("readproportion=1\nupdateproportion=abc\n", 2),
        ("# c\n\nrecordcount=-5\n", 3),
        ("requestdistribution=exponential\n", 1),
        ("maxscanlength=0\n", 1),
        ("scanlengthdistribution=zipfian\n", 1),
        ("readproportion=1.5\n", 1),
        ("a=1\njust some words\n", 2),
    ])
    func invalidValueIsRejectedWithItsLine(text: String, line: Int) {
        do {
            _ = try WorkloadDefinition.parseYCSB(text, name: "bad.properties")
            Issue.record("parsing should fail")
        } catch {
            #expect(error.description.hasPrefix("bad.properties line \(line):"), "\(error.description)")
        }
    }

    @Test func allZeroProportionsAreRejected() {
        #expect(throws: WorkloadError.self) {
            try WorkloadDefinition.parseYCSB("readproportion=0\nupdateproportion=0\n", name: "w")
        }
    }
}
