import MelissaCheckpoint
import MelissaProtocol
import XCTest
@testable import MelissaServer

/// The base server's state through a checkpoint section and back.
final class CheckpointStateTests: XCTestCase {
    func testCoordinatorRoundTripSendsInterruptedGroupsFirstWithoutCountingAFailure() throws {
        var c = StudyCoordinator(simulationCount: 6, groupSize: 2, jobLimit: 2, serverRanks: 2, dataGrace: 5,
                                 policy: .init(crashesBeforeRedraw: 3))
        XCTAssertEqual(c.groupsToSubmit(), [0, 1])
        _ = c.jobChanged(group: 0, state: .running, exitCode: 0, reason: "", now: 0)
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 0))  // simulation 0: rank 0 has it all
        XCTAssertFalse(c.rankCompleted(rank: 0, simulation: 1))
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 1))  // simulation 1 finished
        _ = c.jobChanged(group: 1, state: .failed, exitCode: 9, reason: "boom", now: 0)  // retry queued
        let parameters = (0..<6).map { [Double($0), -Double($0)] }
        var w = CheckpointEncoder()
        c.encode(into: &w, parameters: parameters)

        var restored = StudyCoordinator(simulationCount: 6, groupSize: 2, jobLimit: 2, serverRanks: 2, dataGrace: 5,
                                        policy: .init(crashesBeforeRedraw: 3))
        var r = CheckpointDecoder(w.bytes, section: "COOR")
        XCTAssertEqual(try restored.restore(from: &r, nbParameters: 2), parameters)
        XCTAssertNoThrow(try r.finish())
        XCTAssertEqual(restored.finishedCount, 1)
        XCTAssertEqual(restored.states[1], .finished)
        XCTAssertEqual(restored.states[0], .pending, "its job died with the old server")
        XCTAssertEqual(restored.records[1]?.failures.count, 1)
        XCTAssertEqual(restored.records[0]?.failures.count ?? 0, 0, "a restart is not a failure")
        // Group 0 (interrupted) goes first, then the queued retry of group 1, then group 2.
        XCTAssertEqual(restored.groupsToSubmit(), [0, 1])
        XCTAssertEqual(restored.submittedMembers(ofGroup: 0), [0], "simulation 1 finished already")
        // Simulation 0 had rank 0's completion. After a restart every rank repeats its own
        // completions (its tracker is the truth); the stored view alone finishes nothing.
        XCTAssertFalse(restored.rankCompleted(rank: 1, simulation: 0))
        XCTAssertTrue(restored.rankCompleted(rank: 0, simulation: 0), "rank 0's repeat finishes it")
    }

    func testCoordinatorOfAnotherShapeIsRefused() {
        let c = StudyCoordinator(simulationCount: 4, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        var w = CheckpointEncoder()
        c.encode(into: &w, parameters: Array(repeating: [0], count: 4))
        var other = StudyCoordinator(simulationCount: 5, groupSize: 1, jobLimit: 1, serverRanks: 1, dataGrace: 5)
        var r = CheckpointDecoder(w.bytes, section: "COOR")
        XCTAssertThrowsError(try other.restore(from: &r, nbParameters: 1)) { error in
            XCTAssertTrue("\(error)".contains("simulation count: 4, this study has 5"), "\(error)")
        }
    }

    func testTrackerRoundTripKeepsDuplicatesAndCompletion() throws {
        var t = CompletionTracker(simulationCount: 3, nbFields: 1, nbTimeSteps: 2)
        func h(_ sim: UInt32, _ step: UInt32, _ rank: UInt32 = 0) -> DataHeader {
            DataHeader(simulationID: sim, timeStep: step, field: 0, clientRank: rank, globalSize: 10, offset: 0, count: 10)
        }
        _ = t.record(h(0, 0), blockSize: 10)
        _ = t.record(h(0, 1), blockSize: 10)  // simulation 0 complete, closed
        _ = t.record(h(1, 0), blockSize: 10)  // simulation 1 half done
        var w = CheckpointEncoder()
        t.encode(into: &w)
        var r = CheckpointDecoder(w.bytes, section: "TRAK")
        var u = try CompletionTracker.decode(from: &r, simulationCount: 3, nbFields: 1, nbTimeSteps: 2)
        XCTAssertNoThrow(try r.finish())
        XCTAssertEqual(u.closedSimulationIDs, [0])
        XCTAssertEqual(u.record(h(0, 0), blockSize: 10), .closed)
        XCTAssertEqual(u.record(h(1, 0), blockSize: 10), .duplicate)
        XCTAssertEqual(u.record(h(1, 1), blockSize: 10), .accepted(simulationComplete: true))
        // Another study shape is refused with the numbers.
        var again = CheckpointDecoder(w.bytes, section: "TRAK")
        XCTAssertThrowsError(try CompletionTracker.decode(from: &again, simulationCount: 3, nbFields: 1, nbTimeSteps: 5)) { error in
            XCTAssertTrue("\(error)".contains("time steps: 2, this study has 5"), "\(error)")
        }
        // Every truncation of the section is refused, never a crash.
        for n in 0..<w.bytes.count {
            var cut = CheckpointDecoder(Array(w.bytes[0..<n]), section: "TRAK")
            XCTAssertThrowsError(try CompletionTracker.decode(from: &cut, simulationCount: 3, nbFields: 1, nbTimeSteps: 2))
        }
    }
}
