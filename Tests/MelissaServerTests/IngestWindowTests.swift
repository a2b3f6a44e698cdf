import XCTest
@testable import MelissaServer

final class IngestWindowTests: XCTestCase {
    func testAnEmptyWindowReportsNoRates() {
        let window = IngestWindow()
        XCTAssertEqual(window.seconds, 0)
        let summary = window.summary
        XCTAssertEqual(summary["messages"] as? Int, 0)
        XCTAssertNil(summary["first_message_unix"])
        XCTAssertNil(summary["bytes_per_second"])
        XCTAssertNil(summary["cpu_seconds_per_gb"])
    }

    func testTheWindowSpansFirstToLastMessageWithTheirBytes() {
        var window = IngestWindow()
        window.record(byteCount: 1_000, at: 5_000_000)
        window.record(byteCount: 3_000, at: 7_500_000)
        window.record(byteCount: 2_000, at: 6_000_000) // out of order: the window keeps its ends
        XCTAssertEqual(window.firstMicros, 5_000_000)
        XCTAssertEqual(window.lastMicros, 7_500_000)
        XCTAssertEqual(window.seconds, 2.5, accuracy: 1e-12)
        let summary = window.summary
        XCTAssertEqual(summary["bytes"] as? Int, 6_000)
        XCTAssertEqual(summary["bytes_per_second"] as? Double ?? 0, 6_000 / 2.5, accuracy: 1e-9)
        XCTAssertEqual(summary["messages_per_second"] as? Double ?? 0, 3 / 2.5, accuracy: 1e-12)
        XCTAssertEqual(summary["first_message_unix"] as? Double ?? 0, 5.0, accuracy: 1e-12)
    }

    func testOneMessageHasNoRate() {
        var window = IngestWindow()
        window.record(byteCount: 48, at: 1)
        XCTAssertEqual(window.seconds, 0)
        XCTAssertNil(window.summary["bytes_per_second"])
    }

    func testCPUIsSampledEveryIntervalFromTheFirstMessageOn() {
        var window = IngestWindow()
        let interval = Int(IngestWindow.cpuSampleInterval)
        for i in 0..<(interval - 1) { window.record(byteCount: 100, at: Int64(i)) }
        XCTAssertEqual(window.cpuBytes, 0, "no sample before the interval")
        // Burn some CPU so the sample cannot be 0.
        var x = 0.0
        for i in 0..<3_000_000 { x += Double(i).squareRoot() }
        XCTAssertGreaterThan(x, 0)
        window.record(byteCount: 100, at: Int64(interval))
        // Bytes after the first message, whose own arrival starts the CPU clock.
        XCTAssertEqual(window.cpuBytes, Int64((interval - 1) * 100))
        XCTAssertGreaterThan(window.cpuMicros, 0)
        XCTAssertNotNil(window.summary["cpu_seconds_per_gb"])
    }

    func testRanksMergeThroughTheReducedInitializer() {
        let merged = IngestWindow(firstMicros: 1_000_000, lastMicros: 3_000_000, messages: 10, bytes: 4_000,
                                  cpuMicros: 500_000, cpuBytes: 2_000_000_000)
        XCTAssertEqual(merged.seconds, 2, accuracy: 1e-12)
        XCTAssertEqual(merged.summary["cpu_seconds_per_gb"] as? Double ?? 0, 0.25, accuracy: 1e-12)
    }
}
