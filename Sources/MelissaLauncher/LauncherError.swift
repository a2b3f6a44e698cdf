import MelissaConfig

/// Why the launcher stopped before or while starting the study; each case knows its exit code.
enum LauncherError: Error, CustomStringConvertible {
    /// The command line is wrong.
    case usage(String)
    /// The config could not be read or is invalid (every issue is in the description).
    case config(ConfigLoadError)
    /// The study directory could not be prepared.
    case studyDirectory(path: String, message: String)
    /// A program the launcher needs is missing (mpirun, melissa-server).
    case missingProgram(String)
    /// A runtime failure after set-up (socket, spawning the server).
    case runtime(String)

    var exitCode: Int32 {
        switch self {
        case .usage, .config, .studyDirectory, .missingProgram: return LauncherExitCode.usageOrConfig
        case .runtime: return LauncherExitCode.studyFailed
        }
    }

    var description: String {
        switch self {
        case let .usage(message): return message
        case let .config(error): return error.description
        case let .studyDirectory(path, message): return "study directory \(path): \(message)"
        case let .missingProgram(message): return message
        case let .runtime(message): return message
        }
    }
}
