import MelissaProtocol
import XCTest
@testable import MelissaLauncher

/// Text the launcher prints: progress formats and command-line parsing.
final class LauncherFormattingTests: XCTestCase {
    func testStatusLine() {
        let counts = ProgressCounts(finished: 12, failed: 0, total: 20, running: 2, waiting: 3,
                                    bytes: 1_234_567_890, throughput: 85_049_999)
        XCTAssertEqual(ProgressDisplay.statusLine(counts, elapsed: 83),
                       "simulations: 12/20 done, 2 running, 0 failed, 3 waiting | 1.2 GB at 85.0 MB/s"
                       + " | elapsed 00:01:23 | ETA 00:00:55")
        XCTAssertEqual(ProgressDisplay.bytes(999), "999 B")
        XCTAssertEqual(ProgressDisplay.bytes(1_000), "1.0 kB")
        XCTAssertEqual(ProgressDisplay.bytes(UInt64.max), "18446.7 PB")
        XCTAssertEqual(ProgressDisplay.eta(ProgressCounts(total: 20), elapsed: 10), "--")
        XCTAssertEqual(ProgressDisplay.duration(360_000), "100:00:00")
        XCTAssertEqual(ProgressDisplay.summary(counts), "12/20 done, 2 running, 0 failed")
    }

    func testDoneSimulationsWhoseJobsAreStillExitingAreNotShownRunning() {
        XCTAssertEqual(ProgressDisplay.summary(ProgressCounts(finished: 20, failed: 0, total: 20, running: 2)),
                       "20/20 done, 0 running, 0 failed")
        XCTAssertEqual(ProgressDisplay.summary(ProgressCounts(finished: 17, failed: 2, total: 20, running: 2)),
                       "17/20 done, 1 running, 2 failed")
    }

    func testTimestampIsUTCISO8601() {
        let stamp = Console.timestamp()
        XCTAssertEqual(stamp.count, 20)
        XCTAssertTrue(stamp.hasSuffix("Z"))
        XCTAssertEqual(Array(stamp)[10], "T")
    }

    func testCommandLine() throws {
        XCTAssertEqual(try LauncherInvocation.parse(["--help"]), .help)
        XCTAssertEqual(try LauncherInvocation.parse(["study.json", "-h"]), .help)
        XCTAssertEqual(try LauncherInvocation.parse(["--version"]), .version)
        XCTAssertEqual(try LauncherInvocation.parse(["a.json"]), .run(configPath: "a.json"))
        XCTAssertEqual(try LauncherInvocation.parse(["--", "-odd.json"]), .run(configPath: "-odd.json"))
        XCTAssertEqual(try LauncherInvocation.parse(["--resume", "studies/x"]), .resume(studyDirectory: "studies/x"))
        XCTAssertEqual(try LauncherInvocation.parse(["studies/x", "--resume"]), .resume(studyDirectory: "studies/x"))
        for bad in [[], ["a", "b"], ["--verbose", "a.json"], ["--resume"], ["--resume", "a", "b"], ["--resume", "--x"]] {
            XCTAssertThrowsError(try LauncherInvocation.parse(bad)) { error in
                XCTAssertEqual((error as? LauncherError)?.exitCode, 2)
            }
        }
    }

    func testServerRestartPolicy() {
        XCTAssertEqual(ServerRestartPolicy.decide(faultTolerance: true, restartsSoFar: 0, limit: 3), .restart)
        XCTAssertEqual(ServerRestartPolicy.decide(faultTolerance: true, restartsSoFar: 2, limit: 3), .restart)
        guard case let .giveUp(why) = ServerRestartPolicy.decide(faultTolerance: true, restartsSoFar: 3, limit: 3) else {
            return XCTFail("the limit is reached")
        }
        XCTAssertTrue(why.contains("launcher_config.max_server_restarts is 3"), why)
        XCTAssertEqual(ServerRestartPolicy.decide(faultTolerance: false, restartsSoFar: 0, limit: 3),
                       .giveUp("launcher_config.fault_tolerance is false"))
        XCTAssertNotEqual(ServerRestartPolicy.decide(faultTolerance: true, restartsSoFar: 0, limit: 0), .restart)
    }

    func testPaths() {
        XCTAssertEqual(Paths.absolute("study", in: "/work/x/"), "/work/x/study")
        XCTAssertEqual(Paths.absolute("./a//b/", in: "/w"), "/w/a/b")
        XCTAssertEqual(Paths.absolute("/abs/c.json", in: "/w"), "/abs/c.json")
        XCTAssertEqual(Paths.directory(of: "/usr/bin/melissa-launcher"), "/usr/bin")
        XCTAssertEqual(Paths.directory(of: "/x"), "/")
    }

    func testMalformedFramesAreDescribedNotFatal() {
        guard case let .malformed(_, problem) = ServerChannel.interpret([[1, 2], [0x4d, 0x4c, 0x53]]) else {
            return XCTFail("a truncated frame must be malformed")
        }
        XCTAssertTrue(problem.contains("truncated"), problem)
        guard case .malformed = ServerChannel.interpret([[1, 2]]) else { return XCTFail("one frame is malformed") }
        guard case .message(_, .ping) = ServerChannel.interpret([[1], ControlMessage.ping.encode()]) else {
            return XCTFail("a ping must decode")
        }
    }
}
