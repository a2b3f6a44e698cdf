import Foundation
import MelissaNetCDF
import MelissaReport
import MelissaServer

/// The end-of-study HTML report, `<study>/report.html`: the summary, and at a few probe cells
/// mean ± σ and the Sobol indices with their 95 % bands over time, read back from the results
/// files rank 0 just helped write (no extra collectives, and the report shows what is on disk).
extension SensitivityServer {
    /// Writes `report.html` (rank 0, at the end of the study).
    func writeReport(_ summary: StudySummary) throws {
        let path = "\(studyDirectory)/report.html"
        try ReportRenderer.write(makeReport(summary), to: path)
        log.event("report written to \(path)")
    }

    func makeReport(_ summary: StudySummary) -> StudyReport {
        let options = config.studyOptions
        let sa = config.saConfig
        let counters = summary.counters
        var statistics = [sa.mean ? "mean" : nil, sa.variance ? "variance" : nil, sa.skewness ? "skewness" : nil,
                          sa.kurtosis ? "kurtosis" : nil, sa.minimum ? "min" : nil, sa.maximum ? "max" : nil]
            .compactMap { $0 }
        if sa.thresholdExceedance { statistics.append("threshold exceedance \(sa.thresholdValues)") }
        if sa.quantiles { statistics.append("quantiles \(sa.quantileValues)") }
        if !sa.covariancePairs.isEmpty {
            statistics.append("covariance " + sa.covariancePairs.map { "\($0.first)×\($0.second)" }.joined(separator: ", "))
        }
        if sa.sobolIndices { statistics.append("Sobol indices (Martinez)") }
        var items: [SummaryItem] = [
            SummaryItem(label: "Simulations", value: "\(summary.simulations)"
                        + (sa.sobolIndices ? " (\(options.parameterSweepSize) pick-freeze groups of \(members))" : "")),
            SummaryItem(label: "Finished", value: "\(summary.finished)"),
            SummaryItem(label: "Failed", value: "\(summary.failed)"),
            SummaryItem(label: "Resubmitted", value: "\(summary.resubmitted) job(s) with the same parameters, "
                        + "\(summary.redrawn) redraw(s), \(summary.givenUp) group(s) given up"
                        + (summary.serverRestarts > 0 ? "; \(summary.serverRestarts) server restart(s)" : "")),
            SummaryItem(label: "Wall time", value: String(format: "%.1f s", summary.wallTime)),
            SummaryItem(label: "Data received", value: Self.formatBytes(counters.bytes) + " in \(counters.messages) messages"),
            SummaryItem(label: "Messages applied", value: "\(counters.accepted)"),
            SummaryItem(label: "Messages dropped", value: "\(counters.dropped)"),
            SummaryItem(label: "Server ranks", value: "\(summary.serverRanks)"),
            SummaryItem(label: "Sampler", value: "\(options.sampler.rawValue), seed \(options.seed)"),
            SummaryItem(label: "Statistics", value: statistics.joined(separator: ", ")),
            SummaryItem(label: "Time steps", value: "\(options.nbTimeSteps)"),
        ]
        if let reason = summary.stopReason { items.append(SummaryItem(label: "Ended early", value: reason)) }
        var notes = summary.errors
        for failure in summary.failures.prefix(20) {
            notes.append("simulation \(failure.simulation) failed: \(failure.reason)")
        }
        if summary.failures.count > 20 { notes.append("… and \(summary.failures.count - 20) more failed simulations (summary.json lists them all)") }
        let names = (0..<options.nbParameters).map { "p\($0)" }
        var fields: [FieldReport] = []
        for name in options.fieldNames {
            let path = "\(studyDirectory)/results/\(name).nc"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do {
                fields.append(try fieldReport(name: name, path: path, parameterNames: names))
            } catch {
                notes.append("field \(name): cannot read \(path) for the report: \(error)")
            }
        }
        return StudyReport(title: "Sensitivity analysis: \(URL(fileURLWithPath: studyDirectory).lastPathComponent)",
                           generatedAt: ISO8601DateFormatter().string(from: Date()),
                           studyDirectory: studyDirectory, summary: items, parameterNames: names,
                           fields: fields, notes: notes)
    }

    /// The probe series of one field, read from its results file.
    func fieldReport(name: String, path: String, parameterNames: [String]) throws -> FieldReport {
        let file = try NetCDFFile.open(path: path, writable: false)
        defer { try? file.close() }
        let cells = try file.dimensionLength(named: "cell")
        let steps = try file.dimensionLength(named: "time")
        let probes = Self.probeCells(requested: config.saConfig.reportProbes, cellCount: cells)
        func series(_ variable: String, extra: Int? = nil, cell: Int) throws -> [Double]? {
            guard let id = try? file.variableID(named: variable) else { return nil }
            let start = (extra.map { [$0] } ?? []) + [0, cell]
            let count = (extra.map { _ in [1] } ?? []) + [steps, 1]
            return try file.read(variable: id, start: start, count: count)
        }
        var reports: [ProbeReport] = []
        for cell in probes {
            let mean = try series("mean", cell: cell)
            let std = try series("variance", cell: cell)?.map { $0.squareRoot() }
            var sobolSeries: [SobolSeries] = []
            if config.saConfig.sobolIndices {
                for (k, parameter) in parameterNames.enumerated() {
                    guard let s = try series("sobol_first", extra: k, cell: cell),
                          let sLo = try series("sobol_first_lower", extra: k, cell: cell),
                          let sHi = try series("sobol_first_upper", extra: k, cell: cell),
                          let t = try series("sobol_total", extra: k, cell: cell),
                          let tLo = try series("sobol_total_lower", extra: k, cell: cell),
                          let tHi = try series("sobol_total_upper", extra: k, cell: cell) else { continue }
                    sobolSeries.append(SobolSeries(parameter: parameter,
                                                   firstOrder: Band(value: s, lower: sLo, upper: sHi),
                                                   totalOrder: Band(value: t, lower: tLo, upper: tHi)))
                }
            }
            reports.append(ProbeReport(cell: cell, time: (0..<steps).map(Double.init), mean: mean,
                                       standardDeviation: std, sobol: sobolSeries))
        }
        return FieldReport(name: name, cellCount: cells, probes: reports)
    }

    /// The configured probe cells that exist, or the first, middle and last cell.
    static func probeCells(requested: [Int], cellCount: Int) -> [Int] {
        let chosen = requested.isEmpty ? [0, cellCount / 2, cellCount - 1] : requested
        var seen = Set<Int>()
        return chosen.filter { $0 >= 0 && $0 < cellCount && seen.insert($0).inserted }
    }

    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
    }
}
