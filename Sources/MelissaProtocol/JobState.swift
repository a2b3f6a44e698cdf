/// A client job's state as the launcher reports it to the server.
public enum JobState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Submitted, not running yet.
    case waiting = 0
    case running = 1
    /// Exited with code 0.
    case terminated = 2
    /// Exited non-zero, was killed, or could not start.
    case failed = 3

    public var description: String {
        switch self {
        case .waiting: return "waiting"
        case .running: return "running"
        case .terminated: return "terminated"
        case .failed: return "failed"
        }
    }
}
