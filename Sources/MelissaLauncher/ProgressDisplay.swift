import MelissaMonitor

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
    /// Simulations requested and not running yet (queued for a slot, or waiting in the scheduler).
    var waiting: Int = 0
    /// Data bytes the server has received (its last progress message).
    var bytes: UInt64 = 0
    /// Recent data rate, bytes per second.
    var throughput: Double = 0
    /// A training flavor's loss reports (its `training` messages), nil for other flavors.
    var training: StudyStatus.Training?
}

/// Formats progress; pure functions, so the text is testable without a terminal.
enum ProgressDisplay {
    /// `simulations: 12/20 done, 2 running, 3 waiting, 0 failed | 1.2 GB at 85.0 MB/s | elapsed 00:01:23 | ETA 00:00:40`.
    static func statusLine(_ counts: ProgressCounts, elapsed: Double) -> String {
        "simulations: \(summary(counts)), \(counts.waiting) waiting | \(bytes(counts.bytes)) at \(bytes(UInt64(max(0, counts.throughput))))/s"
            + " | elapsed \(duration(elapsed)) | ETA \(eta(counts, elapsed: elapsed))"
    }

    /// 1536 -> "1.5 kB" (decimal units, as network rates are quoted).
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
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
        etaSeconds(counts, elapsed: elapsed).map(duration) ?? "--"
    }

    /// Seconds left at the rate simulations have finished so far; nil until one has finished.
    static func etaSeconds(_ counts: ProgressCounts, elapsed: Double) -> Double? {
        guard counts.finished > 0, elapsed > 0 else { return nil }
        let remaining = max(0, counts.total - counts.finished - counts.failed)
        return Double(remaining) * elapsed / Double(counts.finished)
    }

    /// HH:MM:SS (hours grow past 99 rather than wrap).
    static func duration(_ seconds: Double) -> String {
        let total = seconds.isFinite ? max(0, Int(seconds.rounded())) : 0
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return "\(pad(h)):\(pad(m)):\(pad(s))"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
