/// Draws the parameters of each simulation; a flavor may supply its own.
public protocol ParameterSampler {
    /// The next parameter vector (one value per parameter).
    mutating func next() -> [Double]
}

/// Uniform random sampling in per-parameter bounds, reproducible from a seed.
public struct UniformSampler: ParameterSampler {
    private var rng: Xoshiro256StarStar
    public let lowerBounds: [Double]
    public let upperBounds: [Double]

    /// Samples in [lower[i], upper[i]) for each parameter i.
    public init(lowerBounds: [Double], upperBounds: [Double], seed: UInt64) {
        precondition(lowerBounds.count == upperBounds.count)
        self.lowerBounds = lowerBounds
        self.upperBounds = upperBounds
        rng = Xoshiro256StarStar(seed: seed)
    }

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
}
