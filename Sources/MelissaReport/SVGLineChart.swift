/// A line chart with shaded bands, rendered as a standalone inline SVG element (no script, no external resources).
public struct SVGLineChart: Sendable {
    /// Title drawn at the top of the chart.
    public var title: String
    /// Smaller line under the title (e.g. what the shading means); nil for none.
    public var subtitle: String?
    /// x axis label.
    public var xLabel: String
    /// y axis label.
    public var yLabel: String
    /// The series, drawn in order (bands first, then lines on top).
    public var series: [ChartSeries]
    /// How the y range is chosen.
    public var yAxis: YAxisPolicy
    /// Width in SVG user units (pixels at 100 % zoom); the height follows from the legend.
    public var width: Double
    /// Cap on the points drawn per line (and slices per band), see `Decimation`.
    public var maxPointsPerSeries: Int
    /// Height the chart takes at least, so charts side by side line up whatever their legends.
    public var minimumHeight: Double

    /// Creates a chart.
    public init(title: String, subtitle: String? = nil, xLabel: String = "time step", yLabel: String = "value",
                series: [ChartSeries], yAxis: YAxisPolicy = .automatic, width: Double = 400,
                maxPointsPerSeries: Int = 1000, minimumHeight: Double = 0) {
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yAxis = yAxis
        self.width = width
        self.maxPointsPerSeries = maxPointsPerSeries
        self.minimumHeight = minimumHeight
    }

    /// The computed layout: ranges, ticks, plot area and legend positions.
    public var layout: ChartLayout { ChartLayout(self) }

    /// The chart as one `<svg>` element, well-formed XML, every user-provided string escaped.
    public func svg() -> String {
        let layout = self.layout
        var out = SVGWriter()
        let w = NumberFormatting.coordinate(layout.width)
        let h = NumberFormatting.coordinate(layout.height)
        out.line("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(w) \(h)\" "
                 + "width=\"\(w)\" height=\"\(h)\" role=\"img\" aria-label=\"\(HTMLEscaping.escape(title))\" "
                 + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">")
        out.line("<title>\(HTMLEscaping.escape(title))</title>")
        let area = layout.plotArea
        out.line("<rect class=\"plot-area\" x=\"\(c(area.left))\" y=\"\(c(area.top))\" width=\"\(c(area.width))\" "
                 + "height=\"\(c(area.height))\" fill=\"#ffffff\" stroke=\"#d0d0d0\"/>")
        drawGrid(layout, into: &out)
        drawBands(layout, into: &out)
        drawLines(layout, into: &out)
        drawAxes(layout, into: &out)
        drawTitles(layout, into: &out)
        drawLegend(layout, into: &out)
        out.line("</svg>")
        return out.text
    }

    private func c(_ value: Double) -> String { NumberFormatting.coordinate(value) }

    private func drawGrid(_ layout: ChartLayout, into out: inout SVGWriter) {
        let area = layout.plotArea
        out.line("<g class=\"grid\" stroke=\"#ececec\" stroke-width=\"1\">")
        for tick in layout.yTicks.values {
            let y = c(layout.py(tick))
            out.line("<line x1=\"\(c(area.left))\" y1=\"\(y)\" x2=\"\(c(area.right))\" y2=\"\(y)\"/>")
        }
        for tick in layout.xTicks.values {
            let x = c(layout.px(tick))
            out.line("<line x1=\"\(x)\" y1=\"\(c(area.top))\" x2=\"\(x)\" y2=\"\(c(area.bottom))\"/>")
        }
        out.line("</g>")
    }

    /// One translucent polygon per finite run of each band (upper edge forward, lower edge back);
    /// a run of one slice becomes a vertical bar, since a polygon of two points has no area.
    private func drawBands(_ layout: ChartLayout, into out: inout SVGWriter) {
        out.line("<g class=\"bands\">")
        for (index, s) in series.enumerated() {
            guard let lower = s.lower, let upper = s.upper else { continue }
            let color = ChartPalette.color(s.colorIndex)
            let runs = Decimation.bandRuns(x: s.x, lower: lower, upper: upper, maxPoints: maxPointsPerSeries)
            for run in runs {
                if run.count == 1, let slice = run.first {
                    let x = c(layout.px(slice.x))
                    out.line("<line class=\"band-bar\" data-series=\"\(index)\" x1=\"\(x)\" y1=\"\(c(layout.py(slice.lower)))\" "
                             + "x2=\"\(x)\" y2=\"\(c(layout.py(slice.upper)))\" stroke=\"\(color)\" "
                             + "stroke-opacity=\"0.45\" stroke-width=\"4\"/>")
                    continue
                }
                var points: [String] = []
                points.reserveCapacity(run.count * 2)
                for slice in run {
                    points.append("\(c(layout.px(slice.x))),\(c(layout.py(slice.upper)))")
                }
                for slice in run.reversed() {
                    points.append("\(c(layout.px(slice.x))),\(c(layout.py(slice.lower)))")
                }
                out.line("<polygon class=\"band\" data-series=\"\(index)\" points=\"\(points.joined(separator: " "))\" "
                         + "fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>")
            }
        }
        out.line("</g>")
    }

    /// One polyline per finite run of each line; isolated points (series of length 1, or
    /// a value between two NaNs) become markers because a one-point polyline is invisible.
    private func drawLines(_ layout: ChartLayout, into out: inout SVGWriter) {
        out.line("<g class=\"lines\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\">")
        for (index, s) in series.enumerated() {
            let color = ChartPalette.color(s.colorIndex)
            let dash = ChartPalette.dashArray(s.colorIndex).map { " stroke-dasharray=\"\($0)\"" } ?? ""
            let runs = Decimation.lineRuns(x: s.x, y: s.y, maxPoints: maxPointsPerSeries)
            for run in runs {
                if run.count == 1, let point = run.first {
                    out.line("<circle class=\"marker\" data-series=\"\(index)\" cx=\"\(c(layout.px(point.x)))\" "
                             + "cy=\"\(c(layout.py(point.y)))\" r=\"3\" fill=\"\(color)\" stroke=\"none\"/>")
                    continue
                }
                let points = run.map { "\(c(layout.px($0.x))),\(c(layout.py($0.y)))" }.joined(separator: " ")
                out.line("<polyline class=\"series\" data-series=\"\(index)\" points=\"\(points)\" "
                         + "stroke=\"\(color)\"\(dash)/>")
            }
        }
        out.line("</g>")
    }

    private func drawAxes(_ layout: ChartLayout, into out: inout SVGWriter) {
        let area = layout.plotArea
        out.line("<g class=\"axes\" stroke=\"#444444\" stroke-width=\"1\">")
        out.line("<line x1=\"\(c(area.left))\" y1=\"\(c(area.bottom))\" x2=\"\(c(area.right))\" y2=\"\(c(area.bottom))\"/>")
        out.line("<line x1=\"\(c(area.left))\" y1=\"\(c(area.top))\" x2=\"\(c(area.left))\" y2=\"\(c(area.bottom))\"/>")
        for tick in layout.xTicks.values {
            let x = c(layout.px(tick))
            out.line("<line x1=\"\(x)\" y1=\"\(c(area.bottom))\" x2=\"\(x)\" y2=\"\(c(area.bottom + 4))\"/>")
        }
        for tick in layout.yTicks.values {
            let y = c(layout.py(tick))
            out.line("<line x1=\"\(c(area.left - 4))\" y1=\"\(y)\" x2=\"\(c(area.left))\" y2=\"\(y)\"/>")
        }
        out.line("</g>")
        out.line("<g class=\"tick-labels\" fill=\"#333333\">")
        for tick in layout.xTicks.values {
            let label = NumberFormatting.tickLabel(tick, step: layout.xTicks.step)
            out.line("<text x=\"\(c(layout.px(tick)))\" y=\"\(c(area.bottom + 16))\" text-anchor=\"middle\">\(label)</text>")
        }
        for tick in layout.yTicks.values {
            let label = NumberFormatting.tickLabel(tick, step: layout.yTicks.step)
            out.line("<text x=\"\(c(area.left - 7))\" y=\"\(c(layout.py(tick) + 4))\" text-anchor=\"end\">\(label)</text>")
        }
        out.line("</g>")
        let xLabelY = c(area.bottom + 33)
        out.line("<text class=\"axis-label\" x=\"\(c(area.left + area.width / 2))\" y=\"\(xLabelY)\" "
                 + "text-anchor=\"middle\" fill=\"#333333\">\(HTMLEscaping.escape(xLabel))</text>")
        let midY = c(area.top + area.height / 2)
        out.line("<text class=\"axis-label\" x=\"14\" y=\"\(midY)\" text-anchor=\"middle\" fill=\"#333333\" "
                 + "transform=\"rotate(-90 14 \(midY))\">\(HTMLEscaping.escape(yLabel))</text>")
    }

    private func drawTitles(_ layout: ChartLayout, into out: inout SVGWriter) {
        let title = ChartLayout.shorten(self.title, to: Int((layout.width - 24) / 7.5))
        out.line("<text class=\"chart-title\" x=\"12\" y=\"24\" font-size=\"13\" font-weight=\"bold\" "
                 + "fill=\"#111111\">\(HTMLEscaping.escape(title))</text>")
        if let subtitle {
            let text = ChartLayout.shorten(subtitle, to: Int((layout.width - 24) / ChartLayout.charWidth))
            out.line("<text class=\"chart-subtitle\" x=\"12\" y=\"41\" fill=\"#555555\">\(HTMLEscaping.escape(text))</text>")
        }
    }

    /// Swatches show what the series draws: a line over a light rectangle when it has a band.
    private func drawLegend(_ layout: ChartLayout, into out: inout SVGWriter) {
        out.line("<g class=\"legend\">")
        for item in layout.legend {
            let s = series[item.series]
            let color = ChartPalette.color(s.colorIndex)
            if s.hasBand {
                out.line("<rect x=\"\(c(item.x))\" y=\"\(c(item.y - 6))\" width=\"20\" height=\"12\" fill=\"\(color)\" "
                         + "fill-opacity=\"0.18\"/>")
            }
            if !s.y.isEmpty {
                let dash = ChartPalette.dashArray(s.colorIndex).map { " stroke-dasharray=\"\($0)\"" } ?? ""
                out.line("<line x1=\"\(c(item.x))\" y1=\"\(c(item.y))\" x2=\"\(c(item.x + 20))\" y2=\"\(c(item.y))\" "
                         + "stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
            }
            out.line("<text x=\"\(c(item.x + ChartLayout.swatchWidth))\" y=\"\(c(item.y + 4))\" fill=\"#222222\">"
                     + "\(HTMLEscaping.escape(item.text))</text>")
        }
        if layout.clipsData {
            let y = (layout.legend.last?.y ?? (layout.plotArea.bottom + ChartLayout.xAxisHeight)) + ChartLayout.legendRowHeight
            out.line("<text class=\"clip-note\" x=\"12\" y=\"\(c(y + 4))\" fill=\"#666666\" font-style=\"italic\">"
                     + "Values beyond the y axis are drawn at its edge.</text>")
        }
        out.line("</g>")
    }
}

/// Accumulates SVG/HTML text line by line.
struct SVGWriter {
    private(set) var text = ""

    mutating func line(_ s: String) {
        text += s
        text += "\n"
    }
}
