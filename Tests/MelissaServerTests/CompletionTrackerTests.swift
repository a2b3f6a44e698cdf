import MelissaProtocol
import XCTest
@testable import MelissaServer

final class CompletionTrackerTests: XCTestCase {
    func header(sim: UInt32, step: UInt32, field: UInt32 = 0, clientRank: UInt32, offset: UInt64, count: UInt64) -> DataHeader {
        DataHeader(simulationID: sim, timeStep: step, field: field, clientRank: clientRank,
                   globalSize: 100, offset: offset, count: count)
    }

    func testSimulationCompletesExactlyWhenEveryStepOfEveryFieldArrived() {
        var t = CompletionTracker(simulationCount: 4, nbFields: 2, nbTimeSteps: 3)
        var verdicts: [PieceVerdict] = []
        for field in 0..<2 as Range<UInt32> {
            for step in 0..<3 as Range<UInt32> {
                // The block of 10 values arrives in two pieces from two client ranks.
                verdicts.append(t.record(header(sim: 1, step: step, field: field, clientRank: 0, offset: 0, count: 4), blockSize: 10))
                verdicts.append(t.record(header(sim: 1, step: step, field: field, clientRank: 1, offset: 4, count: 6), blockSize: 10))
            }
        }
        XCTAssertEqual(verdicts.dropLast(), Array(repeating: .accepted(simulationComplete: false), count: 11))
        XCTAssertEqual(verdicts.last, .accepted(simulationComplete: true))
        XCTAssertEqual(t.openSimulations, 0)
    }

    func testMissingBlocksCountWhatThisRankStillNeeds() {
        var t = CompletionTracker(simulationCount: 4, nbFields: 2, nbTimeSteps: 3)
        XCTAssertEqual(t.missingBlocks(simulation: 2), 6, "nothing arrived: every (field, step) block")
        _ = t.record(header(sim: 2, step: 1, field: 1, clientRank: 0, offset: 0, count: 4), blockSize: 10)
        XCTAssertEqual(t.missingBlocks(simulation: 2), 6, "a partial step is still missing")
        _ = t.record(header(sim: 2, step: 1, field: 1, clientRank: 1, offset: 4, count: 6), blockSize: 10)
        XCTAssertEqual(t.missingBlocks(simulation: 2), 5)
        for field in 0..<2 as Range<UInt32> {
            for step in 0..<3 as Range<UInt32> where !(field == 1 && step == 1) {
                _ = t.record(header(sim: 2, step: step, field: field, clientRank: 0, offset: 0, count: 10), blockSize: 10)
            }
        }
        XCTAssertEqual(t.missingBlocks(simulation: 2), 0, "complete")
        t.close(simulation: 3)
        XCTAssertEqual(t.missingBlocks(simulation: 3), 0, "an abandoned simulation is closed: nothing to wait for")
        XCTAssertEqual(t.missingBlocks(simulation: 99), 6, "an id out of range is never complete")
    }

    func testDuplicatesAreRefusedAndDoNotCountTowardsCompletion() {
        var t = CompletionTracker(simulationCount: 2, nbFields: 1, nbTimeSteps: 2)
        let h = header(sim: 0, step: 0, clientRank: 0, offset: 0, count: 10)
        XCTAssertEqual(t.record(h, blockSize: 10), .accepted(simulationComplete: false))
        XCTAssertEqual(t.record(h, blockSize: 10), .duplicate)
        XCTAssertEqual(t.record(header(sim: 0, step: 1, clientRank: 0, offset: 0, count: 10), blockSize: 10),
                       .accepted(simulationComplete: true))
        // A restarted simulation resending after completion is refused as closed.
        XCTAssertEqual(t.record(h, blockSize: 10), .closed)
    }

    func testOverfullStepIsInconsistent() {
        var t = CompletionTracker(simulationCount: 1, nbFields: 1, nbTimeSteps: 1)
        XCTAssertEqual(t.record(header(sim: 0, step: 0, clientRank: 0, offset: 0, count: 8), blockSize: 10),
                       .accepted(simulationComplete: false))
        XCTAssertEqual(t.record(header(sim: 0, step: 0, clientRank: 1, offset: 5, count: 5), blockSize: 10), .inconsistent)
    }

    func testEmptyBlockCompletesWithMarkerPieces() {
        var t = CompletionTracker(simulationCount: 1, nbFields: 1, nbTimeSteps: 2)
        XCTAssertEqual(t.record(header(sim: 0, step: 0, clientRank: 0, offset: 3, count: 0), blockSize: 0),
                       .accepted(simulationComplete: false))
        XCTAssertEqual(t.record(header(sim: 0, step: 1, clientRank: 0, offset: 3, count: 0), blockSize: 0),
                       .accepted(simulationComplete: true))
    }

    func testClosedSimulationRefusesLaterData() {
        var t = CompletionTracker(simulationCount: 3, nbFields: 1, nbTimeSteps: 2)
        _ = t.record(header(sim: 2, step: 0, clientRank: 0, offset: 0, count: 10), blockSize: 10)
        t.close(simulation: 2)
        XCTAssertEqual(t.openSimulations, 0)
        XCTAssertEqual(t.record(header(sim: 2, step: 1, clientRank: 0, offset: 0, count: 10), blockSize: 10), .closed)
    }

    /// `classify` (asked before the flavor applies a piece) must say exactly what `record`
    /// (after) then does, for any mix of new, duplicate, overfull, closed and reopened pieces.
    func testClassifyPredictsRecordOnRandomStreams() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let fields = Int.random(in: 1...3, using: &generator)
            let steps = Int.random(in: 1...4, using: &generator)
            var tracker = CompletionTracker(simulationCount: 4, nbFields: fields, nbTimeSteps: steps)
            for _ in 0..<300 {
                let sim = UInt32.random(in: 0..<4, using: &generator)
                switch Int.random(in: 0..<40, using: &generator) {
                case 0: tracker.close(simulation: sim)
                case 1: tracker.reopen(simulation: sim, forget: [(field: 0, step: Int.random(in: 0..<steps))])
                default:
                    // Blocks of 4 values, sent by two client ranks in halves, sometimes too much.
                    let piece = header(sim: sim, step: UInt32.random(in: 0..<UInt32(steps), using: &generator),
                                       field: UInt32.random(in: 0..<UInt32(fields), using: &generator),
                                       clientRank: UInt32.random(in: 0..<2, using: &generator), offset: 0,
                                       count: [2, 2, 2, 3][Int.random(in: 0..<4, using: &generator)])
                    let predicted = tracker.classify(piece, blockSize: 4)
                    let recorded = tracker.record(piece, blockSize: 4)
                    XCTAssertEqual(predicted, recorded, "round \(round): \(piece)")
                    if predicted != recorded { return }
                }
            }
        }
    }

    func testBitset() {
        var b = Bitset(capacity: 130)
        XCTAssertTrue(b.insert(0)); XCTAssertTrue(b.insert(64)); XCTAssertTrue(b.insert(129))
        XCTAssertFalse(b.insert(64))
        XCTAssertEqual(b.count, 3)
        XCTAssertTrue(b.contains(129)); XCTAssertFalse(b.contains(128)); XCTAssertFalse(b.contains(500))
        XCTAssertFalse(b.isFull)
    }

    func testReopenForgetsOnlyTheGivenStepsOfAnOpenSimulation() {
        var t = CompletionTracker(simulationCount: 2, nbFields: 1, nbTimeSteps: 3)
        let step0 = header(sim: 0, step: 0, clientRank: 0, offset: 0, count: 10)
        let step1 = header(sim: 0, step: 1, clientRank: 0, offset: 0, count: 10)
        XCTAssertEqual(t.record(step0, blockSize: 10), .accepted(simulationComplete: false))
        XCTAssertEqual(t.record(step1, blockSize: 10), .accepted(simulationComplete: false))
        XCTAssertTrue(t.reopen(simulation: 0, forget: [(field: 0, step: 1)]))
        XCTAssertEqual(t.record(step0, blockSize: 10), .duplicate, "a kept step stays received")
        XCTAssertEqual(t.record(step1, blockSize: 10), .accepted(simulationComplete: false), "a forgotten step is accepted again")
        XCTAssertEqual(t.record(header(sim: 0, step: 2, clientRank: 0, offset: 0, count: 10), blockSize: 10),
                       .accepted(simulationComplete: true), "completion still counts every step once")
    }

    func testReopenOfACompletedSimulationKeepsEveryOtherStepAsReceived() {
        var t = CompletionTracker(simulationCount: 1, nbFields: 2, nbTimeSteps: 2)
        for f in 0..<2 as Range<UInt32> {
            for step in 0..<2 as Range<UInt32> {
                _ = t.record(header(sim: 0, step: step, field: f, clientRank: 0, offset: 0, count: 10), blockSize: 10)
            }
        }
        XCTAssertEqual(t.record(header(sim: 0, step: 0, clientRank: 0, offset: 0, count: 10), blockSize: 10), .closed)
        XCTAssertFalse(t.reopen(simulation: 0, forget: []), "nothing to forget: stays closed")
        XCTAssertTrue(t.reopen(simulation: 0, forget: [(field: 1, step: 0)]))
        XCTAssertEqual(t.openSimulations, 1)
        // Another client rank's copy of a kept step is still a duplicate (sealed step).
        XCTAssertEqual(t.record(header(sim: 0, step: 1, field: 0, clientRank: 5, offset: 0, count: 10), blockSize: 10), .duplicate)
        XCTAssertEqual(t.record(header(sim: 0, step: 0, field: 1, clientRank: 0, offset: 0, count: 4), blockSize: 10),
                       .accepted(simulationComplete: false))
        XCTAssertEqual(t.record(header(sim: 0, step: 0, field: 1, clientRank: 1, offset: 4, count: 6), blockSize: 10),
                       .accepted(simulationComplete: true), "the forgotten step completes the simulation again")
    }

    func testReopenOfAnAbandonedOrUnknownSimulationChangesNothing() {
        var t = CompletionTracker(simulationCount: 2, nbFields: 1, nbTimeSteps: 1)
        XCTAssertFalse(t.reopen(simulation: 1, forget: [(field: 0, step: 0)]), "never seen")
        XCTAssertFalse(t.reopen(simulation: 9, forget: [(field: 0, step: 0)]), "out of range")
    }
}
