import MelissaProtocol
import XCTest
@testable import MelissaServer

/// Whole-step routing (a flavor's choice, told to clients in the handshake) through the pure
/// parts of the server: which rank gets what, admission, exactly-once completion on a rank
/// that receives only some steps, and a coordinator that does not wait for ranks that get nothing.
final class DataRoutingTests: XCTestCase {
    func testEveryStepOfEverySimulationGoesToExactlyOneRankAndTheCountsAgree() {
        for routing in [DataRouting.stepRoundRobin, .simulationRoundRobin] {
            for (steps, ranks) in [(5, 2), (2, 3), (7, 3), (1, 1)] {
                for sim in UInt32(0)..<4 {
                    var received = [Int](repeating: 0, count: ranks)
                    for step in UInt32(0)..<UInt32(steps) {
                        let targets = (0..<ranks).filter { routing.delivers(simulation: sim, step: step, to: $0, serverCount: ranks) }
                        XCTAssertEqual(targets, [routing.wholeStepRank(simulation: sim, step: step, serverCount: ranks)!])
                        received[targets[0]] += 1
                    }
                    for r in 0..<ranks {
                        XCTAssertEqual(routing.stepCount(simulation: sim, rank: r, nbTimeSteps: steps, serverCount: ranks),
                                       received[r], "\(routing) sim \(sim) steps \(steps) rank \(r) of \(ranks)")
                    }
                }
            }
            XCTAssertEqual(routing.block(globalSize: 10, rank: 2, serverCount: 3), 0..<10, "whole field")
        }
        XCTAssertNil(DataRouting.cellBlocks.wholeStepRank(simulation: 0, step: 0, serverCount: 3))
        XCTAssertEqual(DataRouting.cellBlocks.block(globalSize: 10, rank: 1, serverCount: 3), 4..<7)
        XCTAssertEqual(DataRouting.cellBlocks.stepCount(simulation: 3, rank: 2, nbTimeSteps: 9, serverCount: 3), 9)
    }

    func testAdmissionTakesWholeFieldsOfTheStepsRoutedHereOnly() {
        let rules = DataAdmission(simulationCount: 3, nbTimeSteps: 4, fieldSizes: nil, serverCount: 2, rank: 1,
                                  routing: .stepRoundRobin)
        func header(step: UInt32, offset: UInt64, count: UInt64) -> DataHeader {
            DataHeader(simulationID: 0, timeStep: step, field: 0, clientRank: 0, globalSize: 10, offset: offset, count: count)
        }
        XCTAssertEqual(rules.check(header(step: 1, offset: 0, count: 6), known: [nil]),
                       .admit(FieldLayout(globalSize: 10, block: 0..<10), learnsLayout: true))
        XCTAssertEqual(rules.check(header(step: 3, offset: 6, count: 4), known: [nil]),
                       .admit(FieldLayout(globalSize: 10, block: 0..<10), learnsLayout: true))
        XCTAssertEqual(rules.check(header(step: 2, offset: 0, count: 10), known: [nil]), .refuse(.misrouted),
                       "step 2 belongs to rank 0")
        XCTAssertEqual(rules.check(header(step: 1, offset: 6, count: 5), known: [nil]), .refuse(.misrouted),
                       "runs past the field")
    }

    func testARankCompletesASimulationOnceTheStepsRoutedToItArrived() {
        // 5 steps over 2 ranks, step round robin: rank 1 receives steps 1 and 3.
        var tracker = CompletionTracker(simulationCount: 2, nbFields: 1, nbTimeSteps: 5, routing: .stepRoundRobin,
                                        rank: 1, serverCount: 2)
        func piece(_ step: UInt32, rank clientRank: UInt32, offset: UInt64, count: UInt64) -> DataHeader {
            DataHeader(simulationID: 0, timeStep: step, field: 0, clientRank: clientRank, globalSize: 4,
                       offset: offset, count: count)
        }
        XCTAssertEqual(tracker.missingBlocks(simulation: 0), 2)
        XCTAssertEqual(tracker.record(piece(1, rank: 0, offset: 0, count: 2), blockSize: 4), .accepted(simulationComplete: false))
        XCTAssertEqual(tracker.record(piece(1, rank: 1, offset: 2, count: 2), blockSize: 4), .accepted(simulationComplete: false))
        XCTAssertEqual(tracker.record(piece(1, rank: 1, offset: 2, count: 2), blockSize: 4), .duplicate)
        XCTAssertEqual(tracker.missingBlocks(simulation: 0), 1)
        XCTAssertEqual(tracker.record(piece(3, rank: 0, offset: 0, count: 4), blockSize: 4), .accepted(simulationComplete: true))
        XCTAssertEqual(tracker.missingBlocks(simulation: 0), 0)
        // Reopened for step 3 (held back, then dropped): only steps routed here are sealed.
        XCTAssertTrue(tracker.reopen(simulation: 0, forget: [(field: 0, step: 3)]))
        XCTAssertEqual(tracker.missingBlocks(simulation: 0), 1)
        XCTAssertEqual(tracker.classify(piece(1, rank: 0, offset: 0, count: 2), blockSize: 4), .duplicate)
        XCTAssertEqual(tracker.record(piece(3, rank: 0, offset: 0, count: 4), blockSize: 4), .accepted(simulationComplete: true))
    }

    func testTheCoordinatorWaitsOnlyForTheRanksASimulationIsRoutedTo() {
        // Simulation routing over 3 ranks: simulation 4 goes to rank 1 alone.
        var c = StudyCoordinator(simulationCount: 6, groupSize: 1, jobLimit: 6, serverRanks: 3, dataGrace: 5,
                                 routing: .simulationRoundRobin, nbTimeSteps: 3)
        _ = c.groupsToSubmit()
        XCTAssertTrue(c.rankCompleted(rank: 1, simulation: 4))
        XCTAssertEqual(c.finishedCount, 1)
        // Step routing with 2 steps over 3 ranks: rank 2 receives nothing, ranks 0 and 1 must report.
        var s = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 3, dataGrace: 5,
                                 routing: .stepRoundRobin, nbTimeSteps: 2)
        _ = s.groupsToSubmit()
        XCTAssertFalse(s.rankCompleted(rank: 0, simulation: 0))
        XCTAssertTrue(s.rankCompleted(rank: 1, simulation: 0))
        // Cell blocks: every rank.
        var b = StudyCoordinator(simulationCount: 1, groupSize: 1, jobLimit: 1, serverRanks: 2, dataGrace: 5)
        _ = b.groupsToSubmit()
        XCTAssertFalse(b.rankCompleted(rank: 1, simulation: 0))
        XCTAssertTrue(b.rankCompleted(rank: 0, simulation: 0))
    }
}
