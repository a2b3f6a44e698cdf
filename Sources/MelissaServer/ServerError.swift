/// A server failure with the context needed to act on it.
public enum ServerError: Error, CustomStringConvertible {
    case environment(String)
    case launcher(String)
    case setup(String)
    /// A broken internal invariant (a bug, never bad input): the server stops rather than guess.
    case invariant(String)

    public var description: String {
        switch self {
        case let .environment(m): return "environment: \(m)"
        case let .launcher(m): return "launcher: \(m)"
        case let .setup(m): return "setup: \(m)"
        case let .invariant(m): return "internal error: \(m)"
        }
    }
}
