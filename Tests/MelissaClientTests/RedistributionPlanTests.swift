import MelissaProtocol
import XCTest
@testable import MelissaClient

final class RedistributionPlanTests: XCTestCase {
    /// Plans of every client rank for the given local sizes.
    private func plans(localSizes: [Int], serverCount: Int) -> [RedistributionPlan] {
        let global = UInt64(localSizes.reduce(0, +))
        var offset: UInt64 = 0
        return localSizes.enumerated().map { rank, size in
            defer { offset += UInt64(size) }
            return RedistributionPlan(globalSize: global, localOffset: offset, localSize: size,
                                      serverCount: serverCount, clientRank: rank)
        }
    }

    func testEveryGlobalIndexGoesToExactlyOneServerRankBlock() {
        let layouts: [[Int]] = [
            [10], [5, 5], [3, 4, 3], [1, 0, 7, 0, 2], [0, 0, 1], [100, 1, 99, 37, 3, 0, 64],
            [1], [2, 1], [7, 7, 7, 7, 7], [0, 13],
        ]
        for localSizes in layouts {
            for serverCount in [1, 2, 3, 4, 5, 8, 13, 64] {
                let global = localSizes.reduce(0, +)
                let partition = BlockPartition(globalSize: UInt64(global), serverCount: serverCount)
                var hits = [Int](repeating: 0, count: global)
                var notices: [Int] = []
                for (clientRank, plan) in plans(localSizes: localSizes, serverCount: serverCount).enumerated() {
                    let context = "sizes \(localSizes), M \(serverCount), client rank \(clientRank)"
                    // The pieces tile the local slice in order, each inside its server rank's block.
                    var local = 0
                    for piece in plan.pieces {
                        XCTAssertEqual(piece.localStart, local, context)
                        XCTAssertGreaterThan(piece.count, 0, context)
                        XCTAssertEqual(piece.globalOffset, plan.localOffset + UInt64(piece.localStart), context)
                        let block = partition.block(piece.serverRank)
                        XCTAssertTrue(block.contains(piece.globalOffset), context)
                        XCTAssertLessThanOrEqual(piece.globalOffset + UInt64(piece.count), block.upperBound, context)
                        for index in piece.globalOffset..<(piece.globalOffset + UInt64(piece.count)) {
                            hits[Int(index)] += 1
                        }
                        local += piece.count
                    }
                    XCTAssertEqual(local, plan.localSize, context)
                    XCTAssertEqual(plan.pieces.map(\.serverRank), plan.pieces.map(\.serverRank).sorted(), context)
                    XCTAssertEqual(Set(plan.pieces.map(\.serverRank)).count, plan.pieces.count,
                                   "one message per server rank: \(context)")
                    if clientRank != 0 { XCTAssertEqual(plan.emptyBlockNotices, [], context) }
                    for notice in plan.emptyBlockNotices {
                        XCTAssertEqual(notice.globalOffset, partition.block(notice.serverRank).lowerBound, context)
                        XCTAssertLessThanOrEqual(notice.globalOffset, UInt64(global), context)
                        notices.append(notice.serverRank)
                    }
                }
                XCTAssertEqual(hits, [Int](repeating: 1, count: global), "sizes \(localSizes), M \(serverCount)")
                // Each empty-block server rank hears once per step (from client rank 0), others never.
                let empty = (0..<serverCount).filter { partition.block($0).isEmpty }
                XCTAssertEqual(notices, empty, "sizes \(localSizes), M \(serverCount)")
            }
        }
    }

    func testSliceAcrossThreeBlocks() {
        // Global 10 over 3 server ranks: [0,4) [4,7) [7,10); this rank holds [3,8).
        let plan = RedistributionPlan(globalSize: 10, localOffset: 3, localSize: 5, serverCount: 3, clientRank: 1)
        XCTAssertEqual(plan.pieces, [
            .init(serverRank: 0, localStart: 0, globalOffset: 3, count: 1),
            .init(serverRank: 1, localStart: 1, globalOffset: 4, count: 3),
            .init(serverRank: 2, localStart: 4, globalOffset: 7, count: 1),
        ])
        XCTAssertEqual(plan.emptyBlockNotices, [])
    }

    func testGlobalSizeBelowServerCountNotifiesTheEmptyBlocks() {
        // 2 values over 4 server ranks: blocks [0,1) [1,2) [2,2) [2,2).
        let plan = RedistributionPlan(globalSize: 2, localOffset: 0, localSize: 2, serverCount: 4, clientRank: 0)
        XCTAssertEqual(plan.pieces.map(\.serverRank), [0, 1])
        XCTAssertEqual(plan.emptyBlockNotices, [.init(serverRank: 2, globalOffset: 2), .init(serverRank: 3, globalOffset: 2)])
    }

    func testEmptyLocalSliceSendsNothing() {
        let plan = RedistributionPlan(globalSize: 8, localOffset: 8, localSize: 0, serverCount: 2, clientRank: 3)
        XCTAssertEqual(plan.pieces, [])
        XCTAssertEqual(plan.emptyBlockNotices, [])
    }
}
