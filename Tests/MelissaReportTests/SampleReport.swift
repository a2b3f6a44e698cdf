import Foundation
@testable import MelissaReport

/// A small but complete report: 2 fields, 3 probes, Sobol indices of 3 parameters over
/// 100 steps with confidence bands that narrow as the ensemble grows, and mean ± σ.
enum SampleReport {
    static let parameters = ["conductivity", "source strength", "boundary temperature"]
    static let steps = 100

    static func make() -> StudyReport {
        let summary = [
            SummaryItem(label: "Simulations requested", value: "100"),
            SummaryItem(label: "Simulations finished", value: "98"),
            SummaryItem(label: "Simulations failed", value: "2"),
            SummaryItem(label: "Simulations resubmitted", value: "3"),
            SummaryItem(label: "Wall time", value: "12 min 34 s"),
            SummaryItem(label: "Data received", value: "1.21 GiB"),
            SummaryItem(label: "Messages", value: "49,000"),
            SummaryItem(label: "Messages dropped", value: "0"),
            SummaryItem(label: "Server ranks", value: "4"),
            SummaryItem(label: "Sampler", value: "Sobol (pick-freeze), seed 42"),
            SummaryItem(label: "Statistics computed", value: "mean, variance, Sobol indices"),
            SummaryItem(label: "Stop reason", value: "all simulations finished"),
        ]
        let fields = [
            FieldReport(name: "temperature", cellCount: 10_000,
                        probes: [probe(cell: 0, phase: 0), probe(cell: 5050, phase: 1)]),
            FieldReport(name: "heat flux", cellCount: 10_000, probes: [probe(cell: 9999, phase: 2)]),
        ]
        return StudyReport(title: "Sensitivity analysis: heat2d",
                           generatedAt: "2025-01-01T12:00:00Z",
                           studyDirectory: "/scratch/studies/heat2d-2025-01-01",
                           summary: summary, parameterNames: parameters, fields: fields,
                           notes: ["2 simulations failed (ids 17, 63) and were not resubmitted.",
                                   "Sobol indices use 98 of 100 groups."])
    }

    /// One probe; `phase` varies the curves so the three probes do not look identical.
    static func probe(cell: Int, phase: Double) -> ProbeReport {
        let time = (0..<steps).map(Double.init)
        // Target indices per parameter: they sum to about 0.9 (some interaction left).
        let targets = [0.55 + 0.1 * phase / 2, 0.25, 0.06]
        var sobol: [SobolSeries] = []
        for (k, name) in parameters.enumerated() {
            let first = band(time: time, target: targets[k], k: k, phase: phase, offset: 0)
            let total = band(time: time, target: targets[k] + 0.08, k: k, phase: phase, offset: 0.04)
            sobol.append(SobolSeries(parameter: name, firstOrder: first, totalOrder: total))
        }
        let mean = time.map { 20 + 15 * (1 - exp(-$0 / 30)) + 2 * sin($0 / 8 + phase) }
        let sigma = time.map { 0.5 + 3 * (1 - exp(-$0 / 25)) }
        return ProbeReport(cell: cell, time: time, mean: mean, standardDeviation: sigma, sobol: sobol)
    }

    /// An estimate converging to `target` with a 95 % interval shrinking like 1/√(t+1).
    static func band(time: [Double], target: Double, k: Int, phase: Double, offset: Double) -> Band {
        var value: [Double] = []
        var lower: [Double] = []
        var upper: [Double] = []
        for t in time {
            let noise = 0.25 * sin(t * 0.7 + Double(k) * 1.3 + phase) / sqrt(t + 1)
            let v = target + noise + offset * sin(t / 10)
            let half = 0.9 / sqrt(t + 1) + 0.02
            value.append(v)
            lower.append(v - half)
            upper.append(v + half)
        }
        return Band(value: value, lower: lower, upper: upper)
    }
}

/// A report that exercises the edges: 10,000 steps with spikes and NaN gaps, nine parameters
/// (the palette wraps), hostile names, a chart with a single time step.
enum StressReport {
    static func make() -> StudyReport {
        let n = 10_000
        let time = (0..<n).map(Double.init)
        var mean = time.map { 10 + sin($0 / 400) + 0.2 * sin($0 / 7) }
        mean[2500] = 25
        for i in 6000..<6300 { mean[i] = .nan }
        let sigma = time.map { 0.5 + 0.3 * cos($0 / 900) }
        let names = (1...9).map { "parameter <\($0)> & co" }
        let sobol = names.enumerated().map { k, name in
            let first = SampleReport.band(time: time, target: 0.9 / Double(k + 2), k: k, phase: 0, offset: 0)
            let total = SampleReport.band(time: time, target: 1.0 / Double(k + 2), k: k, phase: 0, offset: 0.02)
            return SobolSeries(parameter: name, firstOrder: first, totalOrder: total)
        }
        let long = ProbeReport(cell: 42, time: time, mean: mean, standardDeviation: sigma, sobol: sobol)
        let single = ProbeReport(cell: 7, time: [3], mean: [1.5], standardDeviation: [0.2],
                                 sobol: [SobolSeries(parameter: names[0],
                                                     firstOrder: Band(value: [0.4], lower: [0.1], upper: [0.7]),
                                                     totalOrder: Band(value: [0.6], lower: [0.3], upper: [0.9]))])
        return StudyReport(title: "Stress <script>alert(1)</script> & report", generatedAt: "2025-01-01T00:00:00Z",
                           studyDirectory: "/tmp/a & b/<dir>",
                           summary: [SummaryItem(label: "Steps", value: "10,000")], parameterNames: names,
                           fields: [FieldReport(name: "u<script>&amp;", cellCount: 1_000_000, probes: [long, single])],
                           notes: ["Cell 42 has NaN values between steps 6000 and 6299 (shown as a gap)."])
    }
}
