import Foundation
import MelissaReport
import MelissaServer

/// The end-of-study report of a training study (`report.html`, docs/REPORT.md): the summary
/// and the loss curves, training and validation, against the step.
extension DeepLearningServer {
    /// Rank 0: writes `report.html` from the loss history and the study's summary.
    func writeReport(_ summary: StudySummary) throws {
        let steps = history.map { Double($0.batch) }
        // Losses span orders of magnitude: log10, and a gap where a loss is missing or not positive.
        func log10s(_ values: [Double?]) -> [Double] {
            values.map { value in value.flatMap { $0 > 0 && $0.isFinite ? log10($0) : nil } ?? .nan }
        }
        var series = [ChartSeries(label: "training", x: steps, y: log10s(history.map(\.trainLoss)), colorIndex: 0)]
        if history.contains(where: { $0.validLoss != nil }) {
            series.append(ChartSeries(label: "validation", x: steps, y: log10s(history.map(\.validLoss)), colorIndex: 1))
        }
        let chart = SVGLineChart(title: "Loss",
                                 subtitle: "training: mean over the steps since the previous report; validation: mean over the validation set",
                                 xLabel: "step", yLabel: "log10 loss", series: series, width: 640)
        let last = history.last
        var rows = [
            SummaryItem(label: "Simulations finished", value: "\(summary.finished) / \(summary.simulations)"),
            SummaryItem(label: "Simulations failed", value: "\(summary.failed)"),
            SummaryItem(label: "Server ranks (trainers)", value: "\(summary.serverRanks)"),
            SummaryItem(label: "Buffer", value: "\(settings.buffer.rawValue), \(settings.bufferSize) samples per rank"),
            SummaryItem(label: "Steps per rank", value: trainedBatchesPerRank.map(String.init).joined(separator: ", ")),
            SummaryItem(label: "Samples trained", value: "\(samplesTrainedPerRank.reduce(0, +))"),
            SummaryItem(label: "Wall time", value: String(format: "%.1f s", summary.wallTime)),
        ]
        if let last {
            rows.append(SummaryItem(label: "Last training loss", value: String(format: "%.4g", last.trainLoss)))
            if let valid = last.validLoss { rows.append(SummaryItem(label: "Last validation loss", value: String(format: "%.4g", valid))) }
        }
        rows.append(SummaryItem(label: "Model", value: trainingEnd?.modelPath ?? "not saved"))
        let report = StudyReport(title: "Deep learning: \(config.studyOptions.fieldNames.joined(separator: ", "))",
                                 generatedAt: ISO8601DateFormatter().string(from: Date()), studyDirectory: studyDirectory,
                                 summary: rows, notes: summary.errors,
                                 chartGroups: [ChartGroup(title: "Training", charts: history.isEmpty ? [] : [chart])])
        try ReportRenderer.write(report, to: ReportRenderer.defaultPath(studyDirectory: studyDirectory))
    }
}
