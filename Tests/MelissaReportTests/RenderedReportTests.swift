import Foundation
import XCTest
@testable import MelissaReport

/// The whole page, parsed as XML: structure, counts, escaping, self-containedness.
final class RenderedReportTests: XCTestCase {
    func testSampleIsWellFormedXHTML() throws {
        let root = try XMLTreeBuilder.parse(ReportRenderer.html(SampleReport.make()))
        XCTAssertEqual(root.name, "html")
        XCTAssertEqual(root.attributes["xmlns"], "http://www.w3.org/1999/xhtml")
        XCTAssertEqual(root.elements("title").first?.fullText, "Sensitivity analysis: heat2d")
        XCTAssertEqual(root.elements("h1").first?.fullText, "Sensitivity analysis: heat2d")
    }

    func testChartGroupsComeBeforeTheFieldsWithTheirTitleAndCharts() throws {
        var report = SampleReport.make()
        let fieldCharts = try XMLTreeBuilder.parse(ReportRenderer.html(report)).elements("svg").count
        report.chartGroups = [ChartGroup(title: "Training <losses>", charts: [
            SVGLineChart(title: "loss", xLabel: "batch", yLabel: "log10 loss",
                         series: [ChartSeries(label: "train", x: [1, 2, 3], y: [0, -1, -2], colorIndex: 0)]),
            SVGLineChart(title: "samples", series: [ChartSeries(label: "n", x: [1, 2], y: [5, 9], colorIndex: 0)]),
        ])]
        let root = try XMLTreeBuilder.parse(ReportRenderer.html(report))
        XCTAssertEqual(root.elements("svg").count, fieldCharts + 2)
        let headings = root.elements("h2").map(\.fullText)
        let group = try XCTUnwrap(headings.firstIndex(of: "Training <losses>"), "\(headings)")
        let firstField = try XCTUnwrap(headings.firstIndex { $0.hasPrefix("Field ") })
        XCTAssertLessThan(group, firstField, "\(headings)")
    }

    func testSummaryRowsAndValuesArePresentInOrder() throws {
        let report = SampleReport.make()
        let root = try XMLTreeBuilder.parse(ReportRenderer.html(report))
        let table = try XCTUnwrap(root.elements("table").first { $0.hasClass("summary") })
        let rows = table.elements("tr").map { row in
            (row.elements("th").first?.fullText ?? "", row.elements("td").first?.fullText ?? "")
        }
        XCTAssertEqual(rows.count, report.summary.count)
        for (row, item) in zip(rows, report.summary) {
            XCTAssertEqual(row.0, item.label)
            XCTAssertEqual(row.1, item.value)
        }
        XCTAssertTrue(rows.contains { $0 == ("Simulations failed", "2") })
    }

    func testNotesAreShownInTheirBoxAndOmittedWhenThereAreNone() throws {
        var report = SampleReport.make()
        let root = try XMLTreeBuilder.parse(ReportRenderer.html(report))
        let box = try XCTUnwrap(root.all.first { $0.hasClass("notes") })
        XCTAssertEqual(box.elements("li").map(\.fullText), report.notes)

        report.notes = []
        let quiet = try XMLTreeBuilder.parse(ReportRenderer.html(report))
        XCTAssertNil(quiet.all.first { $0.hasClass("notes") })
    }

    func testSVGCountMatchesChartsOfEachProbe() throws {
        let sample = try XMLTreeBuilder.parse(ReportRenderer.html(SampleReport.make()))
        // 3 probes, each with mean ± σ and the two Sobol charts.
        XCTAssertEqual(sample.elements("svg").count, 9)
        XCTAssertEqual(sample.all.filter { $0.hasClass("field") }.count, 2)

        let t = steps(10)
        let band = Band(value: t.map { _ in 0.5 }, lower: t.map { _ in 0.4 }, upper: t.map { _ in 0.6 })
        let mixed = StudyReport(title: "mixed", generatedAt: "now", studyDirectory: "/tmp", fields: [
            FieldReport(name: "a", cellCount: 4, probes: [
                ProbeReport(cell: 0, time: t, mean: t),                                  // mean only: 1
                ProbeReport(cell: 1, time: t, sobol: [SobolSeries(parameter: "p", firstOrder: band,
                                                                  totalOrder: band)]),   // Sobol only: 2
                ProbeReport(cell: 2, time: t, standardDeviation: t),                     // σ without mean: 0
            ]),
            FieldReport(name: "b", cellCount: 4),
        ])
        let root = try XMLTreeBuilder.parse(ReportRenderer.html(mixed))
        XCTAssertEqual(root.elements("svg").count, 3)
        let empties = root.all.filter { $0.hasClass("empty") }.map(\.fullText)
        XCTAssertTrue(empties.contains("No statistics were recorded for this cell."))
        XCTAssertTrue(empties.contains("No probe cells were recorded for this field."))
    }

    func testNonFiniteDataNeverReachesAnAttribute() throws {
        let t = steps(50)
        var values = t.map { $0 / 50 }
        values[3] = .nan
        values[4] = .infinity
        values[10] = -.infinity
        let allNaN = t.map { _ in Double.nan }
        let band = Band(value: values, lower: values.map { $0 - 0.1 }, upper: allNaN)
        let probe = ProbeReport(cell: 7, time: t, mean: values, standardDeviation: allNaN,
                                sobol: [SobolSeries(parameter: "p", firstOrder: band,
                                                    totalOrder: Band(value: allNaN, lower: allNaN, upper: allNaN))])
        let report = StudyReport(title: "nan", generatedAt: "now", studyDirectory: "/tmp",
                                 fields: [FieldReport(name: "f", cellCount: 50, probes: [probe])])
        let html = ReportRenderer.html(report)
        let root = try XMLTreeBuilder.parse(html)
        XCTAssertEqual(root.elements("svg").count, 3)
        assertAllNumericAttributesFinite(root)
        for node in root.all {
            for (name, value) in node.attributes {
                XCTAssertFalse(value.lowercased().contains("nan"), "\(node.name) \(name)=\(value)")
            }
        }
    }

    func testHostileNamesAreEscaped() throws {
        let evil = "<script>alert('x')</script> & \"quoted\" &amp;"
        let t = steps(5)
        let band = Band(value: t.map { _ in 0.5 }, lower: t.map { _ in 0.4 }, upper: t.map { _ in 0.6 })
        let report = StudyReport(
            title: "Title " + evil, generatedAt: "2025-01-01T00:00:00Z", studyDirectory: "/tmp/<dir>&co",
            summary: [SummaryItem(label: "label " + evil, value: "value " + evil)],
            parameterNames: ["param " + evil],
            fields: [FieldReport(name: "field " + evil + "\u{0}\u{7}", cellCount: 5, probes: [
                ProbeReport(cell: 1, time: t, mean: t,
                            sobol: [SobolSeries(parameter: "param " + evil, firstOrder: band, totalOrder: band)]),
            ])],
            notes: ["note </li></ul><script>bad()</script>"])
        let html = ReportRenderer.html(report)
        XCTAssertFalse(html.contains("<script"), "a raw <script> tag made it into the page")
        let root = try XMLTreeBuilder.parse(html)
        XCTAssertTrue(root.elements("script").isEmpty)
        XCTAssertEqual(root.elements("h1").first?.fullText, "Title " + evil)
        XCTAssertEqual(root.elements("th").first?.fullText, "label " + evil)
        XCTAssertEqual(root.elements("td").first?.fullText, "value " + evil)
        XCTAssertEqual(root.all.first { $0.hasClass("notes") }?.elements("li").first?.fullText,
                       "note </li></ul><script>bad()</script>")
        XCTAssertTrue(root.elements("code").contains { $0.fullText == "/tmp/<dir>&co" })
        // Control characters XML cannot carry are replaced, the rest of the name survives.
        XCTAssertTrue(root.elements("code").contains { $0.fullText == "field " + evil + "\u{FFFD}\u{FFFD}" })
        let legendTexts = root.elements("g").filter { $0.hasClass("legend") }.flatMap { $0.elements("text") }.map(\.fullText)
        XCTAssertTrue(legendTexts.contains { $0.hasPrefix("param <script>") }, "legend: \(legendTexts)")
        XCTAssertEqual(root.elements("svg").first?.attributes["aria-label"], "Cell 1: mean")
    }

    func testPageIsSelfContained() throws {
        let html = ReportRenderer.html(SampleReport.make())
        let root = try XMLTreeBuilder.parse(html)
        for tag in ["script", "link", "img", "iframe", "object", "embed"] {
            XCTAssertTrue(root.elements(tag).isEmpty, "<\(tag)> in the report")
        }
        XCTAssertFalse(html.contains("url("), "CSS must not fetch anything")
        XCTAssertFalse(html.contains("@import"))
        // The only URLs are the XML namespace names, which browsers never fetch.
        let withoutNamespaces = html.replacingOccurrences(of: "http://www.w3.org/1999/xhtml", with: "")
            .replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        XCTAssertFalse(withoutNamespaces.contains("http:"))
        XCTAssertFalse(withoutNamespaces.contains("https:"))
        XCTAssertEqual(root.elements("style").count, 1)
    }

    func testWriteCreatesTheFileAtTheDefaultPath() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("melissa-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = ReportRenderer.defaultPath(studyDirectory: directory)
        XCTAssertEqual(path, directory + "/report.html")
        let report = SampleReport.make()
        try ReportRenderer.write(report, to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), ReportRenderer.html(report))
        XCTAssertThrowsError(try ReportRenderer.write(report, to: directory + "/missing/dir/report.html"))
    }
}
