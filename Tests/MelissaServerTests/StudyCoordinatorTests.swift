import MelissaProtocol
import XCTest
@testable import MelissaServer

final class StudyCoordinatorTests: XCTestCase {
    func testGroupsRespectTheJobLimitAndSlotsFreeOnJobEnd() {
        var c = StudyCoordinator(simulationCount: 5, groupSize: 2, jobLimit: 2, serverRanks: 2, dataGrace: 5)
        XCTAssertEqual(c.groupCount, 3)
        XCTAssertEqual(c.members(ofGroup: 2), 4..<5)
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        XCTAssertEqual(c.groupsToSubmit(), [])
        _ = c.jobChanged(group: 0, state: .running, exitCode: 0, reason: "", now: 0)
        XCTAssertEqual(c.runningCount, 2)
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        XCTAssertEqual(c.groupsToSubmit(), [2])
    }

    func testSimulationFinishesWhenEveryRankReported() {
        var c = StudyCoordinator(simulationCount: 2, groupSize: 1, jobLimit: 2, serverRanks: 3, dataGrace: 5)
        _ = c.groupsToSubmit()
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 1))
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 1), "a repeated report must not count twice")
        XCTAssertFalse(c.rankCompleted(rank: 2, simulation: 1))
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 1))
        XCTAssertEqual(c.finishedCount, 1)
        XCTAssertFalse(c.isDone)
        XCTAssertFalse(c.rankCompleted(rank: 1, simulation: 7), "unknown simulation ids are ignored")
    }

    func testWithoutFaultToleranceAFailedJobFailsItsUnfinishedSimulations() {
        var c = StudyCoordinator(simulationCount: 2, groupSize: 2, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(faultTolerance: false))
        _ = c.groupsToSubmit()
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: 3, reason: "", now: 0)
        guard case let .fatal(group, sims, reason)? = outcomes.first else { return XCTFail("\(outcomes)") }
        XCTAssertEqual(group, 0)
        XCTAssertEqual(sims, [1])
        XCTAssertTrue(reason.contains("exit code 3"), reason)
        XCTAssertEqual(c.failedCount, 1)
        XCTAssertTrue(c.isDone)
        XCTAssertTrue(c.activeGroups.isEmpty)
        if case let .failed(why) = c.states[1] { XCTAssertTrue(why.contains("fault_tolerance is false"), why) } else { XCTFail() }
    }

    func testFailedJobRunsItsUnfinishedSimulationsAgainFirst() {
        var c = StudyCoordinator(simulationCount: 4, groupSize: 2, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 2))
        XCTAssertEqual(c.groupsToSubmit(), [0])
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: 137, reason: "killed by signal 9", now: 0)
        XCTAssertEqual(outcomes, [.retry(group: 0, simulations: [1], reason: "killed by signal 9 (exit code 137)")])
        // The retry goes before group 1, and runs only the unfinished member.
        XCTAssertEqual(c.groupsToSubmit(), [0])
        XCTAssertEqual(c.submittedMembers(ofGroup: 0), [1])
        XCTAssertEqual(c.records[0]?.jobs, 2)
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 1))
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        XCTAssertEqual(c.groupsToSubmit(), [1])
        XCTAssertEqual(c.failedCount, 0)
        XCTAssertEqual(c.faultCounts.resubmitted, 1)
        XCTAssertEqual(c.faultCounts.redrawn, 0)
    }

    func testCrashesBeforeRedrawThenMaxRedrawsThenGiveUp() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 2, maxRedraws: 1))
        var outcomes: [StudyCoordinator.Outcome] = []
        for _ in 0..<4 {
            XCTAssertEqual(c.groupsToSubmit(), [0])
            outcomes += c.jobChanged(group: 0, state: .failed, exitCode: 1, reason: "boom", now: 0)
        }
        XCTAssertEqual(outcomes.count, 4)
        guard case .retry = outcomes[0], case let .redraw(_, draw, sims, _) = outcomes[1], case .retry = outcomes[2],
              case let .gaveUp(_, given, reason) = outcomes[3] else { return XCTFail("\(outcomes)") }
        XCTAssertEqual(draw, 1)
        XCTAssertEqual(sims, [0])
        XCTAssertEqual(given, [0])
        XCTAssertTrue(reason.contains("given up after 4 failed attempt(s) over 2 parameter draw(s)"), reason)
        XCTAssertTrue(c.isDone)
        XCTAssertEqual(c.failedCount, 1)
        XCTAssertEqual(c.groupsToSubmit(), [])
        XCTAssertEqual(c.records[0]?.failures.map(\.draw), [0, 0, 1, 1])
        XCTAssertEqual(c.records[0]?.failures.map(\.attempt), [1, 2, 3, 4])
        XCTAssertEqual(c.faultCounts.givenUp, 1)
    }

    func testSobolRedrawTakesTheWholeGroupFinishedMembersIncluded() {
        var c = StudyCoordinator(simulationCount: 5, groupSize: 5, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 1, redrawWholeGroup: true))
        _ = c.groupsToSubmit()
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 1))
        XCTAssertEqual(c.finishedCount, 2)
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: 1, reason: "x", now: 0)
        XCTAssertEqual(outcomes, [.redraw(group: 0, draw: 1, simulations: [0, 1, 2, 3, 4], reason: "x (exit code 1)")])
        XCTAssertEqual(c.finishedCount, 0, "finished members of a redrawn pick-freeze group run again")
        _ = c.groupsToSubmit()
        XCTAssertEqual(c.submittedMembers(ofGroup: 0), [0, 1, 2, 3, 4])
    }

    func testCancelledJobFailsWithTheServersReason() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 3))
        XCTAssertFalse(c.cancelling(group: 0, reason: "not active yet"))
        _ = c.groupsToSubmit()
        XCTAssertTrue(c.cancelling(group: 0, reason: "no data for 20 s (simulation_timeout)"))
        XCTAssertFalse(c.cancelling(group: 0, reason: "twice"), "one cancellation per job")
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: -1, reason: "cancelled", now: 0)
        XCTAssertEqual(outcomes, [.retry(group: 0, simulations: [0], reason: "no data for 20 s (simulation_timeout)")])
    }

    func testLateDataOfAFailedJobCompletesTheRetryWithoutAJob() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 3))
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .failed, exitCode: 1, reason: "", now: 0)
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertEqual(c.groupsToSubmit(), [], "nothing left to run")
        XCTAssertTrue(c.isDone)
    }

    func testLateDataWithinGraceFinishesTheSimulation() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertTrue(c.expireGracePeriods(now: 10).isEmpty)
        XCTAssertTrue(c.isDone)
        XCTAssertEqual(c.failedCount, 0)
    }
}
