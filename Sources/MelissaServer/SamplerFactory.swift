import MelissaConfig

/// Why a sampler could not be made; each case carries the values at fault.
public enum SamplerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `lowerBounds` and `upperBounds` differ in length.
    case boundsCountMismatch(lower: Int, upper: Int)
    /// There is no parameter to sample.
    case noDimensions
    /// The bounds of parameter `index` are not finite, or `lower` is not below `upper`.
    case invalidBounds(index: Int, lower: Double, upper: Double)
    /// The sampler supports at most `maximum` dimensions and was asked for `dimensions`.
    case tooManyDimensions(kind: SamplerKind, dimensions: Int, maximum: Int)
    /// A Latin hypercube needs 1 ... 2^32 − 1 points.
    case invalidCount(Int)

    /// A one-line explanation naming the offending values.
    public var description: String {
        switch self {
        case .boundsCountMismatch(let lower, let upper):
            return "sampler: \(lower) lower bounds but \(upper) upper bounds"
        case .noDimensions:
            return "sampler: no parameters to sample (the bounds are empty)"
        case .invalidBounds(let index, let lower, let upper):
            return "sampler: parameter \(index) has bounds [\(lower), \(upper)); both must be finite and lower < upper"
        case .tooManyDimensions(let kind, let dimensions, let maximum):
            return "sampler: '\(kind.rawValue)' supports at most \(maximum) dimensions, asked for \(dimensions)"
        case .invalidCount(let count):
            return "sampler: a Latin hypercube needs between 1 and \(UInt32.max) points, asked for \(count)"
        }
    }

    /// Checks bounds shared by every sampler: same lengths, at least one dimension, finite and ordered.
    static func validate(lowerBounds: [Double], upperBounds: [Double]) throws(SamplerError) {
        guard lowerBounds.count == upperBounds.count else {
            throw .boundsCountMismatch(lower: lowerBounds.count, upper: upperBounds.count)
        }
        guard !lowerBounds.isEmpty else { throw .noDimensions }
        for index in lowerBounds.indices {
            let lower = lowerBounds[index], upper = upperBounds[index]
            guard lower.isFinite, upper.isFinite, lower < upper else {
                throw .invalidBounds(index: index, lower: lower, upper: upper)
            }
        }
    }
}

/// Builds the sampler that `study_options.sampler` names.
public enum SamplerFactory {
    /// A sampler of kind `kind` over the given bounds, reproducible from `seed`.
    ///
    /// `count` is the number of points the study needs; only the Latin hypercube uses it (its
    /// number of strata) and the other kinds ignore it.
    public static func make(kind: SamplerKind, lowerBounds: [Double], upperBounds: [Double], seed: UInt64,
                            count: Int) throws(SamplerError) -> any ParameterSampler {
        switch kind {
        case .uniform:
            try SamplerError.validate(lowerBounds: lowerBounds, upperBounds: upperBounds)
            return UniformSampler(lowerBounds: lowerBounds, upperBounds: upperBounds, seed: seed)
        case .halton:
            return try HaltonSampler(lowerBounds: lowerBounds, upperBounds: upperBounds, seed: seed)
        case .lhs:
            return try LatinHypercubeSampler(lowerBounds: lowerBounds, upperBounds: upperBounds, seed: seed,
                                             count: count)
        }
    }

    /// The sampler of a Sobol study: `groupCount` pick-freeze groups over the p = `lowerBounds.count` parameters.
    ///
    /// The base sampler of kind `kind` draws 2p dimensions, the bounds repeated twice: the first p
    /// coordinates give A and the last p give B. For a Latin hypercube, `groupCount` is its number
    /// of strata, so the A and B points of the whole study each form a Latin hypercube.
    public static func makePickFreeze(kind: SamplerKind, lowerBounds: [Double], upperBounds: [Double],
                                      seed: UInt64, groupCount: Int) throws(SamplerError) -> PickFreezeSampler {
        // Validate the p-dimensional bounds first so errors name the parameter index the user wrote.
        try SamplerError.validate(lowerBounds: lowerBounds, upperBounds: upperBounds)
        let base = try make(kind: kind, lowerBounds: lowerBounds + lowerBounds, upperBounds: upperBounds + upperBounds,
                            seed: seed, count: groupCount)
        return PickFreezeSampler(base: base, nbParameters: lowerBounds.count)
    }
}
