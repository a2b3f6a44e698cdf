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

    func testFailedJobFailsItsUnfinishedSimulations() {
        var c = StudyCoordinator(simulationCount: 2, groupSize: 2, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        _ = c.groupsToSubmit()
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        let failures = c.jobChanged(group: 0, state: .failed, exitCode: 3, reason: "", now: 0)
        XCTAssertEqual(failures.map(\.simulation), [1])
        XCTAssertTrue(failures[0].reason.contains("3"))
        XCTAssertEqual(c.failedCount, 1)
        XCTAssertTrue(c.isDone)
        XCTAssertTrue(c.activeGroups.isEmpty)
    }

    func testTerminatedJobWithMissingDataFailsAfterTheGracePeriod() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 2, dataGrace: 5)
        _ = c.groupsToSubmit()
        _ = c.rankCompleted(rank: 0, simulation: 0)
        XCTAssertTrue(c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 100).isEmpty)
        XCTAssertEqual(c.nextDeadline, 105)
        XCTAssertTrue(c.expireGracePeriods(now: 104).isEmpty)
        let failures = c.expireGracePeriods(now: 105)
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures[0].reason.contains("1 of 2"), failures[0].reason)
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
