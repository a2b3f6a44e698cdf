import Foundation
import XCTest
@testable import MelissaMonitor

/// The Prometheus and HTML renderers on their own, without a server.
final class RendererTests: XCTestCase {
    func testPrometheusNumbers() throws {
        let metrics = try PrometheusExposition(parsing: PrometheusMetrics.render(Fixtures.status))
        XCTAssertEqual(metrics.value("melissa_simulations", ["state": "finished"]), 4)
        XCTAssertEqual(metrics.value("melissa_simulations", ["state": "running"]), 2)
        XCTAssertEqual(metrics.value("melissa_simulations", ["state": "waiting"]), 3)
        XCTAssertEqual(metrics.value("melissa_simulations", ["state": "failed"]), 1)
        XCTAssertEqual(metrics.value("melissa_simulations_total"), 10)
        XCTAssertEqual(metrics.value("melissa_bytes_received_total"), 1_048_576)
        XCTAssertEqual(metrics.value("melissa_throughput_bytes_per_second"), 8192.5)
        XCTAssertEqual(metrics.value("melissa_eta_seconds"), 187.5)
        XCTAssertEqual(metrics.value("melissa_start_time_seconds"), 1_700_000_000.5)
        XCTAssertEqual(metrics.value("melissa_elapsed_seconds"), 125.25)
        XCTAssertEqual(metrics.value("melissa_server_ranks"), 4)
        XCTAssertEqual(metrics.value("melissa_server_restarts_total"), 1)
        XCTAssertEqual(metrics.value("melissa_server_info", ["state": "running"]), 1)
        XCTAssertEqual(metrics.value("melissa_jobs", ["state": "finished"]), 1)
        XCTAssertEqual(metrics.value("melissa_jobs", ["state": "failed"]), 1)
        XCTAssertEqual(metrics.value("melissa_study_info",
                                     ["study": "/scratch/études/run-1", "scheduler": "openmpi", "state": "running"]), 1)
        XCTAssertEqual(metrics.type["melissa_bytes_received_total"], "counter")
        XCTAssertEqual(metrics.type["melissa_server_restarts_total"], "counter")
        XCTAssertEqual(metrics.type["melissa_simulations"], "gauge")
        // Every family that has a TYPE also has a HELP, and the other way round.
        XCTAssertEqual(Set(metrics.help.keys), Set(metrics.type.keys))
    }

    func testPrometheusTrainingFamiliesHaveSamplesOnlyForATrainingStudy() throws {
        let plain = try PrometheusExposition(parsing: PrometheusMetrics.render(Fixtures.status))
        for name in ["melissa_training_steps_total", "melissa_training_samples_total", "melissa_training_loss",
                     "melissa_validation_loss"] {
            XCTAssertNotNil(plain.help[name], name)
            XCTAssertFalse(plain.samples.contains { $0.name == name }, name)
        }
        var status = Fixtures.status
        status.training = StudyStatus.Training(batch: 300, samples: 9600, trainLoss: 0.125, validLoss: 0.5)
        let metrics = try PrometheusExposition(parsing: PrometheusMetrics.render(status))
        XCTAssertEqual(metrics.value("melissa_training_steps_total"), 300)
        XCTAssertEqual(metrics.value("melissa_training_samples_total"), 9600)
        XCTAssertEqual(metrics.value("melissa_training_loss"), 0.125)
        XCTAssertEqual(metrics.value("melissa_validation_loss"), 0.5)
        XCTAssertEqual(metrics.type["melissa_training_steps_total"], "counter")
        status.training?.validLoss = nil
        let noValidation = try PrometheusExposition(parsing: PrometheusMetrics.render(status))
        XCTAssertFalse(noValidation.samples.contains { $0.name == "melissa_validation_loss" })
    }

    func testPrometheusEscapesLabelValues() throws {
        var status = Fixtures.status
        status.study = "C:\\runs\\\"x\"\nnext"
        status.jobs[1].state = "od\"d\\\n"
        let text = PrometheusMetrics.render(status)
        XCTAssertTrue(text.contains(#"study="C:\\runs\\\"x\"\nnext""#), text)
        let metrics = try PrometheusExposition(parsing: text)
        XCTAssertEqual(metrics.samples.first { $0.name == "melissa_study_info" }?.labels["study"], status.study)
        XCTAssertEqual(metrics.value("melissa_jobs", ["state": "od\"d\\\n"]), 1)
    }

    func testPrometheusUnknownETAHasNoSampleAndBigCountersStayExact() throws {
        var status = Fixtures.status
        status.etaSeconds = nil
        status.bytesReceived = UInt64(1) << 60 | 1
        status.throughputBytesPerSecond = .nan
        let text = PrometheusMetrics.render(status)
        let metrics = try PrometheusExposition(parsing: text)
        XCTAssertFalse(metrics.samples.contains { $0.name == "melissa_eta_seconds" })
        XCTAssertNotNil(metrics.help["melissa_eta_seconds"])
        XCTAssertTrue(text.contains("\nmelissa_bytes_received_total 1152921504606846977\n"), text)
        XCTAssertTrue(text.contains("\nmelissa_throughput_bytes_per_second NaN\n"), text)
    }

    func testPageEscapesHostileStrings() {
        var status = Fixtures.status
        status.jobs[1].reason = Fixtures.hostileReason
        status.jobs[1].batchJob = "<b>job</b>"
        status.study = "/tmp/<img src=x onerror=alert(2)>"
        let page = StatusPage.render(status, token: "t")
        XCTAssertFalse(page.contains("<script>alert(1)"), "hostile reason unescaped")
        XCTAssertFalse(page.contains("<img"), "hostile study unescaped")
        XCTAssertFalse(page.contains("<b>job"), "hostile batch job unescaped")
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;single&#39;"))
        XCTAssertTrue(page.contains("<title>Melissa: /tmp/&lt;img src=x onerror=alert(2)&gt;</title>"))
        // Exactly one script element: ours.
        XCTAssertEqual(page.components(separatedBy: "<script").count - 1, 1)
    }

    func testPageEmbedsTheTokenAsAnInertJavaScriptString() {
        let token = "a\"b'c</script><script>alert(3)</script>\\\u{2028}é"
        let page = StatusPage.render(Fixtures.status, token: token)
        XCTAssertFalse(page.contains("</script><script>alert(3)"))
        XCTAssertTrue(page.contains(#"const TOKEN = "a\u0022b\u0027c\u003c/script\u003e\u003cscript\u003ealert(3)\u003c/script\u003e\u005c\u2028\u00e9";"#),
                      page)
        XCTAssertEqual(page.components(separatedBy: "</script>").count - 1, 1)
        XCTAssertTrue(page.contains("fetch('status.json?token=' + encodeURIComponent(TOKEN)"))
    }

    func testPageIsSelfContained() {
        let page = StatusPage.render(Fixtures.status, token: "t", nonce: "abc123")
        for external in ["http://", "https://", "//cdn", "src=", "<link", "@import", "url("] {
            XCTAssertFalse(page.contains(external), "external resource marker \(external)")
        }
        XCTAssertTrue(page.contains("<style nonce=\"abc123\">"))
        XCTAssertTrue(page.contains("<script nonce=\"abc123\">"))
        // The meta refresh exists only as the no-JS fallback.
        XCTAssertEqual(page.components(separatedBy: "http-equiv=\"refresh\"").count - 1, 1)
        XCTAssertTrue(page.contains("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"))
    }

    func testPageShowsTheNumbers() {
        let page = StatusPage.render(Fixtures.status, token: "t")
        XCTAssertTrue(page.contains("<progress id=\"bar\" max=\"10\" value=\"4\"></progress>"))
        XCTAssertTrue(page.contains("<span id=\"fraction\">4 / 10</span>"))
        XCTAssertTrue(page.contains("<span id=\"pct\">40%</span>"))
        XCTAssertTrue(page.contains("<dd id=\"eta\">3 min 08 s</dd>"))
        XCTAssertTrue(page.contains("<dd id=\"throughput\">8.0 KiB/s</dd>"))
        XCTAssertTrue(page.contains("<dd id=\"bytes\">1.0 MiB</dd>"))
        XCTAssertTrue(page.contains("<dd id=\"srv-ranks\">4</dd>"))
        XCTAssertTrue(page.contains("<dd id=\"srv-restarts\">1</dd>"))
        XCTAssertTrue(page.contains("<td>3</td><td>6, 7</td><td class=\"state-failed\">failed</td><td>137</td>"))
        XCTAssertTrue(page.contains("<td>12345.pbs</td>"))
    }

    func testChartPlotsThroughputFromHistory() {
        var status = Fixtures.status
        status.history = [.init(t: 0, bytesReceived: 0, finished: 0), .init(t: 10, bytesReceived: 1000, finished: 1),
                          .init(t: 20, bytesReceived: 1500, finished: 2), .init(t: 20, bytesReceived: 1600, finished: 2)]
        let page = StatusPage.render(status, token: "t")
        // Rates 100 B/s at t=10 and 50 B/s at t=20 (the sample at an equal time is skipped);
        // x spans 90...630 over t 0...20 and y spans 175 (0) up to 10 (peak).
        XCTAssertTrue(page.contains("points=\"360.0,10.0 630.0,92.5\""), page)
        XCTAssertTrue(page.contains(">100 B/s</text>"))
        XCTAssertTrue(page.contains(">no data yet</text>") == false)

        status.history = []
        XCTAssertTrue(StatusPage.render(status, token: "t").contains(">no data yet</text>"))
    }

    func testSimulationListCollapsesRuns() {
        XCTAssertEqual(StatusPage.simulationList([0, 1, 2, 3, 7, 9, 10]), "0–3, 7, 9, 10")
        XCTAssertEqual(StatusPage.simulationList([]), "")
        XCTAssertEqual(StatusPage.simulationList([UInt32.max - 1, UInt32.max]), "4294967294, 4294967295")
    }

    func testTokenComparison() {
        let token = Array("secret".utf8)
        XCTAssertTrue(TokenComparison.equal(Array("secret".utf8), token))
        XCTAssertFalse(TokenComparison.equal(Array("secreT".utf8), token))
        XCTAssertFalse(TokenComparison.equal(Array("secre".utf8), token))
        XCTAssertFalse(TokenComparison.equal(Array("secret!".utf8), token))
        XCTAssertFalse(TokenComparison.equal(Array("secret\0".utf8), token))
        XCTAssertFalse(TokenComparison.equal([], token))
        XCTAssertFalse(TokenComparison.equal([], []))
    }
}
