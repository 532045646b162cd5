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
        #expect(definition.requestDistribution == .ycsbZipfian)
        #expect(definition.maxScanLength == 100 && definition.minScanLength == 1 && definition.scanLengthUniform)
        #expect(definition.fieldCount == 10 && definition.fieldLength == 100)
        #expect(definition.ycsb == YCSBSettings(insertProportion: 0.05))
        #expect(definition.loadOrder == .sequential && definition.hasRunPhase && definition.special == .none)
        #expect(warnings.isEmpty)
        #expect(definition.insertsRecords)
        let plain = definition.withoutYCSBMode().definition
        #expect(plain.ycsb == nil && plain.requestDistribution == .zipfian(theta: 0.99) && plain.loadOrder == .random)
        #expect(plain.withZipfTheta(0.8).requestDistribution == .zipfian(theta: 0.8))
    }

    @Test func defaultsAreYCSBs() throws {
        let (definition, warnings) = try WorkloadDefinition.parseYCSB("recordcount=10\n", name: "w")
        #expect(definition.proportions == [OperationWeight(kind: .read, weight: 0.95),
                                           OperationWeight(kind: .update, weight: 0.05)])
        #expect(definition.requestDistribution == .uniform)
        #expect(definition.maxScanLength == 1_000 && definition.scanLengthUniform && !definition.scanLengthZipfian)
        #expect(definition.ycsb?.layout == YCSBRecordLayout(fieldCount: 10, fieldLength: 100, readAllFields: true, writeAllFields: false))
        #expect(definition.ycsb?.keys == YCSBKeyBuilder(hashed: true, zeroPadding: 1))
        #expect(warnings.isEmpty)
    }

    @Test func readsWhatYCSBAccepts() throws {
        let text = """
        recordcount 1000
        operationcount: 20
        readproportion=2
        updateproportion = 2
        scanlengthdistribution=zipfian
        minscanlength=5
        maxscanlength=50
        requestdistribution=exponential
        exponential.percentile=90
        zeropadding=12
        insertorder=ordered
        fieldlengthdistribution=uniform
        fieldlength=\\
          200
        writeallfields=TRUE
        readallfields=no
        """
        let (definition, warnings) = try WorkloadDefinition.parseYCSB(text, name: "w")
        #expect(definition.recordCount == 1_000 && definition.operationCount == 20)
        #expect(definition.proportions == [OperationWeight(kind: .read, weight: 2), OperationWeight(kind: .update, weight: 2)])
        #expect(definition.scanLengthZipfian && definition.minScanLength == 5 && definition.maxScanLength == 50)
        #expect(definition.requestDistribution == .exponential(percentile: 90, fraction: YCSBExponentialDefaults.fraction))
        #expect(definition.ycsb?.keys == YCSBKeyBuilder(hashed: false, zeroPadding: 12))
        let layout = try #require(definition.ycsb?.layout)
        #expect(layout.fieldLength == 200 && layout.fieldLengthDistribution == .uniform && layout.writeAllFields && !layout.readAllFields)
        #expect(warnings.count == 1 && warnings[0].contains("readallfields=no is read as false"))
        // Weights of 2 and 2 are a 50/50 mix, as YCSB's DiscreteGenerator normalises them.
        var stream = OperationStream(definition: definition, recordCount: 1_000, seed: 1, thread: 0, threadCount: 1,
                                     insertCursor: InsertCounter(start: 1_000))
        let reads = (0..<10_000).filter { _ in stream.next().kind == .read }.count
        #expect(abs(reads - 5_000) < 300)
    }

    @Test func overridesWinOverTheFile() throws {
        let (definition, _) = try WorkloadDefinition.parseYCSB("recordcount=1000\nfieldcount=10\n", name: "w",
                                                                overrides: ["recordcount=50", "fieldcount=2", "requestdistribution=latest"])
        #expect(definition.recordCount == 50 && definition.ycsb?.layout.fieldCount == 2 && definition.requestDistribution == .ycsbLatest)
        #expect(throws: WorkloadError.self) { try WorkloadDefinition.parseYCSB("", name: "w", overrides: ["recordcount"]) }
    }

    @Test func clientOptionsAndUnknownPropertiesAreWarnedAbout() throws {
        let text = "readproportion=1\nupdateproportion=0\nmeasurementtype=histogram\nrequestdistribution=hotspot\nhotspotdatafraction=0.1\ninsertorder=ordered\nkeylengthdistribution=extremevalue\ntable=usertable\n"
        let (definition, warnings) = try WorkloadDefinition.parseYCSB(text, name: "w")
        #expect(warnings.count == 3)
        #expect(warnings.contains { $0.hasPrefix("w line 3: 'measurementtype' is a YCSB client option") })
        #expect(warnings.contains { $0.hasPrefix("w line 7: unknown property 'keylengthdistribution' is ignored") })
        #expect(warnings.contains { $0.hasPrefix("w line 8: table=usertable has no effect") })
        #expect(definition.requestDistribution == .ycsbHotspot(hotFraction: 0.1, hotOperationFraction: 0.8))
        #expect(definition.ycsb?.keys.hashed == false)
    }

    @Test(arguments: [
        ("readproportion=1\nupdateproportion=abc\n", 2),
        ("# c\n\nrecordcount=-5\n", 3),
        ("requestdistribution=pareto\n", 1),
        ("maxscanlength=0\n", 1),
        ("scanlengthdistribution=constant\n", 1),
        ("readproportion=x1.5\n", 1),
        ("fieldlengthdistribution=histogram\n", 1),
        ("insertstart=10\n", 1),
        ("dataintegrity=true\n", 1),
        ("workload=site.ycsb.workloads.TimeSeriesWorkload\n", 1),
        ("recordcount=0\n", 1),
        ("core_workload_insertion_retry_limit=3\n", 1),
    ])
    func invalidOrUnsupportedValueIsRefusedWithItsLine(text: String, line: Int) {
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
