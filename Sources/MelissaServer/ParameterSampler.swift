/// Draws the parameters of each simulation; a flavor may supply its own by overriding `makeSampler()`.
///
/// The built-in samplers are `UniformSampler`, `HaltonSampler`, `LatinHypercubeSampler` (made
/// from `study_options.sampler` by `SamplerFactory`) and `PickFreezeSampler` for Sobol studies.
public protocol ParameterSampler {
    /// The next parameter vector (one value per parameter).
    mutating func next() -> [Double]
}

/// Maps `unit` in [0, 1) to [lower, upper), staying strictly below `upper` despite rounding.
///
/// When `upper - lower` overflows (bounds near ±Double.greatestFiniteMagnitude) the convex
/// combination is used instead, which cannot overflow.
func scaleUnit(_ unit: Double, lower: Double, upper: Double) -> Double {
    let width = upper - lower
    var value = width.isFinite ? lower + width * unit : lower * (1 - unit) + upper * unit
    if value >= upper { value = upper.nextDown }
    if value < lower { value = lower }
    return value
}

/// Uniform random sampling in per-parameter bounds, reproducible from a seed.
public struct UniformSampler: ParameterSampler {
    private var rng: Xoshiro256StarStar
    /// Lower bound of each parameter (inclusive).
    public let lowerBounds: [Double]
    /// Upper bound of each parameter (exclusive).
    public let upperBounds: [Double]

    /// Samples in [lower[i], upper[i]) for each parameter i.
    public init(lowerBounds: [Double], upperBounds: [Double], seed: UInt64) {
        precondition(lowerBounds.count == upperBounds.count)
        self.lowerBounds = lowerBounds
        self.upperBounds = upperBounds
        rng = Xoshiro256StarStar(seed: seed)
    }

    /// The next independent uniform draw.
    public mutating func next() -> [Double] {
        (0..<lowerBounds.count).map { i in
            lowerBounds[i] + (upperBounds[i] - lowerBounds[i]) * rng.nextUnitDouble()
        }
    }
}

/// xoshiro256** seeded through SplitMix64: a small, fast generator whose output does not
/// depend on the Swift runtime's default generator (which may change between versions).
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose whole sequence is fixed by `seed` (any value, 0 included).
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// A double uniform in [0, 1) from the top 53 bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// An integer uniform in 0..<bound (bound ≥ 1), without modulo bias.
    ///
    /// Lemire's multiply-and-reject method, written out here rather than `Int.random(in:using:)`
    /// so that the sequence for a seed cannot change with the standard library's implementation.
    public mutating func nextBelow(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "nextBelow needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }
}
