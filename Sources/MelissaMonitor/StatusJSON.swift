import Foundation

/// Renders a `StudyStatus` as the `/status.json` body (format: docs/MONITORING.md).
public enum StatusJSON {
    /// Compact UTF-8 JSON with sorted keys, unescaped slashes, and non-finite numbers made finite.
    ///
    /// Sorted keys make the output byte-stable (golden test, diffs); slashes stay unescaped
    /// because study paths are full of them. JSON has no NaN or infinity, and JSONEncoder throws
    /// on them, so a non-finite time or rate becomes 0 and a non-finite ETA becomes `null`:
    /// the monitor must always answer, whatever the launcher's arithmetic produced.
    public static func render(_ status: StudyStatus) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Cannot fail once every Double is finite; the fallback is an empty object, still JSON.
        return (try? Array(encoder.encode(finite(status)))) ?? Array("{}".utf8)
    }

    /// `status` with every non-finite Double replaced as described in `render`.
    static func finite(_ status: StudyStatus) -> StudyStatus {
        var status = status
        func fix(_ value: Double) -> Double { value.isFinite ? value : 0 }
        status.startedAt = fix(status.startedAt)
        status.elapsedSeconds = fix(status.elapsedSeconds)
        status.throughputBytesPerSecond = fix(status.throughputBytesPerSecond)
        if let eta = status.etaSeconds, !eta.isFinite { status.etaSeconds = nil }
        for index in status.history.indices { status.history[index].t = fix(status.history[index].t) }
        return status
    }
}
