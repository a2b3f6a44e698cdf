import MelissaProtocol
import XCTest
@testable import MelissaServer

/// The admission rules of a data header, apart from sockets and the tracker: every refusal
/// reason, the layout learned from the first admitted header, and hostile offsets that would
/// overflow a naive bounds check.
final class DataAdmissionTests: XCTestCase {
    /// 3 simulations, 4 steps, 2 fields, on rank 1 of 3 server ranks.
    private let rules = DataAdmission(simulationCount: 3, nbTimeSteps: 4, fieldSizes: nil, serverCount: 3, rank: 1)

    private func header(sim: UInt32 = 0, step: UInt32 = 0, field: UInt32 = 0, global: UInt64 = 10,
                        offset: UInt64, count: UInt64) -> DataHeader {
        DataHeader(simulationID: sim, timeStep: step, field: field, clientRank: 0, globalSize: global,
                   offset: offset, count: count)
    }

    func testAdmitsAPieceInsideThisRanksBlockAndLearnsTheLayout() {
        // 10 values over 3 ranks: blocks [0,4) [4,7) [7,10); rank 1 holds [4,7).
        let verdict = rules.check(header(offset: 4, count: 3), known: [nil, nil])
        XCTAssertEqual(verdict, .admit(FieldLayout(globalSize: 10, block: 4..<7), learnsLayout: true))
        let known = [FieldLayout(globalSize: 10, block: 4..<7), nil]
        XCTAssertEqual(rules.check(header(offset: 5, count: 1), known: known),
                       .admit(FieldLayout(globalSize: 10, block: 4..<7), learnsLayout: false))
    }

    func testRefusesWhatTheStudyDoesNotHave() {
        XCTAssertEqual(rules.check(header(sim: 3, offset: 4, count: 3), known: [nil, nil]), .refuse(.unknownSimulation))
        XCTAssertEqual(rules.check(header(field: 2, offset: 4, count: 3), known: [nil, nil]), .refuse(.unknownField))
        XCTAssertEqual(rules.check(header(step: 4, offset: 4, count: 3), known: [nil, nil]), .refuse(.outOfRangeStep))
    }

    func testRefusesASizeThatDisagrees() {
        let known = [FieldLayout(globalSize: 10, block: 4..<7), nil]
        XCTAssertEqual(rules.check(header(global: 11, offset: 4, count: 3), known: known),
                       .refuse(.inconsistentSize(known: 10)))
        let sized = DataAdmission(simulationCount: 3, nbTimeSteps: 4, fieldSizes: [12, 5], serverCount: 3, rank: 1)
        XCTAssertEqual(sized.check(header(offset: 4, count: 3), known: [nil, nil]), .refuse(.sizeNotInConfig(configured: 12)))
    }

    func testRefusesPiecesOutsideTheBlock() {
        XCTAssertEqual(rules.check(header(offset: 3, count: 2), known: [nil, nil]), .refuse(.misrouted))
        XCTAssertEqual(rules.check(header(offset: 6, count: 2), known: [nil, nil]), .refuse(.misrouted))
        // A header-only notice is only for an empty block.
        XCTAssertEqual(rules.check(header(offset: 4, count: 0), known: [nil, nil]), .refuse(.misrouted))
    }

    func testHostileOffsetsDoNotOverflow() {
        // offset + count would wrap around UInt64 and pass a naive `offset + count <= upper`.
        XCTAssertEqual(rules.check(header(offset: 5, count: UInt64.max - 2), known: [nil, nil]), .refuse(.misrouted))
        XCTAssertEqual(rules.check(header(offset: UInt64.max, count: 2), known: [nil, nil]), .refuse(.misrouted))
    }

    func testAnEmptyBlockGetsItsHeaderOnlyNotice() {
        // 2 values over 3 ranks: rank 1 holds [1,2), rank 2 the empty block [2,2).
        let last = DataAdmission(simulationCount: 3, nbTimeSteps: 4, fieldSizes: nil, serverCount: 3, rank: 2)
        XCTAssertEqual(last.check(header(global: 2, offset: 2, count: 0), known: [nil, nil]),
                       .admit(FieldLayout(globalSize: 2, block: 2..<2), learnsLayout: true))
    }
}
