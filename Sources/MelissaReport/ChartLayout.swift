import Foundation

/// Where everything of a chart goes: ranges, ticks, plot area, legend. Computed before drawing
/// because the left margin depends on the tick labels and the height on the legend rows.
public struct ChartLayout: Sendable {
    /// Data range on the x axis.
    public var xRange: ClosedRange<Double>
    /// Data range on the y axis.
    public var yRange: ClosedRange<Double>
    /// x ticks.
    public var xTicks: NiceTicks
    /// y ticks.
    public var yTicks: NiceTicks
    /// The rectangle where data is drawn.
    public var plotArea: PlotArea
    /// Total SVG width.
    public var width: Double
    /// Total SVG height, legend included.
    public var height: Double
    /// Legend items with their positions.
    public var legend: [LegendItem]
    /// Whether some data lies outside `yRange` (it is drawn at the edge, and the chart says so).
    public var clipsData: Bool

    /// A legend entry placed in the chart.
    public struct LegendItem: Sendable {
        /// Index of the series in the chart.
        public var series: Int
        /// Label as displayed (possibly shortened).
        public var text: String
        /// Left edge of the swatch.
        public var x: Double
        /// Vertical centre of the row.
        public var y: Double
    }

    /// Height of the title line, and of the subtitle line when there is one.
    static let titleHeight = 22.0
    static let subtitleHeight = 16.0
    static let plotHeight = 200.0
    /// Room under the plot for the tick labels and the axis label.
    static let xAxisHeight = 42.0
    static let legendRowHeight = 18.0
    static let rightMargin = 18.0
    /// Approximate advance of one character at the 11 px font used for labels: text
    /// cannot be measured without a browser, so widths are estimated generously.
    static let charWidth = 6.6
    static let maxLegendLabel = 40
    /// Swatch width plus the gaps around it.
    static let swatchWidth = 26.0
    static let legendGap = 14.0

    /// Lays out `chart`.
    init(_ chart: SVGLineChart) {
        let bounds = ChartLayout.dataBounds(chart.series)
        let xRange = ChartLayout.xRange(bounds.x)
        let (yRange, clips) = ChartLayout.yRange(bounds.y, policy: chart.yAxis)
        self.xRange = xRange
        self.yRange = yRange
        self.clipsData = clips
        self.xTicks = NiceTicks(lower: xRange.lowerBound, upper: xRange.upperBound, target: 6,
                                minimumStep: bounds.allIntegerX ? 1 : 0)
        let yTicks = NiceTicks(lower: yRange.lowerBound, upper: yRange.upperBound, target: 6)
        self.yTicks = yTicks
        self.width = chart.width

        let longestTick = yTicks.values.map { NumberFormatting.tickLabel($0, step: yTicks.step).count }.max() ?? 1
        // Rotated y label (about 16) + gap + tick labels + tick marks.
        let left = 16 + 8 + Double(longestTick) * ChartLayout.charWidth + 8
        let top = 8 + ChartLayout.titleHeight + (chart.subtitle == nil ? 0 : ChartLayout.subtitleHeight) + 6
        let plotWidth = max(chart.width - left - ChartLayout.rightMargin, 40)
        self.plotArea = PlotArea(left: left, top: top, width: plotWidth, height: ChartLayout.plotHeight)

        let legendTop = plotArea.bottom + ChartLayout.xAxisHeight
        let placed = ChartLayout.placeLegend(chart.series, width: chart.width, top: legendTop)
        self.legend = placed.items
        let noteHeight = clips ? ChartLayout.legendRowHeight : 0
        let natural = legendTop + Double(placed.rows) * ChartLayout.legendRowHeight + noteHeight + 8
        self.height = max(natural, chart.minimumHeight).rounded(.up)
    }

    /// Maps a data x to an SVG x, clamped into the plot area.
    func px(_ x: Double) -> Double {
        let span = xRange.upperBound - xRange.lowerBound
        let t = span > 0 ? (x - xRange.lowerBound) / span : 0.5
        return plotArea.left + ChartLayout.clamp01(t) * plotArea.width
    }

    /// Maps a data y to an SVG y, clamped into the plot area (values beyond the axis sit on its edge).
    func py(_ y: Double) -> Double {
        let span = yRange.upperBound - yRange.lowerBound
        let t = span > 0 ? (y - yRange.lowerBound) / span : 0.5
        return plotArea.bottom - ChartLayout.clamp01(t) * plotArea.height
    }

    private static func clamp01(_ t: Double) -> Double {
        // NaN fails both comparisons; send it to the bottom edge rather than out of the picture.
        guard t.isFinite else { return t == .infinity ? 1 : 0 }
        return min(max(t, 0), 1)
    }

    /// Finite data extremes of all series.
    private struct Bounds {
        var x: (Double, Double)?
        var y: (Double, Double)?
        var allIntegerX = true
    }

    private static func include(_ value: Double, in range: inout (Double, Double)?) {
        guard value.isFinite else { return }
        if let r = range {
            range = (min(r.0, value), max(r.1, value))
        } else {
            range = (value, value)
        }
    }

    private static func dataBounds(_ series: [ChartSeries]) -> Bounds {
        var bounds = Bounds()
        for s in series {
            let arrays = [s.y, s.lower ?? [], s.upper ?? []]
            let n = s.x.count
            for i in 0..<n {
                let hasY = arrays.contains { i < $0.count && $0[i].isFinite }
                guard hasY else { continue }
                include(s.x[i], in: &bounds.x)
                if s.x[i].isFinite && s.x[i].rounded() != s.x[i] { bounds.allIntegerX = false }
                for array in arrays where i < array.count {
                    include(array[i], in: &bounds.y)
                }
            }
        }
        return bounds
    }

    private static func xRange(_ bounds: (Double, Double)?) -> ClosedRange<Double> {
        guard let (low, high) = bounds else { return 0...1 }
        // A single time step still needs an axis around it.
        if high <= low { return (low - 1)...(high + 1) }
        return low...high
    }

    private static func yRange(_ bounds: (Double, Double)?, policy: YAxisPolicy) -> (ClosedRange<Double>, Bool) {
        guard let (dataLow, dataHigh) = bounds else { return (policy.minimumRange ?? 0...1, false) }
        var low = dataLow
        var high = dataHigh
        if let minimum = policy.minimumRange {
            let widenLow = low < minimum.lowerBound
            let widenHigh = high > minimum.upperBound
            low = min(low, minimum.lowerBound)
            high = max(high, minimum.upperBound)
            let rounded = NiceTicks.roundedOutward(lower: low, upper: high)
            if widenLow { low = rounded.lower }
            if widenHigh { high = rounded.upper }
        } else {
            if high <= low {
                let pad = low == 0 ? 1 : abs(low) * 0.1
                low -= pad
                high += pad
            }
            (low, high) = NiceTicks.roundedOutward(lower: low, upper: high)
        }
        var clips = false
        if let limit = policy.limit {
            if low < limit.lowerBound { low = limit.lowerBound }
            if high > limit.upperBound { high = limit.upperBound }
            clips = dataLow < limit.lowerBound || dataHigh > limit.upperBound
        }
        guard high > low else { return (policy.minimumRange ?? 0...1, clips) }
        return (low...high, clips)
    }

    /// Places legend items left to right, wrapping into rows that fit `width`.
    private static func placeLegend(_ series: [ChartSeries], width: Double, top: Double) -> (items: [LegendItem], rows: Int) {
        var items: [LegendItem] = []
        var x = 12.0
        var row = 0
        for (index, s) in series.enumerated() {
            let text = shorten(s.label, to: maxLegendLabel)
            let itemWidth = swatchWidth + Double(text.count) * charWidth + legendGap
            if x > 12 && x + itemWidth > width - 8 {
                row += 1
                x = 12
            }
            items.append(LegendItem(series: index, text: text, x: x,
                                    y: top + (Double(row) + 0.5) * legendRowHeight))
            x += itemWidth
        }
        return (items, series.isEmpty ? 0 : row + 1)
    }

    /// Cuts `text` to `limit` characters with an ellipsis, so one long name cannot push the legend off the chart.
    static func shorten(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }
}
