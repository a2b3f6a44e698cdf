/// `study_options.sampler`: how the server draws the parameter sets.
public enum SamplerKind: String, Sendable, Equatable, CaseIterable {
    /// Independent uniform draws in the bounds (plain Monte Carlo).
    case uniform
    /// A randomly shifted Halton sequence: quasi-random points that fill the box more evenly.
    case halton
    /// Latin hypercube sampling: each parameter's range is cut into `count` strata, one point in each.
    case lhs

    /// Most sampled dimensions this kind supports, or nil for no limit.
    ///
    /// Halton uses one prime base per dimension and its quality drops with large bases, so it is
    /// capped at 64 dimensions (bases up to 311). A Sobol study samples 2 × nb_parameters
    /// dimensions (the A and B matrices side by side).
    public var maximumDimensions: Int? {
        switch self {
        case .halton: return 64
        case .uniform, .lhs: return nil
        }
    }
}
