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
    /// Process CPU time (all threads, libzmq's I/O thread included) spent from the first
    /// accepted message to the last CPU sample, and the bytes accepted in that span: the
    /// server's CPU cost per byte, which other load on the machine does not change.
    public private(set) var cpuMicros: Int64 = 0
    public private(set) var cpuBytes: Int64 = 0
    private var cpuAtFirst: Int64 = 0
    private var bytesAtFirst: Int64 = 0

    /// Accepted messages between two CPU samples: `getrusage` is a system call, too costly
    /// for every message.
    static let cpuSampleInterval: Int64 = 256

    public init() {}

    /// Counts one accepted message of `byteCount` bytes received at `micros`.
    public mutating func record(byteCount: Int, at micros: Int64) {
        if messages == 0 {
            firstMicros = micros
            cpuAtFirst = Self.processCPUMicros()
            bytesAtFirst = bytes + Int64(byteCount)
        }
        lastMicros = max(lastMicros, micros)
        messages += 1
        bytes += Int64(byteCount)
        if messages % Self.cpuSampleInterval == 0 {
            cpuMicros = Self.processCPUMicros() - cpuAtFirst
            cpuBytes = bytes - bytesAtFirst
        }
    }

    /// Rebuilds a window from reduced values (the MPI reduction in `closeConnection`).
    public init(firstMicros: Int64, lastMicros: Int64, messages: Int64, bytes: Int64,
                cpuMicros: Int64 = 0, cpuBytes: Int64 = 0) {
        (self.firstMicros, self.lastMicros, self.messages, self.bytes) = (firstMicros, lastMicros, messages, bytes)
        (self.cpuMicros, self.cpuBytes) = (cpuMicros, cpuBytes)
    }

    /// User + system CPU time of this process, in microseconds.
    static func processCPUMicros() -> Int64 {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return (Int64(usage.ru_utime.tv_sec) + Int64(usage.ru_stime.tv_sec)) * 1_000_000
            + Int64(usage.ru_utime.tv_usec) + Int64(usage.ru_stime.tv_usec)
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
        if cpuBytes > 0 {
            s["cpu_seconds"] = Double(cpuMicros) * 1e-6
            s["cpu_seconds_per_gb"] = Double(cpuMicros) * 1e-6 / (Double(cpuBytes) / 1e9)
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
