/// The charts drawn for one probe cell: what the report shows is decided here, how it looks in `SVGLineChart`.
public enum ProbeCharts {
    /// Charts for `probe`, in display order: mean (± σ when the deviation is present),
    /// then first-order and total Sobol indices when the study computes them.
    public static func charts(for probe: ProbeReport, maxPointsPerSeries: Int = 1000) -> [SVGLineChart] {
        var charts: [SVGLineChart] = []
        if let mean = meanChart(for: probe) {
            charts.append(mean)
        }
        if !probe.sobol.isEmpty {
            charts.append(sobolChart(for: probe, total: false))
            charts.append(sobolChart(for: probe, total: true))
        }
        // Charts of a probe sit in one row: give them the same height so their frames line up.
        let height = charts.map { $0.layout.height }.max() ?? 0
        for i in charts.indices {
            charts[i].maxPointsPerSeries = maxPointsPerSeries
            charts[i].minimumHeight = height
        }
        return charts
    }

    /// The mean line with a ± σ band, or nil when the probe has no mean.
    private static func meanChart(for probe: ProbeReport) -> SVGLineChart? {
        guard let mean = probe.mean else { return nil }
        var series = ChartSeries(label: "mean", x: probe.time, y: mean, colorIndex: 0)
        var subtitle: String?
        if let sigma = probe.standardDeviation {
            let n = min(mean.count, sigma.count)
            // NaN in either array propagates into the bounds, which breaks the band there.
            series.lower = (0..<n).map { mean[$0] - sigma[$0] }
            series.upper = (0..<n).map { mean[$0] + sigma[$0] }
            series.label = "mean ± σ"
            subtitle = "Ensemble mean; shaded: ± one standard deviation"
        } else {
            subtitle = "Ensemble mean"
        }
        return SVGLineChart(title: "Cell \(probe.cell): mean", subtitle: subtitle, yLabel: "value",
                            series: [series])
    }

    /// First-order (S_k) or total (ST_k) indices of every parameter with their 95 % confidence intervals.
    private static func sobolChart(for probe: ProbeReport, total: Bool) -> SVGLineChart {
        // Colour by position in the Sobol list, which is the same for both charts of the
        // probe and for all probes: one parameter keeps its colour throughout the page.
        let series = probe.sobol.enumerated().map { index, sobol in
            let band = total ? sobol.totalOrder : sobol.firstOrder
            return ChartSeries(label: sobol.parameter, x: probe.time, y: band.value,
                               lower: band.lower, upper: band.upper, colorIndex: index)
        }
        let title = total ? "Cell \(probe.cell): total Sobol indices" : "Cell \(probe.cell): first-order Sobol indices"
        return SVGLineChart(title: title, subtitle: "Shaded: 95 % confidence interval",
                            yLabel: total ? "total index" : "first-order index",
                            series: series, yAxis: .sobolIndex)
    }
}
