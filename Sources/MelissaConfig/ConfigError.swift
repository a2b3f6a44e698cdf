/// One problem found in a config: where it is (a key path such as `launcher_config.job_limit`) and what is wrong.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// Dotted key path with `[i]` for array elements; empty for the top level of the file.
    public let keyPath: String
    /// What was wrong: expected versus actual type, allowed range or values, or a suggestion.
    public let message: String

    /// Creates an issue at `keyPath` (empty for the top level).
    public init(keyPath: String, message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    /// `<keyPath>: <message>`, or just the message for the top level.
    public var description: String {
        keyPath.isEmpty ? message : "\(keyPath): \(message)"
    }
}

/// Every problem the validator found in one config, sorted by key path (array indices numerically).
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file name or label the config came from, printed at the start of each line.
    public let source: String
    /// All issues, sorted by key path; issues on the same path keep the order they were found in.
    public let issues: [ConfigIssue]

    /// Creates an error for `source`; the issues are sorted by key path.
    public init(source: String, issues: [ConfigIssue]) {
        self.source = source
        self.issues = issues.enumerated().sorted { lhs, rhs in
            switch ConfigPath.compareRendered(lhs.element.keyPath, rhs.element.keyPath) {
            case .orderedAscending: return true
            case .orderedDescending: return false
            case .orderedSame: return lhs.offset < rhs.offset
            }
        }.map(\.element)
    }

    /// One issue per line: `<file>: <keyPath>: <message>`.
    public var description: String {
        issues.map { "\(source): \($0.description)" }.joined(separator: "\n")
    }
}
