import Foundation
import XCTest
@testable import MelissaReport

/// Writes the sample report to `$MELISSA_REPORT_SAMPLE_DIR/report.html` (and an edge-case one to
/// `report-stress.html`) so they can be looked at and rendered to PNG, see docs/REPORT.md;
/// skipped when the variable is unset.
final class SampleWriterTests: XCTestCase {
    func testWriteSampleWhenRequested() throws {
        guard let directory = ProcessInfo.processInfo.environment["MELISSA_REPORT_SAMPLE_DIR"], !directory.isEmpty else {
            throw XCTSkip("set MELISSA_REPORT_SAMPLE_DIR to write the sample report")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = ReportRenderer.defaultPath(studyDirectory: directory)
        try ReportRenderer.write(SampleReport.make(), to: path)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(written.contains("Sensitivity analysis: heat2d"))
        _ = try XMLTreeBuilder.parse(written)

        let stressPath = URL(fileURLWithPath: directory).appendingPathComponent("report-stress.html").path
        try ReportRenderer.write(StressReport.make(), to: stressPath)
        _ = try XMLTreeBuilder.parse(try String(contentsOfFile: stressPath, encoding: .utf8))
    }
}
