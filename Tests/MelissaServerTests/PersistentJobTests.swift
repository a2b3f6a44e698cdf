import MelissaProtocol
import XCTest
@testable import MelissaServer

/// Persistent client jobs (`client_config.persistent_jobs`): a few jobs run every simulation,
/// each asking for the next; a job's failure fails exactly the simulations it had not finished.
final class PersistentJobTests: XCTestCase {
    func coordinator(sims: Int = 6, jobs: Int = 2, jobLimit: Int = 10) -> StudyCoordinator {
        var c = StudyCoordinator(simulationCount: sims, groupSize: 1, jobLimit: jobLimit, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 3))
        c.persistentJobs = jobs
        return c
    }

    func testAFewJobsRunEverySimulationOwnFirstThenTheNextWaiting() {
        var c = coordinator()
        XCTAssertEqual(c.groupsToSubmit(), [0, 1], "persistent_jobs caps the jobs, not job_limit")
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(0))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(1))
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(2))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(3))
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(4))
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(5))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .finished)
        XCTAssertEqual(c.jobGroup(of: 4), 0)
        XCTAssertEqual(c.jobGroup(of: 3), 1)
        XCTAssertEqual(c.hosted[0], [2, 4, 5])
        XCTAssertEqual(c.runningCount, 6)
        for s in 0..<6 { XCTAssertTrue(c.rankCompleted(rank: 0, simulation: UInt32(s))) }
        XCTAssertEqual(c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 1), [])
        XCTAssertEqual(c.jobChanged(group: 1, state: .terminated, exitCode: 0, reason: "", now: 1), [])
        XCTAssertTrue(c.isDone)
        XCTAssertEqual(c.groupsToSubmit(), [])
        XCTAssertEqual(c.faultCounts.resubmitted, 0)
    }

    func testAKilledJobFailsOnlyWhatItHadNotFinishedAndTheRerunTakesASlot() {
        var c = coordinator()
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(0))
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(2))   // killed while running 2
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(1))
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: 137, reason: "killed", now: 1)
        XCTAssertEqual(outcomes.count, 1, "\(outcomes)")
        guard case let .retry(group: 2, simulations: [2], reason)? = outcomes.first else { return XCTFail("\(outcomes)") }
        XCTAssertTrue(reason.contains("persistent job of group 0"), reason)
        XCTAssertEqual(c.states[0], .finished)
        XCTAssertEqual(c.states[2], .pending)
        XCTAssertNil(c.hosted[0])
        XCTAssertEqual(c.jobGroup(of: 2), 2)
        // The freed slot runs the failed simulation first, as a new job of its own...
        XCTAssertEqual(c.groupsToSubmit(), [2])
        XCTAssertEqual(c.nextSimulation(jobOf: 2), .run(2))
        // ...which then goes on with the next ones waiting.
        XCTAssertEqual(c.nextSimulation(jobOf: 2), .run(3))
        // A request from the dead job is refused: it is not running for this server.
        guard case .refused = c.nextSimulation(jobOf: 0) else { return XCTFail("a dead job got work") }
        XCTAssertEqual(c.records[2]?.jobs, 2)
    }

    func testAFailedSimulationIsHandedToAJobStillRunning() {
        var c = coordinator(sims: 4)
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(0))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(1))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(2))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(3))
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 1))
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 2))
        // Job 1 dies in simulation 3; job 0 is still running simulation 0 and asks next: it gets 3.
        guard case .retry(group: 3, simulations: [3], _)? = c.jobChanged(group: 1, state: .failed, exitCode: 1, reason: "", now: 1).first else {
            return XCTFail("simulation 3 was not retried")
        }
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertEqual(c.nextSimulation(jobOf: 0), .run(3))
        XCTAssertEqual(c.groupsToSubmit(), [], "the retry was taken by the running job, no new job needed")
    }

    func testWithoutPersistentJobsAJobGetsItsOwnSimulationOnceThenFinished() {
        var c = StudyCoordinator(simulationCount: 4, groupSize: 1, jobLimit: 2, serverRanks: 1, dataGrace: 5)
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .run(1))
        XCTAssertEqual(c.nextSimulation(jobOf: 1), .finished)
        guard case .refused = c.nextSimulation(jobOf: 3) else { return XCTFail("a job never submitted got work") }
        guard case .refused = c.nextSimulation(jobOf: 99) else { return XCTFail("an id outside the study got work") }
        // Each member of a group job asks for itself.
        var group = StudyCoordinator(simulationCount: 4, groupSize: 2, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        XCTAssertEqual(group.groupsToSubmit(), [0])
        XCTAssertEqual(group.nextSimulation(jobOf: 0), .run(0))
        XCTAssertEqual(group.nextSimulation(jobOf: 1), .run(1))
        XCTAssertEqual(group.nextSimulation(jobOf: 1), .finished)
    }

    func testNextSimulationRepliesRefuseBadInput() throws {
        let reply = NextSimulationReply(simulationID: 2, parameters: [1.5])
        let request = NextSimulationRequest(jobSimulationID: 7, previousSimulationID: 3)
        // A refusal decodes as one; truncated, oversized and contradictory replies are errors.
        XCTAssertEqual(try HandshakeRefusal(reason: "no").encode().withUnsafeBytes { try NextSimulationReply.decode($0) },
                       .refused(HandshakeRefusal(reason: "no")))
        var truncated = reply.encode(); truncated.removeLast()
        XCTAssertThrowsError(try truncated.withUnsafeBytes { try NextSimulationReply.decode($0) })
        var huge = NextSimulationReply.finished.encode(); huge[8...11] = [1, 0, 0, 0]; huge[12...15] = [0, 0, 0, 1]
        XCTAssertThrowsError(try huge.withUnsafeBytes { try NextSimulationReply.decode($0) })
        var contradictory = NextSimulationReply.finished.encode(); contradictory[12] = 1; contradictory += [0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertThrowsError(try contradictory.withUnsafeBytes { try NextSimulationReply.decode($0) })
        XCTAssertEqual(request.encode().withUnsafeBytes { NextSimulationRequest.peekKind($0) }, 4)
        XCTAssertEqual(HandshakeRequest(simulationID: 0, clientCommSize: 1).encode().withUnsafeBytes { NextSimulationRequest.peekKind($0) }, 1)
        XCTAssertNil([UInt8]([1, 2, 3]).withUnsafeBytes { NextSimulationRequest.peekKind($0) })
    }
}
