/// The study counters the progress display shows.
struct ProgressCounts: Equatable, Sendable {
    /// Simulations the server counted as finished.
    var finished: Int = 0
    /// Simulations the server counted as failed.
    var failed: Int = 0
    /// Simulations in the study.
    var total: Int = 0
    /// Simulations in jobs the launcher sees running.
    var running: Int = 0
}

/// Formats progress; pure functions, so the text is testable without a terminal.
enum ProgressDisplay {
    /// `simulations: 12/20 done, 2 running, 0 failed | elapsed 00:01:23 | ETA 00:00:40`.
    static func statusLine(_ counts: ProgressCounts, elapsed: Double) -> String {
        "simulations: \(summary(counts)) | elapsed \(duration(elapsed)) | ETA \(eta(counts, elapsed: elapsed))"
    }

    /// `12/20 done, 2 running, 0 failed`: the non-terminal log form, printed on changes.
    /// A simulation whose data is complete counts as done while its processes are still
    /// exiting, so `running` never exceeds the simulations not yet done or failed.
    static func summary(_ counts: ProgressCounts) -> String {
        let running = min(counts.running, max(0, counts.total - counts.finished - counts.failed))
        return "\(counts.finished)/\(counts.total) done, \(running) running, \(counts.failed) failed"
    }

    /// Time left at the rate simulations have finished so far; "--" until one has finished.
    static func eta(_ counts: ProgressCounts, elapsed: Double) -> String {
        guard counts.finished > 0, elapsed > 0 else { return "--" }
        let remaining = max(0, counts.total - counts.finished - counts.failed)
        return duration(Double(remaining) * elapsed / Double(counts.finished))
    }

    /// HH:MM:SS (hours grow past 99 rather than wrap).
    static func duration(_ seconds: Double) -> String {
        let total = seconds.isFinite ? max(0, Int(seconds.rounded())) : 0
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return "\(pad(h)):\(pad(m)):\(pad(s))"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
