/// One series of a line chart: a line, optionally with a shaded band around it, in one colour.
public struct ChartSeries: Sendable {
    /// Legend label.
    public var label: String
    /// x values (time steps); the series is cut to the shortest of its arrays.
    public var x: [Double]
    /// The line; may be empty for a band-only series.
    public var y: [Double]
    /// Lower bound of the shaded band; no band when `lower` or `upper` is nil.
    public var lower: [Double]?
    /// Upper bound of the shaded band.
    public var upper: [Double]?
    /// Index into `ChartPalette`; series sharing an index share a colour.
    public var colorIndex: Int

    /// Creates a series.
    public init(label: String, x: [Double], y: [Double], lower: [Double]? = nil, upper: [Double]? = nil,
                colorIndex: Int) {
        self.label = label
        self.x = x
        self.y = y
        self.lower = lower
        self.upper = upper
        self.colorIndex = colorIndex
    }

    /// Whether the series has a band to shade.
    public var hasBand: Bool { lower != nil && upper != nil }
}

/// How a chart chooses its y range.
public struct YAxisPolicy: Sendable, Equatable {
    /// Range always shown, even when the data is narrower; nil fits the data.
    public var minimumRange: ClosedRange<Double>?
    /// Range never exceeded; data beyond it is drawn at the edge of the plot.
    public var limit: ClosedRange<Double>?

    /// Creates a policy.
    public init(minimumRange: ClosedRange<Double>? = nil, limit: ClosedRange<Double>? = nil) {
        self.minimumRange = minimumRange
        self.limit = limit
    }

    /// Fit the data, rounded outward to nice ticks.
    public static let automatic = YAxisPolicy()

    /// Sobol indices: always show [-0.1, 1.1], grow with the data up to [-1, 2].
    ///
    /// Indices belong to [0, 1] but estimates and their confidence intervals leave it,
    /// wildly so in the first steps of a small ensemble; following those all the way
    /// would squash the converged part of the curve to a flat line.
    public static let sobolIndex = YAxisPolicy(minimumRange: -0.1...1.1, limit: -1...2)
}

/// The rectangle where data is drawn, in SVG user units.
public struct PlotArea: Sendable, Equatable {
    /// Left edge.
    public var left: Double
    /// Top edge.
    public var top: Double
    /// Width.
    public var width: Double
    /// Height.
    public var height: Double

    /// Creates a plot area.
    public init(left: Double, top: Double, width: Double, height: Double) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }

    /// Right edge.
    public var right: Double { left + width }
    /// Bottom edge.
    public var bottom: Double { top + height }
}
