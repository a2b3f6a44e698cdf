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

    func testOfflineAJobExitingZeroFinishesItsSimulationsAndAFailureIsStillRetried() {
        var c = StudyCoordinator(simulationCount: 4, groupSize: 2, jobLimit: 2, serverRanks: 2, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 2))
        c.offline = true
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        _ = c.jobChanged(group: 0, state: .running, exitCode: 0, reason: "", now: 0)
        // No rank ever reports data: the job's exit 0 is the completion.
        XCTAssertEqual(c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 1), [])
        XCTAssertEqual(c.finishedCount, 2)
        XCTAssertEqual(c.states[0], .finished)
        let outcomes = c.jobChanged(group: 1, state: .failed, exitCode: 1, reason: "", now: 2)
        XCTAssertEqual(outcomes.count, 1)
        guard case .retry(group: 1, simulations: [2, 3], _)? = outcomes.first else { return XCTFail("\(outcomes)") }
        XCTAssertEqual(c.finishedCount, 2)
        XCTAssertEqual(c.groupsToSubmit(), [1])
        _ = c.jobChanged(group: 1, state: .terminated, exitCode: 0, reason: "", now: 3)
        XCTAssertEqual(c.finishedCount, 4)
        XCTAssertTrue(c.isDone)
        XCTAssertEqual(c.faultCounts.resubmitted, 1)
    }

    func testOnlineAJobExitingZeroWaitsForTheData() {
        var c = StudyCoordinator(simulationCount: 2, groupSize: 2, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        XCTAssertEqual(c.finishedCount, 0)
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertEqual(c.finishedCount, 1)
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

    // MARK: - completion is state

    /// The field failure behind issue 14: rank 0's share arrived whole in the first attempt
    /// (its client ranks had sent everything before mpirun killed the job); the rerun brings
    /// rank 0 only duplicates, so rank 0 never reports again. Rank 1 completing must finish it.
    func testARankCompleteFromAFailedAttemptStaysCompleteForTheRerun() {
        var c = StudyCoordinator(simulationCount: 3, groupSize: 1, jobLimit: 3, serverRanks: 2, dataGrace: 30,
                                 policy: .init(crashesBeforeRedraw: 3))
        XCTAssertEqual(c.groupsToSubmit(), [0, 1, 2])
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 2))
        let outcomes = c.jobChanged(group: 2, state: .failed, exitCode: 137, reason: "killed", now: 1)
        XCTAssertEqual(outcomes, [.retry(group: 2, simulations: [2], reason: "killed (exit code 137)")])
        XCTAssertEqual(c.groupsToSubmit(), [2], "the rerun takes the freed slot")
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 2), "rank 0's completion from attempt 1 still counts")
        XCTAssertEqual(c.states[2], .finished)
    }

    /// A job that exited 0 while a rank still misses data: rank 0 asks; the ranks' answers
    /// say what is missing; one round later with nothing new the group fails, at once.
    func testAJobThatExitedZeroWithDataMissingFailsAfterOneQuietRound() {
        var c = StudyCoordinator(simulationCount: 2, groupSize: 2, jobLimit: 1, serverRanks: 2, dataGrace: 30,
                                 probeInterval: 0.5, policy: .init(crashesBeforeRedraw: 3))
        _ = c.groupsToSubmit()
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 0))
        XCTAssertNil(c.holdingsQuery(now: 0), "nothing to ask while the job runs")
        XCTAssertEqual(c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 10), [])
        guard let first = c.holdingsQuery(now: 10) else { return XCTFail("the job ended with simulation 1 incomplete") }
        XCTAssertEqual(first.simulations, [1])
        XCTAssertNil(c.holdingsQuery(now: 10), "one round at a time")
        var verdict = c.holdingsReported(rank: 0, round: first.round, holdings: [.init(simulationID: 1, missingBlocks: 0)], now: 10.01)
        XCTAssertEqual(verdict, .init())
        verdict = c.holdingsReported(rank: 1, round: first.round, holdings: [.init(simulationID: 1, missingBlocks: 4)], now: 10.01)
        XCTAssertEqual(verdict, .init(), "first round: data may still be in flight")
        XCTAssertNil(c.holdingsQuery(now: 10.2), "the next round waits probeInterval")
        XCTAssertEqual(c.nextDeadline, 10.51)
        guard let second = c.holdingsQuery(now: 10.51) else { return XCTFail("second round") }
        XCTAssertGreaterThan(second.round, first.round)
        _ = c.holdingsReported(rank: 1, round: second.round, holdings: [.init(simulationID: 1, missingBlocks: 4)], now: 10.52)
        verdict = c.holdingsReported(rank: 0, round: second.round, holdings: [.init(simulationID: 1, missingBlocks: 0)], now: 10.52)
        guard case let .retry(group, sims, reason)? = verdict.outcomes.first, verdict.outcomes.count == 1 else {
            return XCTFail("\(verdict)")
        }
        XCTAssertEqual(group, 0)
        XCTAssertEqual(sims, [1], "simulation 0 finished; only 1 runs again")
        XCTAssertTrue(reason.contains("server ranks never received all the data: simulation 1 misses (field, time step) blocks: 4 on server rank 1"), reason)
        XCTAssertEqual(c.groupsToSubmit(), [0])
        XCTAssertEqual(c.submittedMembers(ofGroup: 0), [1])
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 1), "rank 0 held it all along")
    }

    func testDataStillArrivingKeepsTheSimulationAliveUntilItCompletes() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 2, dataGrace: 30, probeInterval: 0.5)
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        var now = 0.0
        for missing: UInt32 in [9, 5, 2] {
            guard let q = c.holdingsQuery(now: now) else { return XCTFail("round at \(now)") }
            _ = c.holdingsReported(rank: 0, round: q.round, holdings: [.init(simulationID: 0, missingBlocks: 0)], now: now)
            let v = c.holdingsReported(rank: 1, round: q.round, holdings: [.init(simulationID: 0, missingBlocks: missing)], now: now)
            XCTAssertEqual(v, .init(), "progress since the last round: still in flight")
            now += 0.5
        }
        guard let q = c.holdingsQuery(now: now) else { return XCTFail("last round") }
        _ = c.holdingsReported(rank: 1, round: q.round, holdings: [.init(simulationID: 0, missingBlocks: 0)], now: now)
        let v = c.holdingsReported(rank: 0, round: q.round, holdings: [.init(simulationID: 0, missingBlocks: 0)], now: now)
        XCTAssertEqual(v.finished, [0])
        XCTAssertTrue(c.isDone)
        XCTAssertNil(c.nextDeadline)
    }

    func testAnswersOfAnotherRoundAndRepeatedAnswersChangeNothing() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 2, dataGrace: 30)
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        guard let q = c.holdingsQuery(now: 0) else { return XCTFail() }
        let complete = [SimulationHolding(simulationID: 0, missingBlocks: 0)]
        XCTAssertEqual(c.holdingsReported(rank: 0, round: q.round + 1, holdings: complete, now: 0), .init())
        XCTAssertEqual(c.holdingsReported(rank: 0, round: q.round, holdings: complete, now: 0), .init())
        XCTAssertEqual(c.holdingsReported(rank: 0, round: q.round, holdings: complete, now: 0), .init(), "rank 0 twice is not rank 1")
        XCTAssertEqual(c.holdingsReported(rank: 5, round: q.round, holdings: complete, now: 0), .init(), "no rank 5")
        XCTAssertEqual(c.holdingsReported(rank: 1, round: q.round, holdings: [.init(simulationID: 9, missingBlocks: 0)], now: 0), .init())
        XCTAssertEqual(c.holdingsReported(rank: 1, round: q.round, holdings: complete, now: 0).finished, [0])
    }

    /// A redrawn Sobol group: a rank may reopen a member it had completed (held-back steps
    /// discarded) or keep it closed. Rank 0 asks, and until every rank answered, no stale
    /// completion bit may finish a member.
    func testAfterASobolRedrawOnlyTheRanksAnswersDecideCompletion() {
        var c = StudyCoordinator(simulationCount: 3, groupSize: 3, jobLimit: 1, serverRanks: 2, dataGrace: 30,
                                 policy: .init(crashesBeforeRedraw: 1, redrawWholeGroup: true))
        _ = c.groupsToSubmit()
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 0))
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 0))
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 1))
        let outcomes = c.jobChanged(group: 0, state: .failed, exitCode: 9, reason: "", now: 5)
        guard case .redraw(0, 1, [0, 1, 2], _)? = outcomes.first else { return XCTFail("\(outcomes)") }
        guard let q = c.holdingsQuery(now: 5) else { return XCTFail("a redraw asks the ranks") }
        XCTAssertEqual(q.simulations, [0, 1, 2])
        _ = c.groupsToSubmit()
        // Rank 1 completes member 1 in the new draw before rank 0 answered: rank 0's bit from
        // the old draw must not finish it.
        XCTAssertFalse(c.rankCompleted(rank: 1, simulation: 1))
        _ = c.holdingsReported(rank: 0, round: q.round, holdings: [
            .init(simulationID: 0, missingBlocks: 0), .init(simulationID: 1, missingBlocks: 6), .init(simulationID: 2, missingBlocks: 8),
        ], now: 5)
        let v = c.holdingsReported(rank: 1, round: q.round, holdings: [
            .init(simulationID: 0, missingBlocks: 0), .init(simulationID: 1, missingBlocks: 0), .init(simulationID: 2, missingBlocks: 8),
        ], now: 5)
        XCTAssertEqual(v.finished, [0], "member 0 stayed closed on both ranks")
        XCTAssertEqual(c.states[1], .submitted, "member 1 was reopened on rank 0")
        XCTAssertTrue(c.rankCompleted(rank: 0, simulation: 1))
        XCTAssertNil(c.holdingsQuery(now: 100), "a redraw's question is asked once")
    }

    func testAnEarlyExitWithoutAnyAnswerStillFailsAtTheBackstop() {
        var c = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 2, dataGrace: 30,
                                 policy: .init(crashesBeforeRedraw: 2))
        _ = c.groupsToSubmit()
        _ = c.jobChanged(group: 0, state: .terminated, exitCode: 0, reason: "", now: 0)
        _ = c.holdingsQuery(now: 0)
        XCTAssertTrue(c.expireGracePeriods(now: 29).isEmpty)
        guard case let .retry(_, _, reason)? = c.expireGracePeriods(now: 30).first else { return XCTFail() }
        XCTAssertTrue(reason.contains("not every rank answered within 30 s"), reason)
    }
}
