import Foundation
import XCTest
@testable import MelissaMonitor

/// The JSON format (pinned byte for byte), the history cap, and the board.
final class StudyStatusTests: XCTestCase {
    /// The documented format, written by hand from docs/MONITORING.md: sorted snake_case keys,
    /// unescaped slashes and UTF-8, `null` for a nil optional.
    func testGoldenJSON() {
        let expected = #"{"bytes_received":1048576,"elapsed_seconds":125.25,"eta_seconds":187.5,"#
            + #""history":[{"bytes_received":0,"finished":0,"t":0},{"bytes_received":524288,"finished":2,"t":60.5}],"#
            + #""jobs":[{"batch_job":null,"exit_code":0,"group":0,"reason":"","simulations":[0,1],"state":"finished"},"#
            + #"{"batch_job":"12345.pbs","exit_code":137,"group":3,"reason":"killed by \"SIGKILL\"","#
            + #""simulations":[6,7],"state":"failed"}],"#
            + #""scheduler":"openmpi","server":{"pid":4242,"ranks":4,"restarts":1,"state":"running"},"#
            + #""simulations":{"failed":1,"finished":4,"running":2,"total":10,"waiting":3},"#
            + #""started_at":1700000000.5,"state":"running","study":"/scratch/études/run-1","#
            + #""throughput_bytes_per_second":8192.5,"training":null}"#
        XCTAssertEqual(String(decoding: StatusJSON.render(Fixtures.status), as: UTF8.self), expected)
    }

    /// A training flavor's reports: the latest values and the recent ones, a missing or
    /// diverged loss as `null` (JSON has no NaN).
    func testGoldenTrainingJSON() throws {
        var status = Fixtures.status
        var training = StudyStatus.Training(batch: 50, samples: 1600, trainLoss: 0.5, validLoss: 0.25)
        training.record(batch: 50, samples: 1600, trainLoss: 0.5, validLoss: 0.25)
        training.record(batch: 100, samples: 3200, trainLoss: .nan, validLoss: nil)
        status.training = training
        let json = String(decoding: StatusJSON.render(status), as: UTF8.self)
        XCTAssertTrue(json.hasSuffix(#""training":{"batch":100,"reports":[{"batch":50,"train_loss":0.5,"valid_loss":0.25},"#
                                     + #"{"batch":100,"train_loss":null,"valid_loss":null}],"samples":3200,"#
                                     + #""train_loss":null,"valid_loss":null}}"#), json)
        let decoded = try JSONDecoder().decode(StudyStatus.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.training?.reports.count, 2)
        XCTAssertEqual(decoded.training?.reports.first, .init(batch: 50, trainLoss: 0.5, validLoss: 0.25))
        XCTAssertTrue(decoded.training?.trainLoss.isNaN ?? false)
    }

    func testTrainingKeepsTheLast600Reports() {
        var training = StudyStatus.Training(batch: 0, samples: 0, trainLoss: 1, validLoss: nil)
        for i in 1...700 { training.record(batch: UInt64(i), samples: UInt64(i), trainLoss: 1, validLoss: nil) }
        XCTAssertEqual(training.reports.map(\.batch), (101...700).map(UInt64.init))
    }

    func testNilOptionalsAreNullNotMissing() throws {
        var status = Fixtures.status
        status.etaSeconds = nil
        status.server.pid = nil
        let json = String(decoding: StatusJSON.render(status), as: UTF8.self)
        XCTAssertTrue(json.contains(#""eta_seconds":null"#), json)
        XCTAssertTrue(json.contains(#""pid":null"#), json)
        XCTAssertEqual(try JSONDecoder().decode(StudyStatus.self, from: Data(json.utf8)), status)
    }

    func testRoundTrip() throws {
        let decoded = try JSONDecoder().decode(StudyStatus.self, from: Data(StatusJSON.render(Fixtures.status)))
        XCTAssertEqual(decoded, Fixtures.status)
    }

    /// JSON has no NaN/infinity: the renderer must still produce valid JSON.
    func testNonFiniteNumbersStillRender() throws {
        var status = Fixtures.status
        status.throughputBytesPerSecond = .nan
        status.etaSeconds = .infinity
        status.elapsedSeconds = -.infinity
        let decoded = try JSONDecoder().decode(StudyStatus.self, from: Data(StatusJSON.render(status)))
        XCTAssertEqual(decoded.throughputBytesPerSecond, 0)
        XCTAssertNil(decoded.etaSeconds)
        XCTAssertEqual(decoded.elapsedSeconds, 0)
    }

    func testRecordKeepsTheLast600Samples() {
        var status = StudyStatus(study: "s", scheduler: "openmpi", startedAt: 0)
        for i in 0..<1000 {
            status.record(sample: .init(t: Double(i), bytesReceived: UInt64(i) * 10, finished: i))
        }
        XCTAssertEqual(status.history.count, StudyStatus.maxHistory)
        XCTAssertEqual(StudyStatus.maxHistory, 600)
        XCTAssertEqual(status.history.first?.finished, 400)
        XCTAssertEqual(status.history.last?.finished, 999)
        // Consecutive, oldest first: nothing dropped from the middle.
        XCTAssertEqual(status.history.map(\.finished), Array(400..<1000))
    }

    func testRecordRepairsAnOversizedHistory() {
        var status = StudyStatus(study: "s", scheduler: "openmpi", startedAt: 0)
        status.history = (0..<700).map { .init(t: Double($0), bytesReceived: 0, finished: $0) }
        status.record(sample: .init(t: 700, bytesReceived: 0, finished: 700))
        XCTAssertEqual(status.history.map(\.finished), Array(101...700))
    }

    func testInitTruncatesHistory() {
        let history = (0..<601).map { StudyStatus.Sample(t: Double($0), bytesReceived: 0, finished: $0) }
        let status = StudyStatus(study: "s", scheduler: "openmpi", startedAt: 0, history: history)
        XCTAssertEqual(status.history.map(\.finished), Array(1...600))
    }

    func testBoardUpdateAndSnapshot() {
        let board = StatusBoard(Fixtures.status)
        XCTAssertEqual(board.snapshot(), Fixtures.status)
        board.update { $0.simulations.finished += 1; $0.state = "stopping" }
        let after = board.snapshot()
        XCTAssertEqual(after.simulations.finished, 5)
        XCTAssertEqual(after.state, "stopping")
        // A snapshot is a copy: later updates do not change it.
        board.update { $0.simulations.finished = 0 }
        XCTAssertEqual(after.simulations.finished, 5)
    }

    func testBoardIsConsistentUnderConcurrentUpdates() {
        let board = StatusBoard(StudyStatus(study: "s", scheduler: "openmpi", startedAt: 0))
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 {
                board.update { $0.simulations.finished += 1; $0.simulations.total += 1 }
                let snapshot = board.snapshot()
                XCTAssertEqual(snapshot.simulations.finished, snapshot.simulations.total)
            }
        }
        XCTAssertEqual(board.snapshot().simulations.finished, 8000)
    }
}
