#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import XCTest
@testable import MelissaStatistics

extension SobolMartinez {
    func first(_ k: Int, step: Int) -> [Double] {
        var out = [Double](repeating: -1, count: blockSize)
        out.withUnsafeMutableBufferPointer { firstOrder(parameter: k, step: step, into: $0) }
        return out
    }

    func total(_ k: Int, step: Int) -> [Double] {
        var out = [Double](repeating: -1, count: blockSize)
        out.withUnsafeMutableBufferPointer { totalOrder(parameter: k, step: step, into: $0) }
        return out
    }

    func firstInterval(_ k: Int, step: Int) -> (lower: [Double], upper: [Double]) {
        var lo = [Double](repeating: -1, count: blockSize), hi = lo
        lo.withUnsafeMutableBufferPointer { l in
            hi.withUnsafeMutableBufferPointer { h in firstOrderInterval(parameter: k, step: step, lower: l, upper: h) }
        }
        return (lo, hi)
    }

    func totalInterval(_ k: Int, step: Int) -> (lower: [Double], upper: [Double]) {
        var lo = [Double](repeating: -1, count: blockSize), hi = lo
        lo.withUnsafeMutableBufferPointer { l in
            hi.withUnsafeMutableBufferPointer { h in totalOrderInterval(parameter: k, step: step, lower: l, upper: h) }
        }
        return (lo, hi)
    }

    mutating func fold(step: Int, _ members: [Double]) {
        members.withUnsafeBufferPointer { update(step: step, members: $0) }
    }
}

/// Pick-freeze members for one group: A, B, C_1 … C_p, per cell, from a model y(cell, x).
func pickFreeze(p: Int, cells: Int, _ rng: inout TestRNG, perCellInputs: Bool,
                model: (Int, [Double]) -> Double) -> [Double] {
    var members = [Double](repeating: 0, count: (p + 2) * cells)
    var a = (0 ..< p).map { _ in rng.uniform() }, b = (0 ..< p).map { _ in rng.uniform() }
    for c in 0 ..< cells {
        if perCellInputs && c > 0 {
            a = (0 ..< p).map { _ in rng.uniform() }
            b = (0 ..< p).map { _ in rng.uniform() }
        }
        members[c] = model(c, a)
        members[cells + c] = model(c, b)
        for k in 0 ..< p {
            var x = a
            x[k] = b[k]
            members[(2 + k) * cells + c] = model(c, x)
        }
    }
    return members
}

final class SobolMartinezTests: XCTestCase {
    /// The estimators are sample correlations: compare with direct two-pass correlations.
    func testIndicesMatchTwoPassCorrelations() {
        let p = 3, cells = 13, steps = 3, groups = 30
        var s = SobolMartinez(nbParameters: p, nbTimeSteps: steps, blockSize: cells)
        var rng = TestRNG(seed: 11)
        var kept = Array(repeating: [[Double]](), count: steps)
        for _ in 0 ..< groups {
            for step in 0 ..< steps {
                let m = pickFreeze(p: p, cells: cells, &rng, perCellInputs: false) { c, x in
                    sin(x[0] * 3 + Double(c)) + Double(step + 1) * x[1] * x[1] + 0.3 * x[0] * x[2] + 100
                }
                s.fold(step: step, m)
                kept[step].append(m)
            }
        }
        for step in 0 ..< steps {
            XCTAssertEqual(s.count(step: step), groups)
            for k in 0 ..< p {
                let first = s.first(k, step: step), total = s.total(k, step: step)
                for c in 0 ..< cells {
                    let ya = kept[step].map { $0[c] }, yb = kept[step].map { $0[cells + c] }
                    let yc = kept[step].map { $0[(2 + k) * cells + c] }
                    assertClose(first[c], twoPassCorrelation(yb, yc), "S\(k) step \(step) cell \(c)")
                    // ST = 1 − r loses digits when r is near 1: compare r.
                    assertClose(1 - total[c], twoPassCorrelation(ya, yc), "1 − ST\(k) step \(step) cell \(c)")
                }
            }
        }
    }

    /// Y = a·X1 + b·X2, X uniform: S1 = ST1 = a²/(a²+b²), S2 = ST2 = b²/(a²+b²).
    func testLinearModelAnalyticIndices() {
        let groups = 2000
        // Cell c has a = 1 + c % 4, b = 2; every cell is an independent replicate (its own
        // inputs), so 200 cells also measure the intervals' coverage.
        let cells = 200
        var s = SobolMartinez(nbParameters: 2, nbTimeSteps: 1, blockSize: cells)
        var rng = TestRNG(seed: 2024)
        for _ in 0 ..< groups {
            s.fold(step: 0, pickFreeze(p: 2, cells: cells, &rng, perCellInputs: true) { c, x in
                Double(1 + c % 4) * x[0] + 2 * x[1]
            })
        }
        XCTAssertEqual(s.count(step: 0), groups)
        var covered = 0, intervals = 0
        for k in 0 ..< 2 {
            let first = s.first(k, step: 0), total = s.total(k, step: 0)
            let fi = s.firstInterval(k, step: 0), ti = s.totalInterval(k, step: 0)
            for c in 0 ..< cells {
                let a = Double(1 + c % 4), b = 2.0
                let truth = (k == 0 ? a * a : b * b) / (a * a + b * b)
                // Standard error of a correlation ≈ (1 − ρ²)/√n ≤ 0.023: estimates within 5 of them.
                XCTAssertEqual(first[c], truth, accuracy: 0.1, "S\(k + 1) cell \(c)")
                XCTAssertEqual(total[c], truth, accuracy: 0.1, "ST\(k + 1) cell \(c)")
                XCTAssertTrue(fi.lower[c] < first[c] && first[c] < fi.upper[c])
                XCTAssertTrue(ti.lower[c] < total[c] && total[c] < ti.upper[c])
                // A 95 % interval misses about once in twenty, so a single replicate's check
                // depends on the seed: with this one, cell 0's (a = 1, b = 2: S1 = 0.2,
                // S2 = 0.8) four intervals hold the true values. The coverage over all 800
                // intervals below is the check that does not depend on the seed.
                if c == 0 {
                    XCTAssertTrue(fi.lower[c] <= truth && truth <= fi.upper[c],
                                  "S\(k + 1) cell \(c): [\(fi.lower[c]), \(fi.upper[c])] misses \(truth)")
                    XCTAssertTrue(ti.lower[c] <= truth && truth <= ti.upper[c],
                                  "ST\(k + 1) cell \(c): [\(ti.lower[c]), \(ti.upper[c])] misses \(truth)")
                }
                covered += (fi.lower[c] <= truth && truth <= fi.upper[c] ? 1 : 0)
                covered += (ti.lower[c] <= truth && truth <= ti.upper[c] ? 1 : 0)
                intervals += 2
            }
        }
        let coverage = Double(covered) / Double(intervals)
        // 800 trials: the binomial standard deviation of the coverage is 0.008.
        XCTAssertTrue(coverage > 0.92 && coverage < 0.98,
                      "95 % intervals cover the true index in \(coverage * 100) % of 800 cases")
    }

    func testIntervalsFollowTheFisherTransformAndWidestIsTheirMaximum() {
        let p = 2, cells = 9, steps = 2
        var s = SobolMartinez(nbParameters: p, nbTimeSteps: steps, blockSize: cells)
        var rng = TestRNG(seed: 3)
        for g in 0 ..< 25 {
            for step in 0 ..< steps where step == 0 || g < 7 {
                s.fold(step: step, pickFreeze(p: p, cells: cells, &rng, perCellInputs: true) { c, x in
                    Double(c + 1) * x[0] + x[1] * x[1] * 3 + (c == 4 ? 0 : 0.2 * x[0] * x[1])
                })
            }
        }
        var widest = 0.0
        for step in 0 ..< steps {
            let n = Double(s.count(step: step))
            let h = 1.959964 / (n - 3).squareRoot()
            for k in 0 ..< p {
                let r = s.first(k, step: step), t = s.total(k, step: step)
                let fi = s.firstInterval(k, step: step), ti = s.totalInterval(k, step: step)
                for c in 0 ..< cells {
                    assertClose(fi.lower[c], tanh(atanh(r[c]) - h), "lower S")
                    assertClose(fi.upper[c], tanh(atanh(r[c]) + h), "upper S")
                    let rA = 1 - t[c]
                    assertClose(ti.lower[c], 1 - tanh(atanh(rA) + h), rel: 1e-10, "lower ST")
                    assertClose(ti.upper[c], 1 - tanh(atanh(rA) - h), rel: 1e-10, "upper ST")
                    widest = max(widest, fi.upper[c] - fi.lower[c], ti.upper[c] - ti.lower[c])
                }
            }
        }
        assertClose(s.widestInterval(), widest, rel: 1e-10, "widest interval")
        XCTAssertEqual(s.count(step: 1), 7)
    }

    func testSmallCountsAndEmptySteps() {
        var s = SobolMartinez(nbParameters: 1, nbTimeSteps: 3, blockSize: 5)
        XCTAssertEqual(s.widestInterval(), .infinity, "no data at all")
        var rng = TestRNG(seed: 8)
        let model: (Int, [Double]) -> Double = { c, x in c == 0 ? 42 : x[0] + Double(c) }
        s.fold(step: 1, pickFreeze(p: 1, cells: 5, &rng, perCellInputs: false, model: model))
        XCTAssertTrue(s.first(0, step: 1).allSatisfy(\.isNaN), "n = 1")
        XCTAssertTrue(s.first(0, step: 0).allSatisfy(\.isNaN), "n = 0")
        XCTAssertTrue(s.total(0, step: 2).allSatisfy(\.isNaN), "n = 0")
        for _ in 0 ..< 2 { s.fold(step: 1, pickFreeze(p: 1, cells: 5, &rng, perCellInputs: false, model: model)) }
        XCTAssertEqual(s.count(step: 1), 3)
        XCTAssertFalse(s.first(0, step: 1)[1].isNaN, "n = 3 has indices")
        XCTAssertTrue(s.firstInterval(0, step: 1).lower.allSatisfy(\.isNaN), "n = 3 has no interval")
        XCTAssertTrue(s.totalInterval(0, step: 1).upper.allSatisfy(\.isNaN))
        XCTAssertEqual(s.widestInterval(), .infinity, "a step with data has n < 4")
        s.fold(step: 1, pickFreeze(p: 1, cells: 5, &rng, perCellInputs: false, model: model))
        // n = 4; steps 0 and 2 have no data and are ignored; cell 0 is constant (NaN, skipped).
        XCTAssertTrue(s.first(0, step: 1)[0].isNaN)
        XCTAssertTrue(s.firstInterval(0, step: 1).lower[0].isNaN)
        let w = s.widestInterval()
        XCTAssertTrue(w.isFinite && w > 0, "\(w)")
        // One parameter, y = x[0] + c: C_1 = B, so S = 1 (a zero-width interval) and the
        // widest is the ST interval of some cell 1…4.
        var widest = 0.0
        let ti = s.totalInterval(0, step: 1), fi = s.firstInterval(0, step: 1)
        for c in 1 ..< 5 {
            widest = max(widest, ti.upper[c] - ti.lower[c])
            XCTAssertEqual(fi.upper[c] - fi.lower[c], 0, accuracy: 1e-9)
        }
        assertClose(w, widest, rel: 1e-10, "widest interval")

        var constant = SobolMartinez(nbParameters: 2, nbTimeSteps: 1, blockSize: 3)
        for _ in 0 ..< 5 { constant.fold(step: 0, Array(repeating: 1.5, count: 12)) }
        XCTAssertEqual(constant.widestInterval(), 0, "every index undefined")
    }

    func testMemoryEstimate() {
        XCTAssertEqual(SobolMartinez.bytesPerCell(nbParameters: 3), 8 * 16)
        let s = SobolMartinez(nbParameters: 3, nbTimeSteps: 4, blockSize: 10)
        XCTAssertEqual(s.stateBytes, 4 * 10 * 8 * 16 + 4 * 8)
    }
}

final class CovarianceStatisticsTests: XCTestCase {
    func testCovarianceMatchesTwoPass() {
        let steps = 3, block = 29
        var cov = CovarianceStatistics(nbTimeSteps: steps, blockSize: block)
        var rng = TestRNG(seed: 21)
        var xs = Array(repeating: Array(repeating: [Double](), count: block), count: steps)
        var ys = xs
        for sim in 0 ..< 30 {
            for step in 0 ..< steps {
                var range = 0 ..< block
                if sim % 5 == 2 { range = 3 ..< 17 }
                if step == 2 { range = 0 ..< 20 }
                if step == 2 && sim > 0 { range = 1 ..< 20 }
                for piece in randomPieces(range, maxPieces: 5, &rng) {
                    var x = [Double](), y = [Double]()
                    for c in piece {
                        let u = rng.skewed(), v = 0.5 * u + rng.uniform() + 1000
                        x.append(u); y.append(v)
                        xs[step][c].append(u); ys[step][c].append(v)
                    }
                    x.withUnsafeBufferPointer { xb in
                        y.withUnsafeBufferPointer { yb in cov.update(step: step, localOffset: piece.lowerBound, x: xb, y: yb) }
                    }
                }
            }
        }
        for step in 0 ..< steps {
            var c = [Double](repeating: 0, count: block), n = c
            c.withUnsafeMutableBufferPointer { cov.extractCovariance(step: step, into: $0) }
            n.withUnsafeMutableBufferPointer { cov.extractCount(step: step, into: $0) }
            for cell in 0 ..< block {
                XCTAssertEqual(n[cell], Double(xs[step][cell].count))
                assertClose(c[cell], twoPassCovariance(xs[step][cell], ys[step][cell]), "cov step \(step) cell \(cell)")
            }
        }
        // Step 2: cell 0 has one sample (NaN), cells 20… none (NaN, count 0).
        var c = [Double](repeating: 0, count: block)
        c.withUnsafeMutableBufferPointer { cov.extractCovariance(step: 2, into: $0) }
        XCTAssertTrue(c[0].isNaN && c[25].isNaN && !c[5].isNaN)
        XCTAssertEqual(CovarianceStatistics.bytesPerCell, 32)
        XCTAssertEqual(cov.stateBytes, steps * block * 32)
    }
}
