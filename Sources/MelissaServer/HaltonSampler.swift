import MelissaConfig

/// A randomly shifted Halton sequence scaled to per-parameter bounds: quasi-random points that
/// cover the box more evenly than independent draws, so means converge faster.
///
/// Dimension j uses the radical inverse in base `primes[j]` (2, 3, 5, ...), so at most 64
/// dimensions are supported. The sequence starts at index 1: index 0 is the all-zero corner.
/// Every point is moved by the same Cranley–Patterson shift (each coordinate plus a uniform
/// offset, modulo 1), drawn from `seed`: the shift keeps the even coverage but makes the points
/// random, so that different seeds give different, independent-looking studies. Seed 0 is not
/// special: it also applies a shift, the one drawn from seed 0.
public struct HaltonSampler: ParameterSampler, Sendable {
    /// The first 64 primes: the bases of dimensions 0 ... 63.
    static let primes: [UInt64] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101,
        103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197, 199,
        211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311,
    ]

    /// Most dimensions supported (one prime base each).
    public static let maximumDimensions = primes.count

    /// Lower bound of each parameter (inclusive).
    public let lowerBounds: [Double]
    /// Upper bound of each parameter (exclusive).
    public let upperBounds: [Double]
    /// The Cranley–Patterson shift of each dimension, in [0, 1), drawn from the seed.
    public let shift: [Double]
    /// Index in the Halton sequence of the next point (starts at 1).
    public private(set) var index: UInt64 = 1

    /// A shifted Halton sampler over the bounds; throws when they are invalid or exceed 64 dimensions.
    public init(lowerBounds: [Double], upperBounds: [Double], seed: UInt64) throws(SamplerError) {
        try SamplerError.validate(lowerBounds: lowerBounds, upperBounds: upperBounds)
        guard lowerBounds.count <= Self.maximumDimensions else {
            throw .tooManyDimensions(kind: .halton, dimensions: lowerBounds.count, maximum: Self.maximumDimensions)
        }
        self.lowerBounds = lowerBounds
        self.upperBounds = upperBounds
        var rng = Xoshiro256StarStar(seed: seed)
        shift = lowerBounds.map { _ in rng.nextUnitDouble() }
    }

    /// The next point of the shifted sequence, scaled to the bounds.
    public mutating func next() -> [Double] {
        let unit = Self.unshiftedPoint(index: index, dimensions: lowerBounds.count)
        index &+= 1
        return unit.indices.map { j in
            var shifted = unit[j] + shift[j]
            if shifted >= 1 { shifted -= 1 }
            return scaleUnit(shifted, lower: lowerBounds[j], upper: upperBounds[j])
        }
    }

    /// Point `index` of the plain (unshifted) Halton sequence in the unit cube.
    static func unshiftedPoint(index: UInt64, dimensions: Int) -> [Double] {
        (0..<dimensions).map { radicalInverse(index, base: primes[$0]) }
    }

    /// The van der Corput radical inverse: the base-`base` digits of `index` mirrored after the point.
    ///
    /// For example index 6 = 110₂ gives 0.011₂ = 3/8.
    static func radicalInverse(_ index: UInt64, base: UInt64) -> Double {
        var remaining = index
        var scale = 1.0
        var result = 0.0
        let b = Double(base)
        while remaining > 0 {
            scale /= b
            result += scale * Double(remaining % base)
            remaining /= base
        }
        return result
    }
}
