/// Why a config could not be turned into a `StudyConfig`: unreadable, not UTF-8 JSON, or invalid.
public enum ConfigLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be opened or read (missing, a directory, no permission...).
    case unreadable(path: String, reason: String)
    /// The file is larger than `StudyConfig.maximumFileSize` bytes.
    case tooLarge(source: String, limit: Int)
    /// The bytes are not valid UTF-8; `offset` is the 0-based byte offset of the first bad byte.
    case invalidUTF8(source: String, offset: Int, line: Int, column: Int)
    /// The text is not valid JSON (after removing comments); line and column are 1-based.
    case invalidJSON(source: String, line: Int, column: Int, message: String)
    /// The JSON is well formed but breaks the schema; carries every issue found.
    case invalid(ConfigError)

    /// The exit status the launcher and server use for any config error.
    public static let exitCode: Int32 = 2

    /// The issues when the case is `.invalid`, else an empty array.
    public var issues: [ConfigIssue] {
        if case .invalid(let error) = self { return error.issues }
        return []
    }

    /// Compiler-style text, one problem per line, e.g. `config.json:12:5: invalid JSON: ...`.
    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read config: \(reason)"
        case let .tooLarge(source, limit):
            return "\(source): config too large: more than \(limit) bytes (\(limit / (1024 * 1024)) MiB)"
        case let .invalidUTF8(source, offset, line, column):
            return "\(source):\(line):\(column): invalid UTF-8 at byte offset \(offset); the config must be UTF-8 text"
        case let .invalidJSON(source, line, column, message):
            return "\(source):\(line):\(column): invalid JSON: \(message)"
        case let .invalid(error):
            return error.description
        }
    }
}
