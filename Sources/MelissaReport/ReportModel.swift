// The data the end-of-study report shows. Plain values, filled in by the server flavor;
// the renderer does not know where they came from (statistics kernels, NetCDF files, ...).

/// Everything the end-of-study HTML report shows about one study.
public struct StudyReport: Sendable {
    /// Page title, e.g. "Sensitivity analysis: heat2d".
    public var title: String
    /// When the report was generated, ISO 8601 UTC.
    public var generatedAt: String
    /// The study (output) directory, shown so a printed report can be traced back.
    public var studyDirectory: String
    /// Label/value rows of the summary table, in display order.
    public var summary: [SummaryItem]
    /// Names of the sampled parameters, in sampler order.
    public var parameterNames: [String]
    /// One section per field, in display order.
    public var fields: [FieldReport]
    /// Warnings and errors shown prominently above the charts (e.g. failed simulations).
    public var notes: [String]
    /// Charts that are not about a field (a flavor's own, e.g. training losses), shown first.
    public var chartGroups: [ChartGroup]

    /// Creates a report; every collection may be empty.
    public init(title: String, generatedAt: String, studyDirectory: String,
                summary: [SummaryItem] = [], parameterNames: [String] = [],
                fields: [FieldReport] = [], notes: [String] = [], chartGroups: [ChartGroup] = []) {
        self.title = title
        self.generatedAt = generatedAt
        self.studyDirectory = studyDirectory
        self.summary = summary
        self.parameterNames = parameterNames
        self.fields = fields
        self.notes = notes
        self.chartGroups = chartGroups
    }
}

/// A titled section of charts that belong to the study as a whole.
public struct ChartGroup: Sendable {
    /// Section heading, e.g. "Training".
    public var title: String
    /// The charts, in display order.
    public var charts: [SVGLineChart]

    /// Creates a section.
    public init(title: String, charts: [SVGLineChart]) {
        self.title = title
        self.charts = charts
    }
}

/// One row of the summary table.
public struct SummaryItem: Sendable, Equatable {
    /// What the row is about, e.g. "simulations finished".
    public var label: String
    /// The already formatted value, e.g. "98 / 100".
    public var value: String

    /// Creates a summary row.
    public init(label: String, value: String) {
        self.label = label
        self.value = value
    }
}

/// The charts of one field: its size and the probe cells whose time series are shown.
public struct FieldReport: Sendable {
    /// Field name as the simulations send it.
    public var name: String
    /// Number of cells of the field (per time step).
    public var cellCount: Int
    /// The probe cells, one chart group each.
    public var probes: [ProbeReport]

    /// Creates a field section.
    public init(name: String, cellCount: Int, probes: [ProbeReport] = []) {
        self.name = name
        self.cellCount = cellCount
        self.probes = probes
    }
}

/// Time series at one cell.
public struct ProbeReport: Sendable {
    /// Cell index within the field.
    public var cell: Int
    /// Time-step indices (x axis); series longer than this are cut to its length.
    public var time: [Double]
    /// Ensemble mean per time step; a mean chart is drawn when present.
    public var mean: [Double]?
    /// Ensemble standard deviation per time step; drawn as a mean ± σ band when the mean is present too.
    public var standardDeviation: [Double]?
    /// Sobol indices per parameter; empty when the study computes none.
    public var sobol: [SobolSeries]

    /// Creates the time series of one probe cell.
    public init(cell: Int, time: [Double], mean: [Double]? = nil,
                standardDeviation: [Double]? = nil, sobol: [SobolSeries] = []) {
        self.cell = cell
        self.time = time
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.sobol = sobol
    }
}

/// First-order and total Sobol indices of one parameter over time, with confidence intervals.
public struct SobolSeries: Sendable {
    /// The parameter the indices belong to.
    public var parameter: String
    /// First-order index S_k and its 95 % confidence interval.
    public var firstOrder: Band
    /// Total index ST_k and its 95 % confidence interval.
    public var totalOrder: Band

    /// Creates the Sobol series of one parameter.
    public init(parameter: String, firstOrder: Band, totalOrder: Band) {
        self.parameter = parameter
        self.firstOrder = firstOrder
        self.totalOrder = totalOrder
    }
}

/// An estimate over time with its lower and upper confidence bounds (same length as the estimate).
public struct Band: Sendable {
    /// The estimate per time step.
    public var value: [Double]
    /// Lower bound per time step.
    public var lower: [Double]
    /// Upper bound per time step.
    public var upper: [Double]

    /// Creates a band from an estimate and its bounds.
    public init(value: [Double], lower: [Double], upper: [Double]) {
        self.value = value
        self.lower = lower
        self.upper = upper
    }
}
