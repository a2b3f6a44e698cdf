import Foundation
import XCTest
@testable import MelissaReport

/// Individual charts, parsed as XML: point counts, decimation, NaN breaks, markers, bounds.
final class ChartGeometryTests: XCTestCase {
    private func parse(_ chart: SVGLineChart) throws -> XMLNode {
        try XMLTreeBuilder.parse(chart.svg())
    }

    func testShortSeriesKeepsEveryPoint() throws {
        let t = steps(100)
        let chart = SVGLineChart(title: "short", series: [ChartSeries(label: "a", x: t, y: t.map { sin($0) }, colorIndex: 0)])
        let lines = try pointLists(parse(chart), element: "polyline", cls: "series", series: 0)
        XCTAssertEqual(lines.map(\.count), [100])
        // x strictly increasing along the line.
        let xs = try XCTUnwrap(lines.first).map(\.x)
        XCTAssertEqual(xs, xs.sorted())
        XCTAssertEqual(Set(xs).count, 100)
    }

    func testLongSeriesAreDecimatedWithinTheBound() throws {
        let n = 10_000
        let t = steps(n)
        let probe = ProbeReport(cell: 3, time: t, mean: t.map { sin($0 / 100) }, standardDeviation: t.map { _ in 0.1 },
                                sobol: [SobolSeries(parameter: "p",
                                                    firstOrder: Band(value: t.map { _ in 0.5 }, lower: t.map { _ in 0.4 },
                                                                     upper: t.map { _ in 0.6 }),
                                                    totalOrder: Band(value: t.map { _ in 0.7 }, lower: t.map { _ in 0.6 },
                                                                     upper: t.map { _ in 0.8 }))])
        let charts = ProbeCharts.charts(for: probe)
        XCTAssertEqual(charts.count, 3)
        for chart in charts {
            let svg = try parse(chart)
            let linePoints = try pointLists(svg, element: "polyline", cls: "series", series: 0).map(\.count).reduce(0, +)
            XCTAssertLessThanOrEqual(linePoints, 1000, chart.title)
            XCTAssertGreaterThanOrEqual(linePoints, 500, "decimated far more than needed: \(chart.title)")
            let bandPoints = try pointLists(svg, element: "polygon", cls: "band", series: 0).map(\.count).reduce(0, +)
            XCTAssertLessThanOrEqual(bandPoints, 2 * 1000, chart.title)
            XCTAssertGreaterThan(bandPoints, 0, chart.title)
        }
        // The file stays small: well under a megabyte for three 10,000-step charts.
        XCTAssertLessThan(charts.map { $0.svg().utf8.count }.reduce(0, +), 300_000)
    }

    func testSingleStepSpikeSurvivesDecimation() throws {
        let n = 10_000
        var y = [Double](repeating: 0, count: n)
        y[4321] = 100
        y[777] = -50
        let chart = SVGLineChart(title: "spike", series: [ChartSeries(label: "a", x: steps(n), y: y, colorIndex: 0)])
        let svg = try parse(chart)
        let area = try plotArea(of: svg)
        let points = try pointLists(svg, element: "polyline", cls: "series", series: 0).flatMap { $0 }
        let layout = chart.layout
        let top = try XCTUnwrap(points.min { $0.y < $1.y })
        let bottom = try XCTUnwrap(points.max { $0.y < $1.y })
        XCTAssertEqual(top.y, (layout.plotArea.bottom - (100 - layout.yRange.lowerBound)
                               / (layout.yRange.upperBound - layout.yRange.lowerBound) * area.height), accuracy: 0.1)
        XCTAssertEqual(top.x, area.left + 4321.0 / 9999.0 * area.width, accuracy: 0.1)
        XCTAssertEqual(bottom.x, area.left + 777.0 / 9999.0 * area.width, accuracy: 0.1)
    }

    func testNaNBreaksLineAndBand() throws {
        let t = steps(100)
        var y = t.map { $0 / 100 }
        y[30] = .nan
        y[60] = .infinity
        let chart = SVGLineChart(title: "gaps", series: [
            ChartSeries(label: "a", x: t, y: y, lower: y.map { $0 - 0.1 }, upper: y.map { $0 + 0.1 }, colorIndex: 0),
        ])
        let svg = try parse(chart)
        XCTAssertEqual(try pointLists(svg, element: "polyline", cls: "series", series: 0).map(\.count), [30, 29, 39])
        XCTAssertEqual(try pointLists(svg, element: "polygon", cls: "band", series: 0).map(\.count), [60, 58, 78])
        assertAllNumericAttributesFinite(svg)
    }

    func testIsolatedPointsBecomeMarkers() throws {
        let single = SVGLineChart(title: "one", series: [
            ChartSeries(label: "a", x: [5], y: [0.3], lower: [0.2], upper: [0.4], colorIndex: 0),
        ], yAxis: .sobolIndex)
        let svg = try parse(single)
        XCTAssertTrue(svg.elements("polyline").isEmpty)
        XCTAssertTrue(svg.elements("polygon").isEmpty)
        XCTAssertEqual(svg.elements("circle").filter { $0.hasClass("marker") }.count, 1)
        XCTAssertEqual(svg.elements("line").filter { $0.hasClass("band-bar") }.count, 1)
        assertAllNumericAttributesFinite(svg)
        let marker = try XCTUnwrap(svg.elements("circle").first)
        let area = try plotArea(of: svg)
        // The lone step sits in the middle of an axis built around it.
        XCTAssertEqual(Double(marker.attributes["cx"] ?? "") ?? .nan, area.left + area.width / 2, accuracy: 0.1)

        let between = SVGLineChart(title: "between", series: [
            ChartSeries(label: "a", x: steps(5), y: [1, .nan, 2, .nan, 3], colorIndex: 0),
        ])
        XCTAssertEqual(try parse(between).elements("circle").count, 3)
    }

    func testAllNaNSeriesDrawsNothingButStaysValid() throws {
        let nan = [Double](repeating: .nan, count: 20)
        let chart = SVGLineChart(title: "empty", series: [ChartSeries(label: "a", x: steps(20), y: nan, lower: nan,
                                                                      upper: nan, colorIndex: 0)])
        let svg = try parse(chart)
        XCTAssertTrue(svg.elements("polyline").isEmpty)
        XCTAssertTrue(svg.elements("polygon").isEmpty)
        XCTAssertEqual(svg.elements("g").filter { $0.hasClass("legend") }.first?.elements("text").count, 1)
        assertAllNumericAttributesFinite(svg)
    }

    func testBandPolygonsStayInsideThePlotArea() throws {
        let t = steps(200)
        // Wide early intervals (±50 at step 0) and an infinite bound: both must stay inside the frame.
        let value = t.map { 0.4 + 0.1 * sin($0 / 7) }
        let half = t.map { 50 / ($0 + 1) }
        var upper = zip(value, half).map { $0 + $1 }
        upper[100] = .infinity
        let lower = zip(value, half).map { $0 - $1 }
        let chart = SVGLineChart(title: "wide", series: [
            ChartSeries(label: "a", x: t, y: value, lower: lower, upper: upper, colorIndex: 0),
            ChartSeries(label: "b", x: t, y: value.map { $0 + 0.2 }, lower: value, upper: value.map { $0 + 0.4 }, colorIndex: 1),
        ], yAxis: .sobolIndex)
        let svg = try parse(chart)
        let area = try plotArea(of: svg)
        var checked = 0
        for index in 0..<2 {
            for polygon in try pointLists(svg, element: "polygon", cls: "band", series: index) {
                for p in polygon {
                    checked += 1
                    XCTAssertTrue(p.x >= area.left - 0.05 && p.x <= area.right + 0.05, "x \(p.x) outside \(area)")
                    XCTAssertTrue(p.y >= area.top - 0.05 && p.y <= area.bottom + 0.05, "y \(p.y) outside \(area)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 300)
        XCTAssertEqual(chart.layout.yRange, -1...2, "Sobol axis grows to its limit, no further")
        XCTAssertTrue(chart.layout.clipsData)
        XCTAssertEqual(svg.elements("text").filter { $0.hasClass("clip-note") }.count, 1)
    }

    func testSobolAxisKeepsItsDefaultRangeAndGrowsWithTheData() {
        let t = steps(10)
        func range(_ low: Double, _ high: Double) -> ClosedRange<Double> {
            let series = ChartSeries(label: "a", x: t, y: t.map { _ in (low + high) / 2 },
                                     lower: t.map { _ in low }, upper: t.map { _ in high }, colorIndex: 0)
            return SVGLineChart(title: "s", series: [series], yAxis: .sobolIndex).layout.yRange
        }
        XCTAssertEqual(range(0.2, 0.8), -0.1...1.1)
        let grown = range(0.2, 1.35)
        XCTAssertEqual(grown.lowerBound, -0.1)
        XCTAssertGreaterThanOrEqual(grown.upperBound, 1.35)
        XCTAssertLessThanOrEqual(grown.upperBound, 1.6)
        XCTAssertEqual(range(-5, 0.5).lowerBound, -1)
    }

    func testAutomaticAxisCoversTheDataAndEndsOnTicks() {
        let t = steps(30)
        let chart = SVGLineChart(title: "auto", series: [ChartSeries(label: "a", x: t, y: t.map { 17.3 + $0 * 0.855 },
                                                                     colorIndex: 0)])
        let layout = chart.layout
        XCTAssertLessThanOrEqual(layout.yRange.lowerBound, 17.3)
        XCTAssertGreaterThanOrEqual(layout.yRange.upperBound, 17.3 + 29 * 0.855)
        XCTAssertEqual(layout.yTicks.values.first ?? .nan, layout.yRange.lowerBound, accuracy: 1e-9)
        XCTAssertEqual(layout.yTicks.values.last ?? .nan, layout.yRange.upperBound, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(layout.yTicks.values.count, 4)
        XCTAssertLessThanOrEqual(layout.yTicks.values.count, 11)
        // Time steps are integers: no 2.5-step ticks on the x axis.
        XCTAssertTrue(layout.xTicks.values.allSatisfy { $0 == $0.rounded() })

        let constant = SVGLineChart(title: "flat", series: [ChartSeries(label: "a", x: t, y: t.map { _ in 5 }, colorIndex: 0)])
        XCTAssertTrue(constant.layout.yRange.contains(5))
        XCTAssertGreaterThan(constant.layout.yRange.upperBound - constant.layout.yRange.lowerBound, 0)
    }

    func testAxesCarryTickLabelsAndAxisTitles() throws {
        let chart = SVGLineChart(title: "labels", xLabel: "time step", yLabel: "value",
                                 series: [ChartSeries(label: "a", x: steps(101), y: steps(101), colorIndex: 0)])
        let svg = try parse(chart)
        let tickLabels = svg.elements("g").filter { $0.hasClass("tick-labels") }.flatMap { $0.elements("text") }.map(\.fullText)
        XCTAssertTrue(tickLabels.contains("0"))
        XCTAssertTrue(tickLabels.contains("100"))
        XCTAssertTrue(tickLabels.contains("50") || tickLabels.contains("40"), "\(tickLabels)")
        let axisLabels = svg.elements("text").filter { $0.hasClass("axis-label") }.map(\.fullText)
        XCTAssertEqual(Set(axisLabels), ["time step", "value"])
        XCTAssertEqual(svg.elements("text").first { $0.hasClass("chart-title") }?.fullText, "labels")
    }

    func testParametersGetDistinctColoursConsistentAcrossCharts() throws {
        let probe = SampleReport.probe(cell: 1, phase: 0)
        let charts = ProbeCharts.charts(for: probe)
        XCTAssertEqual(charts.count, 3)
        var strokesPerChart: [[String]] = []
        for chart in charts.dropFirst() {
            let svg = try parse(chart)
            let strokes = (0..<3).map { index in
                svg.elements("polyline").first { $0.attributes["data-series"] == String(index) }?.attributes["stroke"] ?? "?"
            }
            XCTAssertEqual(Set(strokes).count, 3, "\(strokes)")
            strokesPerChart.append(strokes)
            let legend = svg.elements("g").filter { $0.hasClass("legend") }.flatMap { $0.elements("text") }.map(\.fullText)
            XCTAssertEqual(legend, SampleReport.parameters)
        }
        XCTAssertEqual(strokesPerChart.first, strokesPerChart.last)
        XCTAssertTrue(ChartPalette.colors.contains(strokesPerChart.first?.first ?? ""))
    }

    func testLegendWrapsInsideTheChartAndChartsOfAProbeShareTheirHeight() throws {
        let names = (1...9).map { "a rather long parameter name \($0)" }
        let t = steps(20)
        let band = Band(value: t.map { _ in 0.3 }, lower: t.map { _ in 0.2 }, upper: t.map { _ in 0.4 })
        let probe = ProbeReport(cell: 0, time: t, mean: t, standardDeviation: t,
                                sobol: names.map { SobolSeries(parameter: $0, firstOrder: band, totalOrder: band) })
        let charts = ProbeCharts.charts(for: probe)
        XCTAssertEqual(Set(charts.map { $0.layout.height }).count, 1, "charts in one row should line up")
        let sobol = try XCTUnwrap(charts.last)
        let layout = sobol.layout
        XCTAssertEqual(layout.legend.count, 9)
        XCTAssertGreaterThan(Set(layout.legend.map(\.y)).count, 3, "nine long names need several rows")
        for item in layout.legend {
            let right = item.x + ChartLayout.swatchWidth + Double(item.text.count) * ChartLayout.charWidth
            XCTAssertLessThanOrEqual(right, layout.width, item.text)
            XCTAssertLessThan(item.y, layout.height)
            XCTAssertGreaterThan(item.y, layout.plotArea.bottom)
        }
        // The 9th parameter wraps the palette and is told apart by its dash pattern.
        let svg = try parse(sobol)
        let ninth = try XCTUnwrap(svg.elements("polyline").first { $0.attributes["data-series"] == "8" })
        XCTAssertNotNil(ninth.attributes["stroke-dasharray"])
    }
}
