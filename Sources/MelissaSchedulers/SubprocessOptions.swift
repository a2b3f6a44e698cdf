/// Where a child's standard output or standard error goes.
public enum OutputDestination: Equatable, Sendable {
    /// /dev/null.
    case discard
    /// A file, created with mode 0644 if missing and appended to, so a re-run of the same
    /// simulation keeps the earlier attempt's output above the new one.
    case file(String)
    /// The launcher's own descriptor (tests, debugging).
    case inherit
}

/// Everything `Subprocess.spawn` needs to start one program.
public struct SubprocessOptions: Equatable, Sendable {
    /// Path of the program (not searched on PATH: see `ExecutableSearch`).
    public var executable: String
    /// Arguments after argv[0], passed as they are: no shell, so spaces need no quoting.
    public var arguments: [String]
    /// Variables set (or replaced) on top of the launcher's own environment.
    public var environmentOverrides: [String: String]
    /// Directory the child starts in; nil keeps the launcher's.
    public var workingDirectory: String?
    /// Where the child's stdout goes.
    public var standardOutput: OutputDestination
    /// Where the child's stderr goes.
    public var standardError: OutputDestination

    /// Describes a child; stdin is always /dev/null (jobs are not interactive).
    public init(executable: String, arguments: [String] = [], environmentOverrides: [String: String] = [:],
                workingDirectory: String? = nil, standardOutput: OutputDestination = .discard,
                standardError: OutputDestination = .discard) {
        self.executable = executable
        self.arguments = arguments
        self.environmentOverrides = environmentOverrides
        self.workingDirectory = workingDirectory
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}
