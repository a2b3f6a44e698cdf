/// `sa_config`: which statistics the sensitivity-analysis server computes (all on by default).
public struct SAConfig: Sendable, Equatable {
    /// `mean`: compute the mean of each field.
    public var mean: Bool
    /// `variance`: compute the variance of each field.
    public var variance: Bool

    /// Creates the statistics selection; everything defaults to on.
    public init(mean: Bool = ConfigDefaults.mean, variance: Bool = ConfigDefaults.variance) {
        self.mean = mean
        self.variance = variance
    }
}
