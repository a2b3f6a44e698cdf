/// How a child process ended, decoded from a `waitpid` status.
public enum ExitStatus: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `exit(code)` or a return from main.
    case exited(code: Int32)
    /// Terminated by a signal (SIGKILL, SIGTERM, SIGSEGV...).
    case signaled(signal: Int32)

    /// Decodes a raw `waitpid` status; Glibc's W* macros are not visible from Swift.
    init(waitStatus raw: Int32) {
        let low = raw & 0x7f
        if low == 0 {
            self = .exited(code: (raw >> 8) & 0xff)
        } else {
            self = .signaled(signal: low)
        }
    }

    /// True for `exited(code: 0)`.
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// The code a shell would show: the exit code, or 128 + the signal number.
    public var shellCode: Int32 {
        switch self {
        case let .exited(code): return code
        case let .signaled(signal): return 128 + signal
        }
    }

    /// "exited with code 3" or "killed by signal 9 (SIGKILL)".
    public var description: String {
        switch self {
        case let .exited(code): return "exited with code \(code)"
        case let .signaled(signal): return "killed by signal \(signal)\(Self.name(of: signal).map { " (\($0))" } ?? "")"
        }
    }

    /// The usual name of the common signals (Linux numbering), for readable reasons.
    public static func name(of signal: Int32) -> String? {
        switch signal {
        case 1: return "SIGHUP"
        case 2: return "SIGINT"
        case 3: return "SIGQUIT"
        case 4: return "SIGILL"
        case 6: return "SIGABRT"
        case 7: return "SIGBUS"
        case 8: return "SIGFPE"
        case 9: return "SIGKILL"
        case 11: return "SIGSEGV"
        case 13: return "SIGPIPE"
        case 14: return "SIGALRM"
        case 15: return "SIGTERM"
        case 24: return "SIGXCPU"
        default: return nil
        }
    }
}
