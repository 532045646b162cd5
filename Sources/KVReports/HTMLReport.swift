import Foundation
import KVResults

/// A self-contained HTML page (`report.html`): titled sections of paragraphs, lists, tables, preformatted
/// text and inline SVG charts, with its style sheet inline and nothing loaded from the network.
///
/// Every kind of result adds its sections through this one API:
///
/// ```swift
/// var page = HTMLDocument(title: "KVBench sweep")
/// page.add(HTMLDocument.Section("Throughput", [
///     .paragraph("memory budget 16 MiB to 256 MiB; one line per engine"),
///     .table(HTMLDocument.Table(header: ["budget", "lsm", "btree"], rows: [["16 MiB", "81,000", "12,000"]])),
///     .chart(title: "throughput against memory budget", svg: Charts.…),   // an SVG document from `Charts`
/// ]))
/// try page.render().write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
/// ```
///
/// Text in paragraphs, lists and cells is escaped; in paragraphs, lists and cells `**bold**` and `` `code` ``
/// (the Markdown report's emphasis) become `<strong>` and `<code>`. A chart's SVG is inlined as given.
public struct HTMLDocument: Sendable {
    /// One titled part of the page (`<section>` with an `<h2>`).
    public struct Section: Sendable {
        public var title: String
        public var blocks: [Block]
        public init(_ title: String, _ blocks: [Block]) {
            self.title = title
            self.blocks = blocks
        }
    }

    /// A table: a header row and body rows of plain-text cells.
    public struct Table: Sendable {
        public var caption: String?
        public var header: [String]
        public var rows: [[String]]
        public init(caption: String? = nil, header: [String], rows: [[String]]) {
            self.caption = caption
            self.header = header
            self.rows = rows
        }
    }

    /// What a section holds.
    public enum Block: Sendable {
        case paragraph(String)
        case list([String])
        case table(Table)
        /// A complete SVG document (as `Charts` returns), inlined in a `<figure>` with the title as caption.
        case chart(title: String, svg: String)
        case preformatted(String)
    }

    public var title: String
    public var sections: [Section] = []

    public init(title: String) {
        self.title = title
    }

    public mutating func add(_ section: Section) {
        sections.append(section)
    }

    static let style = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; max-width: 1000px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; padding-bottom: 0.2em; margin-top: 2em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
        th, td { border: 1px solid #999; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
        th { background: #eee; } tbody tr:nth-child(even) { background: #f7f7f7; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
        figure { margin: 1.5em 0; } figcaption { font-weight: bold; margin-bottom: 0.4em; }
        figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
        pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
        code { background: #f0f0f0; padding: 0 0.2em; }
        """

    /// The whole page.
    public func render() -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        html += "<title>\(Self.escape(title))</title>\n<style>\n\(Self.style)\n</style>\n</head>\n<body>\n"
        html += "<h1>\(Self.escape(title))</h1>\n"
        for section in sections {
            html += "<section>\n<h2>\(Self.escape(section.title))</h2>\n"
            for block in section.blocks { html += Self.render(block) }
            html += "</section>\n"
        }
        return html + "</body>\n</html>\n"
    }

    static func render(_ block: Block) -> String {
        switch block {
        case .paragraph(let text):
            return "<p>\(inline(text))</p>\n"
        case .list(let items):
            return "<ul>\n" + items.map { "<li>\(inline($0))</li>\n" }.joined() + "</ul>\n"
        case .preformatted(let text):
            return "<pre>\(escape(text))</pre>\n"
        case .chart(let title, let svg):
            return "<figure>\n<figcaption>\(escape(title))</figcaption>\n\(svg.trimmingCharacters(in: .whitespacesAndNewlines))\n</figure>\n"
        case .table(let table):
            var html = "<table>\n"
            if let caption = table.caption { html += "<caption>\(escape(caption))</caption>\n" }
            html += "<thead><tr>" + table.header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for row in table.rows {
                html += "<tr>" + row.enumerated().map { index, cell in
                    index > 0 && looksNumeric(cell) ? "<td class=\"number\">\(inline(cell))</td>" : "<td>\(inline(cell))</td>"
                }.joined() + "</tr>\n"
            }
            return html + "</tbody>\n</table>\n"
        }
    }

    /// True for cells that read as figures (`1,234.5`, `0.8 ±0.1`, `12 [10–14]`: a digit or sign first, no letter), right-aligned.
    static func looksNumeric(_ cell: String) -> Bool {
        guard let first = cell.first, first.isNumber || (first == "-" && cell.count > 1) else { return false }
        return !cell.contains(where: \.isLetter)
    }

    static func escape(_ text: String) -> String { SVGCanvas.escape(text) }

    /// Escapes `text`, then turns `**bold**` and `` `code` `` into `<strong>` and `<code>`.
    static func inline(_ text: String) -> String {
        var html = ""
        var bold = false, code = false
        var characters = Array(escape(text))[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            if character == "*" && characters.first == "*" && !code {
                characters = characters.dropFirst()
                html += bold ? "</strong>" : "<strong>"
                bold.toggle()
            } else if character == "`" {
                html += code ? "</code>" : "<code>"
                code.toggle()
            } else {
                html.append(character)
            }
        }
        if code { html += "</code>" }
        if bold { html += "</strong>" }
        return html
    }
}

/// The `report.html` of `run`/`compare`/`report` results: the Markdown report's tables and notes, with the charts inline.
public enum HTMLReport {
    public static func render(files: [ResultsFile], runs: [LabeledRun], charts: [(file: String, title: String, svg: String)]) -> String {
        var page = HTMLDocument(title: "KVBench report")
        page.add(HTMLDocument.Section("Conditions", [.paragraph(TextTables.conditions(runs.map(\.run)))]))
        let manifest = MarkdownReport.manifestTable(files)
        let parameters = MarkdownReport.parameterTable(runs)
        page.add(HTMLDocument.Section("Manifest", [.table(HTMLDocument.Table(header: manifest.header, rows: manifest.rows))]))
        page.add(HTMLDocument.Section("Parameters", [.table(HTMLDocument.Table(header: parameters.header, rows: parameters.rows))]))
        for phase in ["load", "run"] {
            let rows = TextTables.phaseRows(phase, columns: runs.map { (label: $0.label, runs: $0.repetitions) })
            guard let header = rows.first else { continue }
            var blocks: [HTMLDocument.Block] = [.table(HTMLDocument.Table(header: header, rows: Array(rows.dropFirst()))),
                                                .paragraph(TextTables.writeViewsLegend)]
            if runs.contains(where: { $0.repetitions.count > 1 }) { blocks.append(.paragraph(MarkdownReport.repetitionsNote)) }
            page.add(HTMLDocument.Section("\(phase.capitalized) phase", blocks))
        }
        let failures = files.flatMap { $0.failedRuns ?? [] }
        if !failures.isEmpty {
            page.add(HTMLDocument.Section("Failed runs", failures.flatMap { failure -> [HTMLDocument.Block] in
                [.paragraph("**\(failure.engine)**, repetition \(failure.repetition): \(failure.termination). Last output:"),
                 .preformatted(failure.stderrTail.joined(separator: "\n"))]
            }))
        }
        if !charts.isEmpty {
            page.add(HTMLDocument.Section("Charts", charts.map { .chart(title: $0.title, svg: $0.svg) }))
        }
        page.add(HTMLDocument.Section("Fairness notes", [.list(MarkdownReport.fairnessNotes(runs))]))
        return page.render()
    }
}
