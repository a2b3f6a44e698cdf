/// `sa_config`: which statistics the sensitivity-analysis server computes, and its limits.
///
/// Mean and variance are on by default; every other statistic is off until asked for.
public struct SAConfig: Sendable, Equatable {
    /// `mean`: compute the mean of each field.
    public var mean: Bool
    /// `variance`: compute the variance of each field.
    public var variance: Bool
    /// `skewness`: compute the skewness of each field.
    public var skewness: Bool
    /// `kurtosis`: compute the (excess) kurtosis of each field.
    public var kurtosis: Bool
    /// `min`: keep the per-cell minimum over the ensemble.
    public var minimum: Bool
    /// `max`: keep the per-cell maximum over the ensemble.
    public var maximum: Bool
    /// `threshold_exceedance`: count, per cell, the simulations whose value exceeds each threshold.
    public var thresholdExceedance: Bool
    /// `threshold_values`: the thresholds (finite, distinct, at most 64; non-empty when `thresholdExceedance`).
    public var thresholdValues: [Double]
    /// `quantiles`: estimate per-cell quantiles of the ensemble.
    public var quantiles: Bool
    /// `quantile_values`: the probabilities, each strictly inside (0, 1), distinct, at most 64.
    public var quantileValues: [Double]
    /// `sobol_indices`: run pick-freeze groups and compute first-order and total Sobol indices.
    public var sobolIndices: Bool
    /// `sobol_convergence_width`: stop early once every Sobol index's 95 % confidence interval is narrower; nil never stops early.
    public var sobolConvergenceWidth: Double?
    /// `covariance_pairs`: pairs of different fields whose per-cell covariance is computed.
    public var covariancePairs: [FieldPair]
    /// `report_probes`: global cell indices whose time series go into the HTML report; empty lets the server pick.
    public var reportProbes: [Int]
    /// `cache_limit_mb`: upper bound, in MiB, of each server rank's cache of data waiting to be joined.
    public var cacheLimitMB: Double
    /// `checkpoint_interval`: seconds between two checkpoints of every server rank; nil keeps the default (300).
    public var checkpointInterval: Double?

    /// Creates the statistics selection; mean and variance default to on, everything else to off.
    public init(mean: Bool = ConfigDefaults.mean, variance: Bool = ConfigDefaults.variance,
                skewness: Bool = ConfigDefaults.skewness, kurtosis: Bool = ConfigDefaults.kurtosis,
                minimum: Bool = ConfigDefaults.minimum, maximum: Bool = ConfigDefaults.maximum,
                thresholdExceedance: Bool = ConfigDefaults.thresholdExceedance, thresholdValues: [Double] = [],
                quantiles: Bool = ConfigDefaults.quantiles, quantileValues: [Double] = [],
                sobolIndices: Bool = ConfigDefaults.sobolIndices, sobolConvergenceWidth: Double? = nil,
                covariancePairs: [FieldPair] = [], reportProbes: [Int] = [],
                cacheLimitMB: Double = ConfigDefaults.cacheLimitMB, checkpointInterval: Double? = nil) {
        self.mean = mean
        self.variance = variance
        self.skewness = skewness
        self.kurtosis = kurtosis
        self.minimum = minimum
        self.maximum = maximum
        self.thresholdExceedance = thresholdExceedance
        self.thresholdValues = thresholdValues
        self.quantiles = quantiles
        self.quantileValues = quantileValues
        self.sobolIndices = sobolIndices
        self.sobolConvergenceWidth = sobolConvergenceWidth
        self.covariancePairs = covariancePairs
        self.reportProbes = reportProbes
        self.cacheLimitMB = cacheLimitMB
        self.checkpointInterval = checkpointInterval
    }
}
