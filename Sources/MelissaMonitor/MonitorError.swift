/// Why a `MonitorServer` could not be created or started.
public enum MonitorError: Error, Equatable, CustomStringConvertible {
    /// The token was empty: the monitor never runs unauthenticated.
    case emptyToken
    /// The listening socket could not be bound (port in use, bad address, no permission...).
    case bindFailed(host: String, port: Int, reason: String)
    /// `start()` was called on a server that was already started or stopped; a server runs once.
    case alreadyStarted

    /// One line for the launcher's log.
    public var description: String {
        switch self {
        case .emptyToken:
            return "monitor: the access token is empty; refusing to serve the study status unauthenticated"
        case .bindFailed(let host, let port, let reason):
            return "monitor: cannot listen on \(host):\(port): \(reason)"
        case .alreadyStarted:
            return "monitor: start() called on a server that was already started or stopped"
        }
    }
}
