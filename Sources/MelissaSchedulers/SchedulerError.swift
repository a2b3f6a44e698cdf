import Glibc

/// Why a scheduler or a subprocess could not be set up or started.
public enum SchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A program was not found on PATH (or at the given path).
    case executableNotFound(name: String, searched: String)
    /// An output or input file could not be opened for a child.
    case cannotOpen(path: String, errno: Int32)
    /// `posix_spawn` (or one of its setup calls) failed.
    case spawnFailed(executable: String, call: String, errno: Int32)
    /// A job's client script is missing or not executable.
    case notExecutable(path: String)
    /// The config names a scheduler this build does not implement.
    case unsupportedScheduler(String)

    /// One line naming the program or file and the system's reason.
    public var description: String {
        switch self {
        case let .executableNotFound(name, searched):
            return "\(name) not found (searched \(searched.isEmpty ? "an empty PATH" : searched))"
        case let .cannotOpen(path, code):
            return "cannot open \(path): \(Self.text(code))"
        case let .spawnFailed(executable, call, code):
            return "cannot start \(executable): \(call): \(Self.text(code))"
        case let .notExecutable(path):
            return "\(path) does not exist or is not an executable file"
        case let .unsupportedScheduler(name):
            return "scheduler \"\(name)\" is not supported (supported: openmpi, slurm, oar)"
        }
    }

    static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
}
