/// The recent data rate from a growing byte count: bytes over the last `window` seconds, so
/// the terminal and the status page show what is happening now, not the study's average.
struct RateMeter {
    /// Seconds the rate is measured over.
    let window: Double
    private var samples: [(time: Double, bytes: UInt64)] = []

    /// A meter over the last `window` seconds.
    init(window: Double = 10) { self.window = window }

    /// Records the count at `time` and returns the rate in bytes per second (0 until two
    /// samples are at least a second apart; a count that went down, after a server restart, restarts the meter).
    mutating func record(bytes: UInt64, at time: Double) -> Double {
        if let last = samples.last, bytes < last.bytes { samples.removeAll() }
        samples.append((time, bytes))
        // Keep one sample older than the window, so the rate spans the whole window.
        while samples.count > 2 && time - samples[1].time >= window { samples.removeFirst() }
        guard let first = samples.first, time - first.time >= 1 else { return 0 }
        return Double(bytes - first.bytes) / (time - first.time)
    }
}
