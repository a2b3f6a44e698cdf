import Foundation
import XCTest
@testable import MelissaReport

/// Ticks, number formatting, escaping and decimation on their own.
final class PrimitivesTests: XCTestCase {
    func testNiceTicks() {
        let unit = NiceTicks(lower: 0, upper: 1)
        XCTAssertEqual(unit.step, 0.2, accuracy: 1e-12)
        XCTAssertEqual(unit.values.count, 6)
        XCTAssertEqual(NiceTicks(lower: -0.1, upper: 1.1).values.map { ($0 * 10).rounded() }, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(NiceTicks(lower: 0, upper: 99).values, [0, 20, 40, 60, 80])
        XCTAssertEqual(NiceTicks(lower: 0, upper: 3, minimumStep: 1).values, [0, 1, 2, 3])
        XCTAssertEqual(NiceTicks(lower: 0, upper: 3).values.count, 7, "without the minimum the step is 0.5")
        XCTAssertEqual(NiceTicks.niceStep(for: 0.23), 0.25, accuracy: 1e-12)
        XCTAssertEqual(NiceTicks.niceStep(for: 3.1), 5)
        XCTAssertEqual(NiceTicks.niceStep(for: 7), 10)
        XCTAssertTrue(NiceTicks(lower: 1, upper: 1).values.isEmpty)
        XCTAssertTrue(NiceTicks(lower: 0, upper: .nan).values.isEmpty)
        let rounded = NiceTicks.roundedOutward(lower: 17.3, upper: 42.1)
        XCTAssertEqual(rounded.lower, 15)
        XCTAssertEqual(rounded.upper, 45)
    }

    func testTickLabels() {
        XCTAssertEqual(NumberFormatting.tickLabel(0.30000000000000004, step: 0.1), "0.3")
        XCTAssertEqual(NumberFormatting.tickLabel(1e-17, step: 0.2), "0")
        XCTAssertEqual(NumberFormatting.tickLabel(-0.5, step: 0.5), "-0.5")
        XCTAssertEqual(NumberFormatting.tickLabel(0.75, step: 0.25), "0.75")
        XCTAssertEqual(NumberFormatting.tickLabel(7.5, step: 2.5), "7.5")
        XCTAssertEqual(NumberFormatting.tickLabel(40, step: 20), "40")
        XCTAssertEqual(NumberFormatting.tickLabel(2e7, step: 5e6), "2e+07")
        XCTAssertEqual(NumberFormatting.tickLabel(3e-5, step: 1e-5), "3e-05")
    }

    func testCoordinatesAndCounts() {
        XCTAssertEqual(NumberFormatting.coordinate(12.34), "12.3")
        XCTAssertEqual(NumberFormatting.coordinate(40.0), "40")
        XCTAssertEqual(NumberFormatting.coordinate(-0.01), "0")
        XCTAssertEqual(NumberFormatting.coordinate(.nan), "0")
        XCTAssertEqual(NumberFormatting.coordinate(-.infinity), "0")
        XCTAssertEqual(NumberFormatting.grouped(10_000), "10,000")
        XCTAssertEqual(NumberFormatting.grouped(999), "999")
        XCTAssertEqual(NumberFormatting.grouped(-1_234_567), "-1,234,567")
    }

    func testEscaping() {
        XCTAssertEqual(HTMLEscaping.escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;")
        XCTAssertEqual(HTMLEscaping.escape("tab\there\nσ"), "tab\there\nσ")
        XCTAssertEqual(HTMLEscaping.escape("a\u{0}b\u{1B}c\u{FFFE}"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}")
        XCTAssertEqual(HTMLEscaping.escape("&amp;"), "&amp;amp;", "already escaped text is escaped again: names are text")
    }

    func testLineDecimationKeepsExtremesAndBound() throws {
        let n = 10_007
        let x = steps(n)
        var y = x.map { sin($0 * 0.37) }
        y[5000] = 9
        y[123] = -9
        let runs = Decimation.lineRuns(x: x, y: y, maxPoints: 1000)
        XCTAssertEqual(runs.count, 1)
        let points = try XCTUnwrap(runs.first)
        XCTAssertLessThanOrEqual(points.count, 1000)
        XCTAssertGreaterThan(points.count, 900)
        XCTAssertTrue(points.contains(DataPoint(x: 5000, y: 9)))
        XCTAssertTrue(points.contains(DataPoint(x: 123, y: -9)))
        XCTAssertEqual(points.map(\.x), points.map(\.x).sorted(), "points stay in time order")
    }

    func testLineDecimationBreaksAtNaN() {
        let n = 10_000
        var y = steps(n).map { $0 }
        y[4000] = .nan
        let runs = Decimation.lineRuns(x: steps(n), y: y, maxPoints: 1000)
        XCTAssertEqual(runs.count, 2)
        XCTAssertTrue((runs.first?.last?.x ?? .infinity) < 4000)
        XCTAssertTrue((runs.last?.first?.x ?? -1) > 4000)
        XCTAssertLessThanOrEqual(runs.map(\.count).reduce(0, +), 1000)
    }

    func testBandDecimationKeepsTheEnvelope() throws {
        let n = 10_000
        let x = steps(n)
        var lower = x.map { _ in 0.0 }
        var upper = x.map { _ in 1.0 }
        lower[7777] = -3
        upper[2222] = 4
        upper[9000] = .nan
        let runs = Decimation.bandRuns(x: x, lower: lower, upper: upper, maxPoints: 1000)
        XCTAssertEqual(runs.count, 2)
        let all = runs.flatMap { $0 }
        XCTAssertLessThanOrEqual(all.count, 1000)
        XCTAssertEqual(all.map(\.lower).min(), -3)
        XCTAssertEqual(all.map(\.upper).max(), 4)
        XCTAssertTrue(all.allSatisfy { $0.lower.isFinite && $0.upper.isFinite })
    }

    func testMismatchedLengthsUseTheShortest() {
        XCTAssertEqual(Decimation.lineRuns(x: steps(10), y: [1, 2, 3], maxPoints: 1000).first?.count, 3)
        XCTAssertEqual(Decimation.bandRuns(x: steps(3), lower: steps(10), upper: steps(10), maxPoints: 1000).first?.count, 3)
    }
}
