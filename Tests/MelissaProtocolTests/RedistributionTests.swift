import XCTest
@testable import MelissaProtocol

/// The N-to-M redistribution: a global field of N values, cut by the simulation into n
/// client slices, reaches M server ranks, each index exactly once and at its block's owner.
final class RedistributionTests: XCTestCase {

    static let globalSizes: [UInt64] = [0, 1, 2, 5, 7, 10, 100, 1001]

    /// Ways a simulation cuts [0, N) into n contiguous slices, in rank order.
    static func slicings(globalSize n: UInt64, clients: Int, rng: inout SplitMix64) -> [(String, [Range<UInt64>])] {
        func fromCuts(_ cuts: [UInt64]) -> [Range<UInt64>] {
            let bounds = [0] + cuts.sorted() + [n]
            return (0..<clients).map { bounds[$0]..<bounds[$0 + 1] }
        }
        var out: [(String, [Range<UInt64>])] = []
        // Even, like MPI codes that split a mesh evenly (the remainder on the last rank).
        let q = n / UInt64(clients)
        out.append(("even, remainder last", fromCuts((1..<clients).map { UInt64($0) * q })))
        // Remainder on the first ranks (the same rule as the server blocks).
        out.append(("like the blocks", fromCuts((1..<clients).map { c in
            let e = n % UInt64(clients)
            return UInt64(c) * q + min(UInt64(c), e)
        })))
        // Everything on rank 0, everything on the last rank: all other slices empty.
        out.append(("all on rank 0", fromCuts([UInt64](repeating: n, count: clients - 1))))
        out.append(("all on the last rank", fromCuts([UInt64](repeating: 0, count: clients - 1))))
        // Growing slices (rank i gets about i + 1 shares), with the middle rank empty.
        let weights = (0..<clients).map { $0 == clients / 2 && clients > 2 ? 0 : UInt64($0 + 1) }
        let total = weights.reduce(0, +)
        var acc: UInt64 = 0
        out.append(("growing, middle empty", fromCuts(weights.dropLast().map { w in
            acc += w
            return total == 0 ? 0 : n * acc / total
        })))
        // Random cut points (duplicates give empty slices).
        for k in 0..<3 {
            out.append(("random \(k)", fromCuts((1..<clients).map { _ in UInt64.random(in: 0...n, using: &rng) })))
        }
        return out
    }

    func testBlocksAreContiguousCoverAndBalanced() {
        for n in Self.globalSizes + [3, 6, 11, 65_537] {
            for m in 1...9 {
                assertBlocks(BlockPartition(globalSize: n, serverCount: m))
            }
        }
    }

    func testBlocksNearTheTopOfUInt64() {
        for n in [UInt64.max, UInt64.max - 1, UInt64.max / 2 + 3] {
            for m in [1, 2, 3, 6, 7, 65_536] {
                assertBlocks(BlockPartition(globalSize: n, serverCount: m))
            }
        }
    }

    private func assertBlocks(_ p: BlockPartition, file: StaticString = #filePath, line: UInt = #line) {
        let n = p.globalSize
        let m = UInt64(p.serverCount)
        let label = "N = \(n), M = \(m)"
        XCTAssertEqual(p.block(0).lowerBound, 0, label, file: file, line: line)
        XCTAssertEqual(p.block(p.serverCount - 1).upperBound, n, label, file: file, line: line)
        var smallest = UInt64.max, largest = UInt64.min
        for r in 0..<p.serverCount {
            let b = p.block(r)
            if r > 0 { XCTAssertEqual(p.block(r - 1).upperBound, b.lowerBound, "\(label) rank \(r)", file: file, line: line) }
            let size = b.upperBound - b.lowerBound   // not b.count: Int cannot hold every UInt64 size
            smallest = min(smallest, size)
            largest = max(largest, size)
            // The documented rule: the first N mod M ranks hold one value more.
            let expected = n / m + (UInt64(r) < n % m ? 1 : 0)
            XCTAssertEqual(size, expected, "\(label) rank \(r)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(largest - smallest, 1, label, file: file, line: line)
    }

    func testEveryIndexIsDeliveredOnceToItsOwner() {
        var rng = SplitMix64(seed: 2024)
        var combinations = 0
        for clients in 1...7 {
            for servers in 1...6 {
                for n in Self.globalSizes {
                    let partition = BlockPartition(globalSize: n, serverCount: servers)
                    for (how, slices) in Self.slicings(globalSize: n, clients: clients, rng: &rng) {
                        combinations += 1
                        let label = "n = \(clients), M = \(servers), N = \(n), slices \(how) \(slices)"
                        // The slices themselves tile [0, N) (else the test, not the code, is wrong).
                        XCTAssertEqual(slices.map { UInt64($0.count) }.reduce(0, +), n, label)
                        var delivered = [Int](repeating: 0, count: Int(n))
                        for slice in slices {
                            let pieces = partition.overlaps(of: slice)
                            XCTAssertEqual(pieces.map(\.rank), pieces.map(\.rank).sorted(), "rank order: \(label)")
                            XCTAssertEqual(Set(pieces.map(\.rank)).count, pieces.count, "one piece per rank: \(label)")
                            XCTAssertEqual(pieces.map { $0.range.count }.reduce(0, +), slice.count, label)
                            if slice.isEmpty { XCTAssertTrue(pieces.isEmpty, "empty slice sends nothing: \(label)") }
                            for (rank, range) in pieces {
                                XCTAssertFalse(range.isEmpty, label)
                                XCTAssertTrue(slice.lowerBound <= range.lowerBound && range.upperBound <= slice.upperBound, label)
                                let block = partition.block(rank)
                                XCTAssertEqual(range, block.clamped(to: slice), label)
                                for i in range {
                                    XCTAssertTrue(block.contains(i), "index \(i) sent to rank \(rank): \(label)")
                                    delivered[Int(i)] += 1
                                }
                            }
                            // Every server rank whose block meets the slice gets a piece.
                            for r in 0..<servers where !partition.block(r).clamped(to: slice).isEmpty {
                                XCTAssertTrue(pieces.contains { $0.rank == r }, "rank \(r) missed: \(label)")
                            }
                        }
                        for (i, times) in delivered.enumerated() where times != 1 {
                            XCTFail("index \(i) delivered \(times) times: \(label)")
                        }
                    }
                }
            }
        }
        XCTAssertEqual(combinations, 7 * 6 * 8 * 8)
    }

    func testWorkedExampleFromTheSpec() {
        let p = BlockPartition(globalSize: 10, serverCount: 3)
        XCTAssertEqual((0..<3).map { p.block($0) }, [0..<4, 4..<7, 7..<10])
        // A client of 2 ranks with slices [0,5) and [5,10).
        let rank0 = p.overlaps(of: 0..<5)
        XCTAssertEqual(rank0.map(\.rank), [0, 1])
        XCTAssertEqual(rank0.map(\.range), [0..<4, 4..<5])
        let rank1 = p.overlaps(of: 5..<10)
        XCTAssertEqual(rank1.map(\.rank), [1, 2])
        XCTAssertEqual(rank1.map(\.range), [5..<7, 7..<10])
        // Server rank 1 therefore receives two messages per (time step, field): [4,5) and [5,7).
    }

    func testMoreServerRanksThanValues() {
        let p = BlockPartition(globalSize: 2, serverCount: 5)
        XCTAssertEqual((0..<5).map { p.block($0) }, [0..<1, 1..<2, 2..<2, 2..<2, 2..<2])
        XCTAssertEqual(p.overlaps(of: 0..<2).map(\.rank), [0, 1])
        let empty = BlockPartition(globalSize: 0, serverCount: 3)
        XCTAssertTrue(empty.overlaps(of: 0..<0).isEmpty)
        XCTAssertEqual((0..<3).map { empty.block($0) }, [0..<0, 0..<0, 0..<0])
    }

    func testOneServerRankGetsEverySliceWhole() {
        let p = BlockPartition(globalSize: 1001, serverCount: 1)
        XCTAssertEqual(p.block(0), 0..<1001)
        for slice: Range<UInt64> in [0..<1, 3..<500, 1000..<1001, 0..<1001] {
            XCTAssertEqual(p.overlaps(of: slice).map(\.rank), [0])
            XCTAssertEqual(p.overlaps(of: slice).map(\.range), [slice])
        }
    }
}
