import Foundation

/// Log levels, matching `study_options.verbosity` (0 errors only ... 3 trace).
public enum LogLevel: Int, Comparable, Sendable {
    case error = 0, info = 1, debug = 2, trace = 3
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    var tag: String { ["ERROR", "INFO", "DEBUG", "TRACE"][rawValue] }
}

/// One log file per server rank in the study directory; rank 0 also prints a one-line
/// summary of the events that matter to stdout (which the launcher keeps in server.out).
public final class ServerLog {
    private let handle: FileHandle
    private let rank: Int
    /// Messages above this level are skipped.
    public let verbosity: LogLevel

    /// Opens `<directory>/server.rank<rank>.log` for appending (a restarted server continues
    /// the log of the one before); a server that cannot keep its log fails at start rather
    /// than run silently.
    public init(directory: String, rank: Int, verbosity: Int) throws(ServerError) {
        self.rank = rank
        self.verbosity = LogLevel(rawValue: min(max(verbosity, 0), 3)) ?? .info
        let path = "\(directory)/server.rank\(rank).log"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let file = FileHandle(forWritingAtPath: path) else {
            throw .setup("cannot create the log file \(path) (does the study directory exist and is it writable?)")
        }
        file.seekToEndOfFile()
        handle = file
    }

    /// Appends a line to this rank's file if `level` is within the verbosity.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level <= verbosity else { return }
        let line = "\(Self.timestamp()) [rank \(rank)] \(level.tag) \(message())\n"
        handle.write(Data(line.utf8))
    }

    /// Logs at info and, on rank 0, prints the line to stdout for the study's summary.
    public func event(_ message: String) {
        log(.info, message)
        if rank == 0 {
            print("\(Self.timestamp()) melissa-server: \(message)")
            fflush(nil)
        }
    }

    /// Logs an error and prints it to stderr on every rank.
    public func error(_ message: String) {
        log(.error, message)
        FileHandle.standardError.write(Data("melissa-server[rank \(rank)]: error: \(message)\n".utf8))
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
