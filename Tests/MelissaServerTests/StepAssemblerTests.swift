import MelissaCheckpoint
@testable import MelissaServer
import XCTest

/// The step assembler's contract: a block completes exactly when all its values arrived, in
/// any piece order; memory stays within the limit; partial steps survive a checkpoint.
final class StepAssemblerTests: XCTestCase {
    typealias Key = StepAssembler.Key

    func add(_ assembler: inout StepAssembler, _ key: Key, block: Int, at offset: Int, _ values: [Double])
        -> StepAssembler.Outcome {
        values.withUnsafeBufferPointer { assembler.add(key, blockSize: block, localOffset: offset, values: $0) }
    }

    func testPiecesInAnyOrderCompleteTheBlockOnceWithEveryValueInPlace() {
        let block = 10
        let want = (0..<block).map { Double($0) * 1.5 }
        // Cut the block into pieces [0,3) [3,4) [4,9) [9,10) and feed them in every rotation.
        let cuts = [0..<3, 3..<4, 4..<9, 9..<10]
        for rotation in 0..<cuts.count {
            var assembler = StepAssembler(limitBytes: 1 << 20)
            let key = Key(simulation: 2, field: 0, step: 7)
            let order = Array(cuts[rotation...] + cuts[..<rotation])
            for (i, cut) in order.enumerated() {
                let outcome = add(&assembler, key, block: block, at: cut.lowerBound, Array(want[cut]))
                if i < order.count - 1 {
                    XCTAssertEqual(outcome, .pending, "rotation \(rotation) piece \(i)")
                    XCTAssertEqual(assembler.heldBytes, block * 8)
                } else {
                    XCTAssertEqual(outcome, .complete(key, want), "rotation \(rotation)")
                }
            }
            XCTAssertEqual(assembler.pendingSteps, 0)
            XCTAssertEqual(assembler.heldBytes, 0)
        }
    }

    func testAWholeBlockInOnePieceIsCompleteAtOnceAndHoldsNothing() {
        var assembler = StepAssembler(limitBytes: 0)
        let key = Key(simulation: 0, field: 1, step: 0)
        XCTAssertEqual(add(&assembler, key, block: 3, at: 0, [1, 2, 3]), .complete(key, [1, 2, 3]))
        XCTAssertEqual(assembler.heldBytes, 0)
    }

    func testANewStepBeyondTheLimitIsRefusedButAStartedOneStillCompletes() {
        var assembler = StepAssembler(limitBytes: 4 * 8)
        let first = Key(simulation: 0, field: 0, step: 0)
        let second = Key(simulation: 0, field: 0, step: 1)
        XCTAssertEqual(add(&assembler, first, block: 4, at: 0, [1, 2]), .pending)
        XCTAssertEqual(add(&assembler, second, block: 4, at: 0, [5, 6]), .refusedFull)
        XCTAssertEqual(add(&assembler, first, block: 4, at: 2, [3, 4]), .complete(first, [1, 2, 3, 4]))
        XCTAssertEqual(add(&assembler, second, block: 4, at: 0, [5, 6]), .pending, "room again once the first completed")
    }

    func testPiecesThatDoNotFitTheBlockAreRefused() {
        var assembler = StepAssembler(limitBytes: 1 << 20)
        let key = Key(simulation: 0, field: 0, step: 0)
        XCTAssertEqual(add(&assembler, key, block: 4, at: 3, [1, 2]), .refusedMismatch, "runs past the block")
        XCTAssertEqual(add(&assembler, key, block: 4, at: 0, [1]), .pending)
        XCTAssertEqual(add(&assembler, key, block: 5, at: 1, [1]), .refusedMismatch, "another block size")
        XCTAssertEqual(add(&assembler, key, block: 4, at: -1, [1]), .refusedMismatch)
    }

    func testDroppingASimulationFreesItsStepsAndNamesThem() {
        var assembler = StepAssembler(limitBytes: 1 << 20)
        _ = add(&assembler, Key(simulation: 1, field: 0, step: 3), block: 4, at: 0, [1])
        _ = add(&assembler, Key(simulation: 1, field: 1, step: 0), block: 2, at: 0, [1])
        _ = add(&assembler, Key(simulation: 2, field: 0, step: 0), block: 4, at: 0, [1])
        let dropped = assembler.drop(simulation: 1)
        XCTAssertEqual(dropped.map { [$0.field, $0.step] }, [[0, 3], [1, 0]])
        XCTAssertEqual(assembler.pendingSteps, 1)
        XCTAssertEqual(assembler.heldBytes, 4 * 8)
    }

    func testPartialStepsSurviveACheckpointAndCompleteAfterIt() throws {
        var assembler = StepAssembler(limitBytes: 1 << 20)
        let key = Key(simulation: 5, field: 0, step: 2)
        _ = add(&assembler, key, block: 3, at: 1, [20, 30])
        var encoder = CheckpointEncoder()
        assembler.encode(into: &encoder)

        var restored = StepAssembler(limitBytes: 1 << 20)
        var decoder = CheckpointDecoder(encoder.bytes, section: "TEST")
        try restored.restore(from: &decoder)
        XCTAssertEqual(restored.heldBytes, 3 * 8)
        XCTAssertEqual(add(&restored, key, block: 3, at: 0, [10]), .complete(key, [10, 20, 30]))

        var tooSmall = StepAssembler(limitBytes: 8)
        var again = CheckpointDecoder(encoder.bytes, section: "TEST")
        XCTAssertThrowsError(try tooSmall.restore(from: &again)) { XCTAssertTrue("\($0)".contains("more than the limit"), "\($0)") }
        var truncated = CheckpointDecoder(Array(encoder.bytes.dropLast(3)), section: "TEST")
        XCTAssertThrowsError(try StepAssembler(limitBytes: 1 << 20).restoring(&truncated))
    }
}

extension StepAssembler {
    /// Restores a fresh copy (so a failed restore can be asserted on a temporary).
    func restoring(_ decoder: inout CheckpointDecoder) throws -> StepAssembler {
        var copy = self
        try copy.restore(from: &decoder)
        return copy
    }
}
