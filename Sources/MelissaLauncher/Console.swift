import Glibc

/// The launcher's output: timestamped log lines on stdout, errors on stderr, and on a
/// terminal one progress line rewritten in place.
///
/// Lines are written with write(2) straight to the descriptors (Swift 6 forbids the `stdout`
/// global, and nothing is buffered, so a line is visible the moment it is logged even when
/// stdout is a pipe read by a test).
final class Console {
    /// Log levels, compared with `launcher_config.verbosity`.
    enum Level: Int, Comparable {
        case error = 0, notice = 1, info = 2, debug = 3
        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    private let verbosity: Int
    /// True when stdout is a terminal: progress is a status line, not log lines.
    let interactive: Bool
    /// The status line currently on screen, to erase before a log line and redraw after it.
    private var status: String?
    /// The last counts logged in non-interactive mode, and when.
    private var lastLoggedCounts: ProgressCounts?
    private var lastLoggedAt = -Double.infinity
    /// In a log file, a line per finished or failed simulation is news; the running count
    /// flickers at every job hand-over, so it is only refreshed this often (seconds).
    private let runningRefreshPeriod = 10.0

    /// `interactive` defaults to whether stdout is a terminal.
    init(verbosity: Int, interactive: Bool = isatty(1) == 1) {
        self.verbosity = verbosity
        self.interactive = interactive
    }

    /// Logs `message` to stdout when `level` is within the verbosity (errors go to `error`).
    func log(_ level: Level, _ message: String) {
        guard level.rawValue <= verbosity else { return }
        emit(fd: 1, "\(Self.timestamp()) melissa-launcher: \(message)")
    }

    /// A problem worth attention that does not stop the launcher; shown from verbosity 1.
    func warning(_ message: String) { log(.notice, "warning: \(message)") }

    /// An error, always shown, on stderr.
    func error(_ message: String) {
        emit(fd: 2, "\(Self.timestamp()) melissa-launcher: error: \(message)")
    }

    /// Raw lines on stderr (server.err's tail), always shown.
    func errorDetail(_ lines: [String]) {
        for line in lines { emit(fd: 2, "    \(line)") }
    }

    /// Shows progress: rewrites the status line on a terminal, else logs the counts if they changed.
    func progress(_ counts: ProgressCounts, elapsed: Double) {
        guard verbosity >= Level.notice.rawValue else { return }
        if interactive {
            let line = ProgressDisplay.statusLine(counts, elapsed: elapsed)
            status = line
            Self.write(fd: 1, "\r\u{1B}[K" + line)
        } else if counts != lastLoggedCounts {
            let news = counts.finished != lastLoggedCounts?.finished || counts.failed != lastLoggedCounts?.failed
                || counts.total != lastLoggedCounts?.total
            guard news || elapsed - lastLoggedAt >= runningRefreshPeriod else { return }
            lastLoggedCounts = counts
            lastLoggedAt = elapsed
            log(.notice, ProgressDisplay.summary(counts))
        }
    }

    /// Ends the status line with a newline so the shell prompt starts on a fresh line.
    func finish() {
        if interactive, status != nil {
            Self.write(fd: 1, "\n")
            status = nil
        }
    }

    /// Writes one line, keeping the status line below it on a terminal.
    private func emit(fd: Int32, _ line: String) {
        if interactive, status != nil { Self.write(fd: 1, "\r\u{1B}[K") }
        Self.write(fd: fd, line + "\n")
        if interactive, let status { Self.write(fd: 1, status) }
    }

    /// write(2) until everything is out; gives up silently if the reader went away (EPIPE).
    static func write(fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    /// `2026-11-22T05:01:02Z` (UTC, second precision).
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
