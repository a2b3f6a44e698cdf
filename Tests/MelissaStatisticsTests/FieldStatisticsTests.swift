import XCTest
@testable import MelissaStatistics

/// A message: values for cells offset ..< offset + values.count of step.
struct Message {
    let step: Int
    let offset: Int
    let values: [Double]
}

/// Seeded messages over `steps × block` cells, with the samples each cell received (in
/// order). Simulations send each step as 1…6 pieces at random cut points; every 7th
/// simulation covers only a sub-range; the last step only ever gets cells 5 ..< 20 (the
/// rest stay empty) and cells 0 ..< 3 of the step before last get one extra simulation
/// while cells 0 ..< 3 of it get nothing else, so some cells have n = 1.
struct Scenario {
    let steps: Int
    let block: Int
    var messages: [Message] = []
    var samples: [[[Double]]]

    init(seed: UInt64, steps: Int = 4, block: Int = 37, simulations: Int = 40, maxPieces: Int = 6) {
        precondition(steps >= 3 && block >= 20)
        self.steps = steps
        self.block = block
        samples = Array(repeating: Array(repeating: [], count: block), count: steps)
        var rng = TestRNG(seed: seed)
        for sim in 0 ..< simulations {
            for step in 0 ..< steps {
                var range = 0 ..< block
                if step == steps - 1 { range = 5 ..< 20 }
                if step == steps - 2 { range = 3 ..< block }
                if sim % 7 == 3 {
                    let a = range.lowerBound + rng.below(range.count / 2)
                    range = a ..< a + 1 + rng.below(range.upperBound - a)
                }
                var pieces = randomPieces(range, maxPieces: maxPieces, &rng)
                if rng.below(2) == 0 { pieces.reverse() }
                for piece in pieces { emit(step: step, cells: piece, &rng) }
            }
            if sim == 0 { emit(step: steps - 2, cells: 0 ..< 3, &rng) }
        }
        messages.append(Message(step: 0, offset: block, values: []))  // empty message at the end of the block
    }

    private mutating func emit(step: Int, cells: Range<Int>, _ rng: inout TestRNG) {
        var values = [Double]()
        for c in cells {
            // One value in ten is exactly a threshold, to check exceedance is strict.
            let x = rng.below(10) == 0 ? 7.0 : rng.skewed()
            values.append(x)
            samples[step][c].append(x)
        }
        messages.append(Message(step: step, offset: cells.lowerBound, values: values))
    }

    func fold(_ selection: StatisticsSelection) -> FieldStatistics {
        var f = FieldStatistics(selection: selection, nbTimeSteps: steps, blockSize: block)
        for m in messages {
            m.values.withUnsafeBufferPointer { f.update(step: m.step, localOffset: m.offset, values: $0) }
        }
        return f
    }
}

extension FieldStatistics {
    func extract(_ s: Statistic, step: Int) -> [Double] {
        var out = [Double](repeating: -1, count: blockSize)
        out.withUnsafeMutableBufferPointer { extract(s, step: step, into: $0) }
        return out
    }
}

/// The statistic as the documented formulas give it from the cell's samples.
func expected(_ s: Statistic, _ xs: [Double], _ selection: StatisticsSelection) -> Double {
    let t = TwoPass(xs)
    switch s {
    case .count: return t.n
    case .mean: return t.mean
    case .variance: return t.variance
    case .skewness: return t.skewness
    case .kurtosis: return t.kurtosis
    case .minimum: return t.min
    case .maximum: return t.max
    case let .threshold(i): return Double(xs.filter { $0 > selection.thresholds[i] }.count)
    case .quantile: return xs.isEmpty ? .nan : .infinity  // only the NaN rule is checked here
    }
}

final class FieldStatisticsTests: XCTestCase {
    let everything = StatisticsSelection(mean: true, variance: true, skewness: true, kurtosis: true,
                                         minimum: true, maximum: true, thresholds: [5.5, 7.0, 1e9, -1e9],
                                         quantileLevels: [0.5, 0.9], expectedSamples: 40)

    func checkAgainstTwoPass(_ f: FieldStatistics, _ scenario: Scenario, file: StaticString = #filePath, line: UInt = #line) {
        for step in 0 ..< scenario.steps {
            for s in f.available {
                let got = f.extract(s, step: step)
                for c in 0 ..< scenario.block {
                    let xs = scenario.samples[step][c]
                    let want = expected(s, xs, f.selection)
                    if case .quantile = s {
                        XCTAssertEqual(got[c].isNaN, xs.isEmpty, "quantile NaN rule, step \(step) cell \(c)", file: file, line: line)
                        continue
                    }
                    assertClose(got[c], want, "\(s) step \(step) cell \(c) (n = \(xs.count))", file: file, line: line)
                }
            }
        }
    }

    func testEveryStatisticMatchesTwoPassFormulas() {
        let scenario = Scenario(seed: 1)
        let f = scenario.fold(everything)
        checkAgainstTwoPass(f, scenario)
        // The scenario does reach the edge cases.
        let counts = (0 ..< scenario.steps).map { f.extract(.count, step: $0) }
        XCTAssertTrue(counts[3].contains(0))
        XCTAssertTrue(counts[2].contains(1))
        XCTAssertTrue(Set(counts[0]).count > 1, "partial simulations give cells different counts")
    }

    func testResultsDoNotDependOnHowMessagesSplitTheCells() {
        // Each cell sees its samples in the same order, so every split gives the same bits
        // (the vector lanes and the scalar remainder compute exactly the same operations).
        // The k-th samples of all cells are sent once as maximal runs and once cut into
        // random pieces.
        let a = Scenario(seed: 7)
        var whole = FieldStatistics(selection: everything, nbTimeSteps: a.steps, blockSize: a.block)
        var split = whole
        var rng = TestRNG(seed: 99)
        let depth = a.samples.map { $0.map(\.count).max() ?? 0 }.max() ?? 0
        for k in 0 ..< depth {
            for step in 0 ..< a.steps {
                // Cells that have a k-th sample, as maximal runs.
                var runs: [Range<Int>] = []
                var start: Int?
                for c in 0 ... a.block {
                    let has = c < a.block && a.samples[step][c].count > k
                    if has, start == nil { start = c }
                    if !has, let s = start { runs.append(s ..< c); start = nil }
                }
                for run in runs {
                    let values = run.map { a.samples[step][$0][k] }
                    values.withUnsafeBufferPointer { whole.update(step: step, localOffset: run.lowerBound, values: $0) }
                    for piece in randomPieces(run, maxPieces: 12, &rng) {
                        let part = Array(values[(piece.lowerBound - run.lowerBound) ..< (piece.upperBound - run.lowerBound)])
                        part.withUnsafeBufferPointer { split.update(step: step, localOffset: piece.lowerBound, values: $0) }
                    }
                }
            }
        }
        for step in 0 ..< a.steps {
            for s in whole.available {
                XCTAssertTrue(sameBits(whole.extract(s, step: step), split.extract(s, step: step)), "\(s) step \(step)")
            }
        }
        XCTAssertEqual(whole.encoded(), split.encoded())
    }

    func testEverySelectionShape() {
        let scenario = Scenario(seed: 3, steps: 3, block: 23, simulations: 12)
        for bits in 0 ..< 64 {
            for tails in [false, true] {
                let sel = StatisticsSelection(
                    mean: bits & 1 != 0, variance: bits & 2 != 0, skewness: bits & 4 != 0, kurtosis: bits & 8 != 0,
                    minimum: bits & 16 != 0, maximum: bits & 32 != 0,
                    thresholds: tails ? [6.0] : [], quantileLevels: tails && bits % 3 == 0 ? [0.25] : [],
                    expectedSamples: 12)
                let f = scenario.fold(sel)
                checkAgainstTwoPass(f, scenario)
                // available: count first, then the selected ones in the documented order.
                var want: [Statistic] = [.count]
                if sel.mean { want.append(.mean) }
                if sel.variance { want.append(.variance) }
                if sel.skewness { want.append(.skewness) }
                if sel.kurtosis { want.append(.kurtosis) }
                if sel.minimum { want.append(.minimum) }
                if sel.maximum { want.append(.maximum) }
                want += sel.thresholds.indices.map { .threshold($0) } + sel.quantileLevels.indices.map { .quantile($0) }
                XCTAssertEqual(f.available, want)
                // Memory estimate: n, the moments up to the highest order needed, min and max
                // when any extremum or quantile is on, one double per threshold and quantile.
                let order = sel.kurtosis ? 4 : sel.skewness ? 3 : sel.variance ? 2 : sel.mean ? 1 : 0
                let extrema = sel.minimum || sel.maximum || !sel.quantileLevels.isEmpty
                let doubles = 1 + order + (extrema ? 2 : 0) + sel.thresholds.count + sel.quantileLevels.count
                XCTAssertEqual(sel.bytesPerCell, 8 * doubles)
                XCTAssertEqual(f.stateBytes, scenario.steps * scenario.block * sel.bytesPerCell)
            }
        }
    }

    func testUndefinedValuesAreNaN() {
        let sel = everything
        var f = FieldStatistics(selection: sel, nbTimeSteps: 1, blockSize: 6)
        // cell 0: nothing; cell 1: one sample; cells 2…5: five equal samples (M2 = 0).
        [8.0].withUnsafeBufferPointer { f.update(step: 0, localOffset: 1, values: $0) }
        for _ in 0 ..< 5 {
            [3.0, 3.0, 3.0, 3.0].withUnsafeBufferPointer { f.update(step: 0, localOffset: 2, values: $0) }
        }
        XCTAssertEqual(f.extract(.count, step: 0), [0, 1, 5, 5, 5, 5])
        for s: Statistic in [.mean, .variance, .skewness, .kurtosis, .minimum, .maximum, .quantile(0), .quantile(1)] {
            XCTAssertTrue(f.extract(s, step: 0)[0].isNaN, "\(s) of an empty cell")
        }
        XCTAssertEqual(f.extract(.threshold(0), step: 0)[0], 0)
        XCTAssertEqual(f.extract(.threshold(3), step: 0)[0], 0)
        XCTAssertEqual(f.extract(.mean, step: 0)[1], 8)
        XCTAssertEqual(f.extract(.minimum, step: 0)[1], 8)
        XCTAssertEqual(f.extract(.maximum, step: 0)[1], 8)
        XCTAssertEqual(f.extract(.quantile(0), step: 0)[1], 8, "the first sample initialises the estimate")
        XCTAssertTrue(f.extract(.variance, step: 0)[1].isNaN, "variance with n = 1")
        XCTAssertTrue(f.extract(.skewness, step: 0)[1].isNaN)
        XCTAssertTrue(f.extract(.kurtosis, step: 0)[1].isNaN)
        XCTAssertEqual(f.extract(.variance, step: 0)[2], 0)
        XCTAssertTrue(f.extract(.skewness, step: 0)[2].isNaN, "skewness with M2 = 0")
        XCTAssertTrue(f.extract(.kurtosis, step: 0)[2].isNaN, "kurtosis with M2 = 0")
        XCTAssertEqual(f.extract(.quantile(1), step: 0)[2], 3)
        XCTAssertEqual(f.extract(.threshold(0), step: 0), [0, 1, 0, 0, 0, 0])
        XCTAssertEqual(f.extract(.threshold(3), step: 0), [0, 1, 5, 5, 5, 5])
    }

    func testThresholdExceedanceIsStrict() {
        let sel = StatisticsSelection(mean: false, variance: false, thresholds: [1, 2, 3])
        var f = FieldStatistics(selection: sel, nbTimeSteps: 2, blockSize: 5)
        for v in [1.0, 2.0, 3.0, 2.5, -.infinity, .infinity] {
            [v, v, v, v, v].withUnsafeBufferPointer { f.update(step: 1, localOffset: 0, values: $0) }
        }
        XCTAssertEqual(f.available, [.count, .threshold(0), .threshold(1), .threshold(2)])
        XCTAssertEqual(f.extract(.threshold(0), step: 1), Array(repeating: 4, count: 5))  // 2, 3, 2.5, inf
        XCTAssertEqual(f.extract(.threshold(1), step: 1), Array(repeating: 3, count: 5))  // 3, 2.5, inf
        XCTAssertEqual(f.extract(.threshold(2), step: 1), Array(repeating: 1, count: 5))  // inf
        XCTAssertEqual(f.extract(.threshold(0), step: 0), Array(repeating: 0, count: 5))
    }

    /// Values computed by iterative-stats 0.1.2's IterativeQuantile (dim = 1) on the same
    /// sequences: the algorithm is reproduced operation for operation. Five cells get the
    /// same sequence, so both the vector lanes and the scalar remainder are checked.
    func testQuantileReproducesIterativeStats() {
        let cases: [(alpha: Double, maxIt: Int, xs: [Double], want: Double)] = [
            (0.5, 3, [1, 3, 2], 1.9279368908346937),
            (0.25, 2, [1, 3, 2, 0.5, 4], 1.244690020707436),
            (0.25, 0, [1, 3, 2, 0.5, 4], 1.244690020707436),  // expectedSamples < 2 is used as 2
            (0.25, 5, [1, 3, 2, 0.5, 4], 1.1611147223306424),
            (0.9, 5, [1, 3, 2, 0.5, 4], 2.635091886968072),
        ]
        for (alpha, maxIt, xs, want) in cases {
            var f = FieldStatistics(selection: StatisticsSelection(quantileLevels: [alpha], expectedSamples: maxIt),
                                    nbTimeSteps: 1, blockSize: 5)
            for x in xs { [x, x, x, x, x].withUnsafeBufferPointer { f.update(step: 0, localOffset: 0, values: $0) } }
            XCTAssertEqual(f.extract(.quantile(0), step: 0), Array(repeating: want, count: 5), "alpha \(alpha) max_it \(maxIt)")
        }
    }

    /// Robbins–Monro converges to the quantile: after 5,000 uniform samples the estimate is
    /// within 0.03 (3 % of the range) of the empirical quantile in every cell, and within
    /// 0.01 on average (docs/STATISTICS.md).
    func testQuantileConvergesToEmpiricalQuantile() {
        let cells = 16, n = 5000
        let levels = [0.05, 0.1, 0.5, 0.9, 0.95]
        var f = FieldStatistics(selection: StatisticsSelection(mean: false, variance: false, quantileLevels: levels,
                                                               expectedSamples: n),
                                nbTimeSteps: 1, blockSize: cells)
        var rng = TestRNG(seed: 5)
        var columns = Array(repeating: [Double](), count: cells)
        var message = [Double](repeating: 0, count: cells)
        for _ in 0 ..< n {
            for c in 0 ..< cells { message[c] = rng.uniform(); columns[c].append(message[c]) }
            message.withUnsafeBufferPointer { f.update(step: 0, localOffset: 0, values: $0) }
        }
        for (j, alpha) in levels.enumerated() {
            let got = f.extract(.quantile(j), step: 0)
            var total = 0.0
            for c in 0 ..< cells {
                let sorted = columns[c].sorted()
                let h = Double(n - 1) * alpha, lo = Int(h)
                let empirical = sorted[lo] + (h - Double(lo)) * (sorted[min(lo + 1, n - 1)] - sorted[lo])
                let err = abs(got[c] - empirical)
                XCTAssertLessThan(err, 0.03, "alpha \(alpha) cell \(c): \(got[c]) vs empirical \(empirical)")
                total += err
            }
            XCTAssertLessThan(total / Double(cells), 0.01, "mean error at alpha \(alpha)")
        }
    }

    func testEmptyDimensions() {
        var f = FieldStatistics(selection: everything, nbTimeSteps: 2, blockSize: 0)
        [Double]().withUnsafeBufferPointer { f.update(step: 1, localOffset: 0, values: $0) }
        XCTAssertEqual(f.extract(.mean, step: 1), [])
        XCTAssertEqual(f.stateBytes, 0)
        let g = FieldStatistics(selection: everything, nbTimeSteps: 0, blockSize: 10)
        XCTAssertEqual(g.stateBytes, 0)
    }
}
