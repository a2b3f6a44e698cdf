import Glibc

/// The launcher's exit statuses (documented in docs/LAUNCHER.md).
public enum LauncherExitCode {
    /// The study ended and the server reported success.
    public static let success: Int32 = 0
    /// The study failed, the server died or went silent, or the launcher hit a runtime error.
    public static let studyFailed: Int32 = 1
    /// Bad command line or config, or the study could not be set up; nothing was started.
    public static let usageOrConfig: Int32 = 2

    /// 128 + the signal: 130 for SIGINT, 143 for SIGTERM (shell convention).
    public static func interrupted(by signal: Int32) -> Int32 { 128 + signal }
}
