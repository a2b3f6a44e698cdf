import Glibc

/// What this server process ingested and over which wall-clock window: the first and last
/// accepted data message and the bytes and messages in between. summary.json's `ingest`
/// section (the data rate a study achieved) comes from it, merged over ranks.
///
/// Wall clock rather than monotonic: ranks on different nodes must agree on one window.
/// Covers this process only: a restarted server measures from its own first message.
public struct IngestWindow: Sendable, Equatable {
    /// Microseconds since the epoch of the first accepted message, `Int64.max` before any.
    public private(set) var firstMicros: Int64 = .max
    /// Microseconds since the epoch of the last accepted message, `Int64.min` before any.
    public private(set) var lastMicros: Int64 = .min
    /// Accepted messages and their bytes (header included, as on the wire).
    public private(set) var messages: Int64 = 0
    public private(set) var bytes: Int64 = 0

    public init() {}

    /// Counts one accepted message of `byteCount` bytes received at `micros`.
    public mutating func record(byteCount: Int, at micros: Int64) {
        if messages == 0 { firstMicros = micros }
        lastMicros = max(lastMicros, micros)
        messages += 1
        bytes += Int64(byteCount)
    }

    /// Rebuilds a window from reduced values (the MPI reduction in `closeConnection`).
    public init(firstMicros: Int64, lastMicros: Int64, messages: Int64, bytes: Int64) {
        (self.firstMicros, self.lastMicros, self.messages, self.bytes) = (firstMicros, lastMicros, messages, bytes)
    }

    /// Seconds from the first to the last accepted message; 0 with fewer than two.
    public var seconds: Double { messages < 2 ? 0 : Double(lastMicros - firstMicros) * 1e-6 }

    /// The summary.json section: the window, totals and rates (rates only when measurable).
    public var summary: [String: Any] {
        var s: [String: Any] = ["messages": Int(messages), "bytes": Int(bytes), "seconds": seconds]
        if messages > 0 {
            s["first_message_unix"] = Double(firstMicros) * 1e-6
            s["last_message_unix"] = Double(lastMicros) * 1e-6
        }
        if seconds > 0 {
            s["bytes_per_second"] = Double(bytes) / seconds
            s["messages_per_second"] = Double(messages) / seconds
        }
        return s
    }

    /// Microseconds since the epoch (CLOCK_REALTIME, a vDSO call: cheap enough per message).
    public static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
