import Foundation
import XCTest
@testable import MelissaSensitivity
@testable import MelissaServer

final class WelfordTests: XCTestCase {
    /// Two-pass mean and unbiased variance: the textbook oracle.
    func twoPass(_ xs: [Double]) -> (Double, Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        return (m, xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1))
    }

    func testMatchesTwoPassPerCellAndStep() {
        var rng = Xoshiro256StarStar(seed: 9)
        let steps = 3, cells = 5, sims = 50
        var w = WelfordField(nbTimeSteps: steps, blockSize: cells)
        var samples = [[Double]](repeating: [], count: steps * cells)
        for _ in 0..<sims {
            for t in 0..<steps {
                // Offset 1e6 stresses cancellation, which Welford is there to avoid.
                let values = (0..<cells).map { _ in 1e6 + rng.nextUnitDouble() * 10 }
                // Split each step into two pieces, as two client ranks would send it.
                values[0..<2].withUnsafeBufferPointer { w.update(step: t, localOffset: 0, values: $0) }
                values[2...].withUnsafeBufferPointer { w.update(step: t, localOffset: 2, values: $0) }
                for c in 0..<cells { samples[t * cells + c].append(values[c]) }
            }
        }
        let variance = w.variance
        for i in 0..<(steps * cells) {
            let (m, v) = twoPass(samples[i])
            XCTAssertEqual(w.counts[i], Int64(sims))
            XCTAssertEqual(w.mean[i], m, accuracy: abs(m) * 1e-13)
            XCTAssertEqual(variance[i], v, accuracy: v * 1e-9)
        }
    }

    func testVarianceIsZeroBelowTwoSamples() {
        var w = WelfordField(nbTimeSteps: 1, blockSize: 1)
        XCTAssertEqual(w.variance, [0])
        [3.0].withUnsafeBufferPointer { w.update(step: 0, localOffset: 0, values: $0) }
        XCTAssertEqual(w.mean, [3]); XCTAssertEqual(w.variance, [0])
    }

    func testInterleaveRebuildsTheGlobalTable() {
        // Global size 5 over 2 ranks: blocks [0,3) and [3,5); 2 steps; value = 10*t + cell.
        let blocks: [Range<UInt64>] = [0..<3, 3..<5]
        let gathered: [Double] = [0, 1, 2, 10, 11, 12, 3, 4, 13, 14]
        XCTAssertEqual(SensitivityServer.interleave(gathered, blocks: blocks, steps: 2, globalSize: 5),
                       [0, 1, 2, 3, 4, 10, 11, 12, 13, 14])
    }

    func testNpyHeaderIsAlignedAndParsable() throws {
        let h = NpyWriter.header(descr: "<f8", shape: [3, 4])
        XCTAssertEqual(h.count % 64, 0)
        XCTAssertEqual(Array(h.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let text = String(decoding: h.dropFirst(10), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"))
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertTrue(String(decoding: NpyWriter.header(descr: "<i8", shape: [7]).dropFirst(10), as: UTF8.self).contains("(7,)"))
    }
}
