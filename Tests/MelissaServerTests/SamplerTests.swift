import Foundation
import XCTest
import MelissaConfig
@testable import MelissaServer

/// The error `SamplerFactory.make` throws for these arguments, or nil when it succeeds.
private func factoryError(_ kind: SamplerKind, _ lower: [Double], _ upper: [Double], count: Int = 10) -> SamplerError? {
    do {
        _ = try SamplerFactory.make(kind: kind, lowerBounds: lower, upperBounds: upper, seed: 1, count: count)
        return nil
    } catch {
        return error
    }
}

/// The error `SamplerFactory.makePickFreeze` throws, or nil when it succeeds.
private func pickFreezeError(_ kind: SamplerKind, parameters: Int) -> SamplerError? {
    do {
        _ = try SamplerFactory.makePickFreeze(kind: kind, lowerBounds: [Double](repeating: 0, count: parameters),
                                              upperBounds: [Double](repeating: 1, count: parameters),
                                              seed: 1, groupCount: 10)
        return nil
    } catch {
        return error
    }
}

/// `n` points from a fresh sampler of `kind`.
private func draw(_ kind: SamplerKind, _ lower: [Double], _ upper: [Double], seed: UInt64, count: Int,
                  points n: Int) throws -> [[Double]] {
    var sampler = try SamplerFactory.make(kind: kind, lowerBounds: lower, upperBounds: upper, seed: seed, count: count)
    return (0..<n).map { _ in sampler.next() }
}

/// The stratum (0 ..< count) of `value` when [lower, upper) is cut into `count` equal strata.
private func stratum(_ value: Double, lower: Double, upper: Double, count: Int) -> Int {
    Int(((value - lower) / (upper - lower) * Double(count)).rounded(.down))
}

/// A base sampler returning 2p-vectors whose values encode the draw and the coordinate: 100 × draw + coordinate.
private struct CountingSampler: ParameterSampler {
    let dimensions: Int
    var draws = 0

    mutating func next() -> [Double] {
        draws += 1
        return (0..<dimensions).map { Double(100 * draws + $0) }
    }
}

final class SamplerTests: XCTestCase {
    // MARK: Halton

    func testVanDerCorputBaseTwoMatchesAnalyticValues() {
        // Index n written in binary, mirrored after the point: 1 → .1, 2 → .01, 3 → .11, 4 → .001, ...
        let expected: [(numerator: Double, denominator: Double)] =
            [(1, 2), (1, 4), (3, 4), (1, 8), (5, 8), (3, 8), (7, 8), (1, 16), (9, 16)]
        for (offset, fraction) in expected.enumerated() {
            XCTAssertEqual(HaltonSampler.radicalInverse(UInt64(offset + 1), base: 2),
                           fraction.numerator / fraction.denominator, "index \(offset + 1)")
        }
        XCTAssertEqual(HaltonSampler.radicalInverse(0, base: 2), 0)
    }

    func testVanDerCorputBaseThreeMatchesAnalyticValues() {
        let expected: [(numerator: Double, denominator: Double)] =
            [(1, 3), (2, 3), (1, 9), (4, 9), (7, 9), (2, 9), (5, 9), (8, 9), (1, 27), (10, 27)]
        for (offset, fraction) in expected.enumerated() {
            XCTAssertEqual(HaltonSampler.radicalInverse(UInt64(offset + 1), base: 3),
                           fraction.numerator / fraction.denominator, accuracy: 1e-15, "index \(offset + 1)")
        }
        // 7 = 12 in base 5 → 0.21 in base 5 = 2/5 + 1/25.
        XCTAssertEqual(HaltonSampler.radicalInverse(7, base: 5), 11.0 / 25, accuracy: 1e-15)
    }

    func testUnshiftedPointsUseTheFirstPrimesAsBases() {
        let first = HaltonSampler.unshiftedPoint(index: 1, dimensions: 4)
        XCTAssertEqual(first[0], 1.0 / 2)
        XCTAssertEqual(first[1], 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(first[2], 1.0 / 5, accuracy: 1e-15)
        XCTAssertEqual(first[3], 1.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(HaltonSampler.primes.count, 64)
        XCTAssertEqual(HaltonSampler.primes.last, 311)
        // Every base is prime and they are increasing: an independent check of the table.
        for (i, p) in HaltonSampler.primes.enumerated() {
            XCTAssertTrue((2..<p).allSatisfy { p % $0 != 0 }, "\(p) is not prime")
            if i > 0 { XCTAssertGreaterThan(p, HaltonSampler.primes[i - 1]) }
        }
    }

    func testHaltonPointsAreTheSequenceFromIndexOneShiftedByOneConstantPerDimension() throws {
        var sampler = try HaltonSampler(lowerBounds: [0, 0, 0], upperBounds: [1, 1, 1], seed: 7)
        XCTAssertEqual(sampler.index, 1)
        for index in 1...200 as ClosedRange<UInt64> {
            let point = sampler.next()
            let plain = HaltonSampler.unshiftedPoint(index: index, dimensions: 3)
            for j in 0..<3 {
                var offset = point[j] - plain[j]
                if offset < 0 { offset += 1 }
                XCTAssertEqual(offset, sampler.shift[j], accuracy: 1e-12, "index \(index), dimension \(j)")
            }
        }
        XCTAssertTrue(sampler.shift.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    func testHaltonSeedZeroStillShifts() throws {
        let sampler = try HaltonSampler(lowerBounds: [0, 0], upperBounds: [1, 1], seed: 0)
        XCTAssertTrue(sampler.shift.allSatisfy { $0 != 0 }, "\(sampler.shift)")
    }

    func testHaltonIsReproducibleAndDiffersAcrossSeeds() throws {
        let a = try draw(.halton, [0, -5], [1, 5], seed: 42, count: 0, points: 500)
        let b = try draw(.halton, [0, -5], [1, 5], seed: 42, count: 0, points: 500)
        let c = try draw(.halton, [0, -5], [1, 5], seed: 43, count: 0, points: 500)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(Set(a.map { $0[0] }).count, 500, "Halton points repeat")
    }

    func testHaltonMeanOfTenThousandPointsIsWithinOneThousandthOfTheCentre() throws {
        // Independent uniform draws would miss by about 0.29 / sqrt(10000) ≈ 0.003 of the width;
        // a low-discrepancy sequence must do much better.
        let lower: [Double] = [0, -1, 100, -0.5, 0, 0, 0, 0]
        let upper: [Double] = [1, 1, 101, 0.5, 1, 1, 1, 1]
        let points = try draw(.halton, lower, upper, seed: 3, count: 0, points: 10_000)
        for j in lower.indices {
            let mean = points.map { $0[j] }.reduce(0, +) / Double(points.count)
            let centre = (lower[j] + upper[j]) / 2
            XCTAssertEqual(mean, centre, accuracy: 1e-3 * (upper[j] - lower[j]), "dimension \(j)")
        }
    }

    func testHaltonRejectsMoreThanSixtyFourDimensions() {
        let lower = [Double](repeating: 0, count: 65), upper = [Double](repeating: 1, count: 65)
        XCTAssertEqual(factoryError(.halton, lower, upper), .tooManyDimensions(kind: .halton, dimensions: 65, maximum: 64))
        XCTAssertNil(factoryError(.halton, Array(lower.dropLast()), Array(upper.dropLast())))
        XCTAssertEqual(pickFreezeError(.halton, parameters: 33),
                       .tooManyDimensions(kind: .halton, dimensions: 66, maximum: 64))
        XCTAssertNil(pickFreezeError(.halton, parameters: 32))
        XCTAssertEqual(SamplerKind.halton.maximumDimensions, HaltonSampler.maximumDimensions)
    }

    // MARK: Latin hypercube

    func testLatinHypercubeStratifiesEveryDimension() throws {
        for count in [1, 2, 7, 50, 257] {
            for dimensions in [1, 3, 10] {
                let lower = (0..<dimensions).map { Double($0) - 5 }
                let upper = (0..<dimensions).map { Double($0) * 3 + 1 }
                // Two hypercubes in a row: each must be stratified on its own.
                let points = try draw(.lhs, lower, upper, seed: UInt64(count * 31 + dimensions), count: count,
                                      points: 2 * count)
                for cube in [points[..<count], points[count...]] {
                    for j in 0..<dimensions {
                        let strata = cube.map { stratum($0[j], lower: lower[j], upper: upper[j], count: count) }
                        XCTAssertEqual(strata.sorted(), Array(0..<count), "count \(count), dimensions \(dimensions), dim \(j)")
                    }
                }
                if count > 1 {
                    XCTAssertNotEqual(Array(points[..<count]), Array(points[count...]), "the second hypercube repeats the first")
                }
            }
        }
    }

    func testLatinHypercubePositionInsideStratumIsUniform() throws {
        let count = 1000
        let points = try draw(.lhs, [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], seed: 5, count: count, points: count)
        let offsets = points.flatMap { $0 }.map { $0 * Double(count) - ($0 * Double(count)).rounded(.down) }
        // 5000 uniform offsets: mean 0.5, standard error 0.289 / sqrt(5000) ≈ 0.0041; allow 5 standard errors.
        XCTAssertEqual(offsets.reduce(0, +) / Double(offsets.count), 0.5, accuracy: 0.021)
        // And not all at the same place in their stratum.
        XCTAssertGreaterThan(offsets.max() ?? 0, 0.9)
        XCTAssertLessThan(offsets.min() ?? 1, 0.1)
    }

    func testLatinHypercubeIsReproducibleAndDiffersAcrossSeeds() throws {
        let a = try draw(.lhs, [0, -5], [1, 5], seed: 42, count: 100, points: 150)
        let b = try draw(.lhs, [0, -5], [1, 5], seed: 42, count: 100, points: 150)
        let c = try draw(.lhs, [0, -5], [1, 5], seed: 43, count: 100, points: 150)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testLatinHypercubeRejectsBadCounts() {
        XCTAssertEqual(factoryError(.lhs, [0], [1], count: 0), .invalidCount(0))
        XCTAssertEqual(factoryError(.lhs, [0], [1], count: -3), .invalidCount(-3))
        XCTAssertEqual(factoryError(.lhs, [0], [1], count: Int(UInt32.max) + 1), .invalidCount(Int(UInt32.max) + 1))
    }

    // MARK: Every kind

    func testEveryKindStaysInsideItsBounds() throws {
        let lower: [Double] = [0, -5, 1e-3, -1e300]
        let upper: [Double] = [1, 5, 2e-3, 1e300]
        for kind in SamplerKind.allCases {
            for point in try draw(kind, lower, upper, seed: 9, count: 300, points: 1000) {
                XCTAssertEqual(point.count, 4)
                for j in 0..<4 {
                    XCTAssertTrue(point[j] >= lower[j] && point[j] < upper[j], "\(kind): \(point[j]) outside dim \(j)")
                }
            }
        }
    }

    func testScaleUnitNeverReachesTheUpperBound() {
        XCTAssertLessThan(scaleUnit(1.0.nextDown, lower: 0, upper: 0.3), 0.3)
        XCTAssertLessThan(scaleUnit(1.0.nextDown, lower: -Double.greatestFiniteMagnitude,
                                    upper: Double.greatestFiniteMagnitude), Double.greatestFiniteMagnitude)
        XCTAssertEqual(scaleUnit(0, lower: 2, upper: 3), 2)
    }

    func testFactoryUniformMatchesUniformSampler() throws {
        var direct = UniformSampler(lowerBounds: [0, 10], upperBounds: [1, 20], seed: 11)
        let made = try draw(.uniform, [0, 10], [1, 20], seed: 11, count: 1, points: 50)
        XCTAssertEqual(made, (0..<50).map { _ in direct.next() })
    }

    func testFactoryRejectsBadBounds() {
        for kind in SamplerKind.allCases {
            XCTAssertEqual(factoryError(kind, [0, 0], [1]), .boundsCountMismatch(lower: 2, upper: 1), "\(kind)")
            XCTAssertEqual(factoryError(kind, [], []), .noDimensions, "\(kind)")
            XCTAssertEqual(factoryError(kind, [0, 2], [1, 2]), .invalidBounds(index: 1, lower: 2, upper: 2), "\(kind)")
            XCTAssertEqual(factoryError(kind, [0, 3], [1, 2]), .invalidBounds(index: 1, lower: 3, upper: 2), "\(kind)")
            XCTAssertEqual(factoryError(kind, [-.infinity], [1]), .invalidBounds(index: 0, lower: -.infinity, upper: 1),
                           "\(kind)")
            XCTAssertNotNil(factoryError(kind, [.nan], [1]), "\(kind)")
        }
        XCTAssertTrue(SamplerError.invalidBounds(index: 1, lower: 3, upper: 2).description.contains("parameter 1"))
    }

    // MARK: Pick-freeze

    func testPickFreezeRowsForAKnownPair() {
        let rows = PickFreeze.expand(a: [1, 2, 3], b: [10, 20, 30])
        XCTAssertEqual(rows, [[1, 2, 3], [10, 20, 30], [10, 2, 3], [1, 20, 3], [1, 2, 30]])
    }

    func testPickFreezeRowCkTakesOnlyColumnKFromB() {
        var rng = Xoshiro256StarStar(seed: 4)
        for p in 1...6 {
            let a = (0..<p).map { _ in rng.nextUnitDouble() }
            let b = (0..<p).map { _ in rng.nextUnitDouble() + 2 }   // disjoint from A's values
            let rows = PickFreeze.expand(a: a, b: b)
            XCTAssertEqual(rows.count, p + 2)
            XCTAssertEqual(rows[0], a)
            XCTAssertEqual(rows[1], b)
            for k in 0..<p {
                for j in 0..<p {
                    XCTAssertEqual(rows[k + 2][j], j == k ? b[j] : a[j], "p \(p), C_\(k + 1), column \(j)")
                }
            }
        }
    }

    func testPickFreezeSamplerSplitsEachBasePointIntoAAndB() {
        var sampler = PickFreezeSampler(base: CountingSampler(dimensions: 6), nbParameters: 3)
        XCTAssertEqual(sampler.groupSize, 5)
        let first = sampler.nextGroup()
        XCTAssertEqual(first, [[100, 101, 102], [103, 104, 105], [103, 101, 102], [100, 104, 102], [100, 101, 105]])
        XCTAssertEqual(sampler.nextGroup()[0], [200, 201, 202])
    }

    func testPickFreezeSamplerNextReturnsTheGroupRowsInOrder() {
        var byRow = PickFreezeSampler(base: CountingSampler(dimensions: 4), nbParameters: 2)
        var byGroup = PickFreezeSampler(base: CountingSampler(dimensions: 4), nbParameters: 2)
        let rows = (0..<12).map { _ in byRow.next() }
        let groups = (0..<3).flatMap { _ in byGroup.nextGroup() }
        XCTAssertEqual(rows, groups)
        // A redraw mid-group drops the rest of the current group and starts a new one.
        _ = byRow.next()
        XCTAssertEqual(byRow.nextGroup()[0], [500, 501])
        XCTAssertEqual(byRow.next(), [600, 601])
    }

    func testPickFreezeFromLatinHypercubeStratifiesAAndB() throws {
        let groups = 40
        var sampler = try SamplerFactory.makePickFreeze(kind: .lhs, lowerBounds: [0, 10], upperBounds: [1, 20],
                                                        seed: 8, groupCount: groups)
        let drawn = (0..<groups).map { _ in sampler.nextGroup() }
        for (row, name) in [(0, "A"), (1, "B")] {
            for (j, bounds) in [(0.0, 1.0), (10.0, 20.0)].enumerated() {
                let strata = drawn.map { stratum($0[row][j], lower: bounds.0, upper: bounds.1, count: groups) }
                XCTAssertEqual(strata.sorted(), Array(0..<groups), "\(name), parameter \(j)")
            }
        }
        // A and B come from different coordinates of the base point, so they differ.
        XCTAssertNotEqual(drawn.map { $0[0] }, drawn.map { $0[1] })
    }

    func testPickFreezeFromHaltonUsesBasesBeyondTheFirstPForB() throws {
        var sampler = try SamplerFactory.makePickFreeze(kind: .halton, lowerBounds: [0, 0], upperBounds: [1, 1],
                                                        seed: 2, groupCount: 1)
        var base = try HaltonSampler(lowerBounds: [0, 0, 0, 0], upperBounds: [1, 1, 1, 1], seed: 2)
        for _ in 0..<20 {
            let point = base.next()
            let group = sampler.nextGroup()
            XCTAssertEqual(group[0], Array(point[0..<2]))
            XCTAssertEqual(group[1], Array(point[2..<4]))
        }
    }

    // MARK: Generator

    func testNextBelowIsInRangeAndEvenlySpread() {
        var rng = Xoshiro256StarStar(seed: 17)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 {
            let value = rng.nextBelow(10)
            XCTAssertLessThan(value, 10)
            counts[Int(min(value, 9))] += 1
        }
        // Each bin: 10000 expected, standard deviation ≈ 95; allow 5 of them.
        for (bin, count) in counts.enumerated() {
            XCTAssertEqual(Double(count), 10_000, accuracy: 475, "bin \(bin)")
        }
        XCTAssertEqual(rng.nextBelow(1), 0)
    }
}
