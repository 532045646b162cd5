import Foundation
@testable import KVReports
import KVResults
import Testing

/// Headless Chromium (Debian's `chromium`), to render `report.html` as a browser does.
enum Chromium {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    static var path: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs chromium headless on `file` with `arguments`; its standard output.
    static func run(_ arguments: [String], file: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path, "chromium is not installed (scripts/install-deps --test installs it)"))
        let profile = NSTemporaryDirectory() + "kvbench-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        process.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--user-data-dir=\(profile)"] + arguments + ["file://" + file]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "chromium exited with status \(process.terminationStatus)")
        return data
    }

    /// The DOM chromium built from `file`.
    static func dom(_ file: String) throws -> String {
        String(decoding: try run(["--dump-dom"], file: file), as: UTF8.self)
    }

    /// The size in bytes of a PNG screenshot of `file`.
    static func screenshotBytes(_ file: String) throws -> Int {
        let png = NSTemporaryDirectory() + "kvbench-shot-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        _ = try run(["--screenshot=\(png)", "--window-size=1100,3000", "--hide-scrollbars"], file: file)
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "the screenshot is not a PNG")
        return data.count
    }

    /// Occurrences of the element `name` in a dumped DOM.
    static func count(_ name: String, in dom: String) -> Int {
        dom.components(separatedBy: "<\(name)").count - 1
    }
}

/// True when the HTML test can run: chromium is installed, or CI=true (where its absence must fail the test).
let chromiumTestRuns = Chromium.path != nil || Chromium.required

@Test(.enabled(if: chromiumTestRuns, "chromium is not installed (apt-get install chromium, or scripts/install-deps --test); under CI=true this test runs and fails without it"))
func reportHTMLRendersEveryChartAndTableInChromium() throws {
    let directory = NSTemporaryDirectory() + "kvbench-html-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let written = try ReportWriter.write([sampleResults(engine: "rocksdb"), sampleResults(engine: "lmdb", writeAmp: nil)], to: directory)
    #expect(written.html == "report.html")
    let file = directory + "/report.html"
    let html = try String(contentsOfFile: file, encoding: .utf8)
    for external in ["http://", "https://", "<link", "<script", "@import", "url("] {
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains(external), "report.html refers to \(external)")
    }
    // The manifest, the parameters and the run phase: three tables at least; every chart inline.
    let dom = try Chromium.dom(file)
    #expect(Chromium.count("svg", in: dom) == written.charts.count)
    #expect(Chromium.count("table", in: dom) >= 3)
    #expect(Chromium.count("figure", in: dom) == written.charts.count)

    // The same check catches a page that lost a chart or a table.
    let broken = directory + "/broken.html"
    var lost = html
    let start = try #require(lost.range(of: "<svg"))
    let end = try #require(lost.range(of: "</svg>", range: start.upperBound..<lost.endIndex))
    lost.removeSubrange(start.lowerBound..<end.upperBound)
    if let table = lost.range(of: "<table>"), let tableEnd = lost.range(of: "</table>", range: table.upperBound..<lost.endIndex) {
        lost.removeSubrange(table.lowerBound..<tableEnd.upperBound)
    }
    try lost.write(toFile: broken, atomically: true, encoding: .utf8)
    let brokenDOM = try Chromium.dom(broken)
    #expect(Chromium.count("svg", in: brokenDOM) == written.charts.count - 1)
    #expect(Chromium.count("table", in: brokenDOM) == Chromium.count("table", in: dom) - 1)

    // Not blank: the rendered page holds far more than an empty page of the same size.
    let empty = directory + "/empty.html"
    try "<!DOCTYPE html><html><body></body></html>".write(toFile: empty, atomically: true, encoding: .utf8)
    let blank = try Chromium.screenshotBytes(empty)
    let rendered = try Chromium.screenshotBytes(file)
    #expect(rendered > blank * 5, "the screenshot of report.html (\(rendered) B) is hardly larger than a blank page's (\(blank) B)")
}

@Test func htmlDocumentEscapesTextAndInlinesCharts() {
    var page = HTMLDocument(title: "a <b> & c")
    page.add(HTMLDocument.Section("one", [
        .paragraph("**bold** and `code <x>`"),
        .table(HTMLDocument.Table(header: ["name", "value"], rows: [["<lsm>", "1,200"]])),
        .chart(title: "chart", svg: "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n"),
    ]))
    let html = page.render()
    #expect(html.contains("<title>a &lt;b&gt; &amp; c</title>"))
    #expect(html.contains("<p><strong>bold</strong> and <code>code &lt;x&gt;</code></p>"))
    #expect(html.contains("<td>&lt;lsm&gt;</td><td class=\"number\">1,200</td>"))
    #expect(HTMLDocument.looksNumeric("12 [10–14]") && HTMLDocument.looksNumeric("-3.5"))
    #expect(!HTMLDocument.looksNumeric("7fe036c") && !HTMLDocument.looksNumeric("24105 MiB") && !HTMLDocument.looksNumeric("n/a"))
    #expect(html.contains("<figcaption>chart</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n</figure>"))
}

@Test func chartsCarryMarkersForGreyscale() throws {
    let runs = ReportWriter.label([sampleResults(engine: "rocksdb"), sampleResults(engine: "lmdb", writeAmp: nil)])
    let latency = try #require(Charts.latencyByPercentile(runs, phase: "run", operation: "read"))
    // rocksdb's squares and lmdb's diamonds are polygons (white halo and fill), in the plot and the legend.
    #expect(latency.components(separatedBy: "<polygon").count - 1 >= 16)
    let bars = try #require(Charts.rumTradeOff(runs))
    #expect(bars.contains("<polygon") && bars.contains("<circle"))
}

@Test(.enabled(if: chromiumTestRuns, "chromium is not installed (apt-get install chromium, or scripts/install-deps --test); under CI=true this test runs and fails without it"))
func capacityHTMLRendersItsChartAndTablesInChromium() throws {
    let directory = NSTemporaryDirectory() + "kvbench-capacity-html-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let probes = [1000.0, 2000, 4000, 2828].map { rate in
        CapacityProbe(engine: "lsm", repetition: 1, step: 1, stage: rate == 2828 ? "bisect" : "ramp", offeredOpsS: rate, achievedOpsS: rate,
                      operations: 100, errors: 0, elapsedS: 1, percentileUs: rate / 4, latencyUs: nil, meetsSLO: rate <= 2828, reason: nil)
    }
    let objective = LatencyObjective(percentile: "p99", boundUs: 1000)
    let plan = CapacitySearchPlan(startRate: 1000, maxRate: 1e7, growth: 2, resolution: 0.05, windowS: 1, operations: nil, warmup: "1s", rule: "r", database: "d")
    let answer = CapacityAnswer(engine: "lsm", repetitions: [CapacityRepetition(repetition: 1, outcome: .sustained, sustainedOpsS: 2828, lowestMissingOpsS: 4000, probes: 4)],
                                objective: objective, plan: plan)
    let results = CapacityResults(manifest: sampleResults().manifest, slo: objective, search: plan, parameters: nil, engines: [answer],
                                  probes: probes, failedRuns: [], partial: false)
    let written = try CapacityReport.write(results, to: directory)
    let dom = try Chromium.dom(directory + "/report.html")
    #expect(Chromium.count("svg", in: dom) == written.charts.count && written.charts.count == 1)
    #expect(Chromium.count("table", in: dom) == 3)
}

@Test(.enabled(if: chromiumTestRuns, "chromium is not installed (apt-get install chromium, or scripts/install-deps --test); under CI=true this test runs and fails without it"))
func sweepHTMLRendersEveryChartAndTableInChromium() throws {
    let directory = NSTemporaryDirectory() + "kvbench-sweep-html-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let written = try SweepReport.write(sampleSweep(), to: directory)
    #expect(written.html == "report.html")
    let dom = try Chromium.dom(directory + "/report.html")
    #expect(Chromium.count("svg", in: dom) == written.charts.count)
    // The manifest, one table per figure chart (the RUM chart has none) and the model's shapes.
    #expect(Chromium.count("table", in: dom) == 1 + (written.charts.count - 1) + 1)
}
