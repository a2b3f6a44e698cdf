/// Which statistics a field's state holds (from `sa_config`).
public struct StatisticsSelection: Sendable, Equatable {
    public var mean: Bool, variance: Bool, skewness: Bool, kurtosis: Bool, minimum: Bool, maximum: Bool
    /// Exceedance: per threshold t, the count of samples with x > t (strict).
    public var thresholds: [Double]
    /// Quantile levels, each in (0, 1), estimated by Robbins–Monro (iterative-stats' IterativeQuantile).
    public var quantileLevels: [Double]
    /// Samples per cell expected over the study; drives the Robbins–Monro step schedule
    /// (iterative-stats' `max_it`). Values below 2 are used as 2.
    public var expectedSamples: Int

    public init(mean: Bool = true, variance: Bool = true, skewness: Bool = false, kurtosis: Bool = false,
                minimum: Bool = false, maximum: Bool = false, thresholds: [Double] = [],
                quantileLevels: [Double] = [], expectedSamples: Int = 0) {
        self.mean = mean
        self.variance = variance
        self.skewness = skewness
        self.kurtosis = kurtosis
        self.minimum = minimum
        self.maximum = maximum
        self.thresholds = thresholds
        self.quantileLevels = quantileLevels
        self.expectedSamples = expectedSamples
    }

    /// Bytes of state per (time step, cell) for this selection (memory estimate before the study starts).
    public var bytesPerCell: Int { FieldLayout(self).planes * MemoryLayout<Double>.size }
}

/// One statistic of a field, as it is extracted for results.
public enum Statistic: Sendable, Hashable {
    case count, mean, variance, skewness, kurtosis, minimum, maximum
    /// Exceedance count for `selection.thresholds[i]`.
    case threshold(Int)
    /// Robbins–Monro estimate for `selection.quantileLevels[i]`.
    case quantile(Int)
}

/// Where each statistic lives in the state of one time step: the step's state is
/// `planes` planes of `blockSize` doubles each (plane-major, then cell), so a
/// message (one step, a contiguous run of cells) updates one contiguous run in each plane
/// and the fold vectorises across cells. Planes, in order:
///
///     n · mean · M2 · M3 · M4 · min · max · T exceedance counts · Q quantile estimates
///
/// Only the moments up to `order` are present (order 0: no mean), min and max only when
/// `extrema` (minimum, maximum or any quantile: quantiles need the running range).
struct FieldLayout: Equatable {
    /// Highest central moment kept: 4 with kurtosis, 3 with skewness, 2 with variance, 1 with mean, else 0.
    let order: Int
    let extrema: Bool
    let thresholdCount: Int
    let quantileCount: Int

    init(_ s: StatisticsSelection) {
        order = s.kurtosis ? 4 : s.skewness ? 3 : s.variance ? 2 : s.mean ? 1 : 0
        extrema = s.minimum || s.maximum || !s.quantileLevels.isEmpty
        thresholdCount = s.thresholds.count
        quantileCount = s.quantileLevels.count
    }

    /// Plane of moment k (1 = mean, 2 = M2, 3 = M3, 4 = M4); plane 0 is the count.
    func momentPlane(_ k: Int) -> Int { k }
    var minPlane: Int { 1 + order }
    var maxPlane: Int { 2 + order }
    var thresholdPlane: Int { 1 + order + (extrema ? 2 : 0) }
    var quantilePlane: Int { thresholdPlane + thresholdCount }
    /// Planes per step = doubles of state per (step, cell).
    var planes: Int { quantilePlane + quantileCount }
}
