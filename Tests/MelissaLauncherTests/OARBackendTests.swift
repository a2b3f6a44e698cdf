import XCTest
@testable import MelissaSchedulers

/// The OAR backend against outputs recorded from a real OAR 2.5.9 (Fixtures/oar/README.md).
final class OARBackendTests: XCTestCase {
    private func phases(_ file: String) throws -> [String: BatchJobPhase] {
        OARBatchSystem.parseStatus(try Fixture.text("oar/" + file))
    }

    func testRecordedStatesMapOntoTheServersStates() throws {
        XCTAssertEqual(try phases("oarstat-terminated-exit0.json")["2"], .final(state: .terminated, exitCode: 0, reason: ""))
        XCTAssertEqual(try phases("oarstat-terminated-exit3.json")["3"],
                       .final(state: .failed, exitCode: 3, reason: "OAR job ended, exit code 3"))
        XCTAssertEqual(try phases("oarstat-error-walltime.json")["5"],
                       .final(state: .failed, exitCode: -1, reason: "OAR job reached its walltime"))
        XCTAssertEqual(try phases("oarstat-error-oardel.json")["6"],
                       .final(state: .failed, exitCode: -1, reason: "OAR job deleted (oardel)"))
        XCTAssertEqual(try phases("oarstat-error-oardel-hold.json")["8"],
                       .final(state: .failed, exitCode: -1, reason: "OAR job deleted (oardel)"))
        XCTAssertEqual(try phases("oarstat-running.json")["6"], .running)
        XCTAssertEqual(try phases("oarstat-waiting.json")["7"], .waiting)
        XCTAssertEqual(try phases("oarstat-hold.json")["8"], .waiting)
        XCTAssertEqual(try phases("oarstat-reservation-waiting.json").values.first, .waiting)
    }

    func testAMultiJobQueryReturnsEveryJob() throws {
        let all = try phases("oarstat-multi-full.json")
        XCTAssertEqual(Set(all.keys), ["2", "3", "6", "7", "8", "9"])
        XCTAssertEqual(all["6"], .running)
        XCTAssertEqual(all["8"], .waiting)
        XCTAssertEqual(all["3"], .final(state: .failed, exitCode: 3, reason: "OAR job ended, exit code 3"))
    }

    func testUnknownJobsAndGarbageAreNoJobs() throws {
        XCTAssertEqual(try phases("oarstat-unknown-job.json"), [:])
        XCTAssertEqual(OARBatchSystem.parseStatus("{ not json"), [:])
        XCTAssertEqual(OARBatchSystem.parseStatus("[1, 2]"), [:])
        XCTAssertEqual(OARBatchSystem.parseStatus(#"{"4": {"state": 7}, "5": "x", "6": {"state": "Running"}}"#), ["6": .running])
    }

    func testEveryOARStateHasAMeaning() {
        for waiting in ["Waiting", "Hold", "toLaunch", "toAckReservation", "Launching"] {
            XCTAssertEqual(OARBatchSystem.phase(state: waiting, exitCode: nil, events: []), .waiting, waiting)
        }
        for running in ["Running", "Suspended", "Resuming", "Finishing", "toError"] {
            XCTAssertEqual(OARBatchSystem.phase(state: running, exitCode: nil, events: []), .running, running)
        }
        XCTAssertEqual(OARBatchSystem.phase(state: "Terminated", exitCode: 9, events: []),
                       .final(state: .failed, exitCode: 137, reason: "OAR job ended, killed by signal 9 (SIGKILL)"))
        XCTAssertEqual(OARBatchSystem.phase(state: "Error", exitCode: nil, events: ["SWITCH_INTO_ERROR_STATE"]),
                       .final(state: .failed, exitCode: -1, reason: "OAR job in Error (last event SWITCH_INTO_ERROR_STATE)"))
        XCTAssertEqual(OARBatchSystem.phase(state: "Nonsense", exitCode: nil, events: []), .unknown("Nonsense"))
    }

    func testSubmissionOutputs() throws {
        XCTAssertEqual(OARBatchSystem.parseSubmission(try Fixture.text("oar/oarsub-success.txt")), "2")
        XCTAssertEqual(OARBatchSystem.parseSubmission(try Fixture.text("oar/oarsub-success-json.txt")), "4")
        // A refusal still prints OAR_JOB_ID, with a negative number.
        XCTAssertNil(OARBatchSystem.parseSubmission(try Fixture.text("oar/oarsub-error.txt")))
        XCTAssertNil(OARBatchSystem.parseSubmission(""))
    }
}
