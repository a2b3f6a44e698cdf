import Glibc

/// What one run of a batch-system command (`sbatch`, `squeue`, `oarsub`...) produced.
public struct CommandResult: Equatable, Sendable {
    /// How it ended; nil when it was killed for exceeding its timeout.
    public var status: ExitStatus?
    /// Everything it wrote to stdout.
    public var output: String
    /// Everything it wrote to stderr.
    public var error: String

    /// Creates a result (tests build them to feed parsers).
    public init(status: ExitStatus?, output: String, error: String) {
        self.status = status
        self.output = output
        self.error = error
    }

    /// Exited with code 0.
    public var succeeded: Bool { status == .exited(code: 0) }

    /// "exited with code 1: sbatch: error: ..." or "timed out", for error messages.
    public var failureSummary: String {
        let what = status.map(\.description) ?? "timed out"
        let text = error.trimmedLines.isEmpty ? output.trimmedLines : error.trimmedLines
        return text.isEmpty ? what : "\(what): \(text)"
    }
}

/// How often and how patiently a scheduler command is tried.
public struct RetryPolicy: Equatable, Sendable {
    /// Tries in all (1 = no retry).
    public var attempts: Int
    /// Seconds before the first retry; each later wait doubles.
    public var firstDelay: Double
    /// Seconds one try may take before it is killed and counts as failed.
    public var timeout: Double

    /// Creates a policy; `attempts` is at least 1.
    public init(attempts: Int, firstDelay: Double, timeout: Double) {
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
        self.timeout = timeout
    }

    /// The launcher's default: 4 tries over ~3.5 s of back-off, 30 s per try (a busy
    /// slurmctld answers within seconds; one that takes longer is stuck).
    public static let standard = RetryPolicy(attempts: 4, firstDelay: 0.5, timeout: 30)

    /// Seconds to wait after failed try number `attempt` (1-based): 0.5, 1, 2, ...
    public func delay(after attempt: Int) -> Double { firstDelay * Double(1 << min(max(attempt - 1, 0), 16)) }
}

/// Runs batch-system commands as argument lists (never through a shell), with a timeout,
/// and retries failures with exponential back-off.
///
/// Output goes through two files in `scratchDirectory` rather than pipes: a command that
/// writes more than a pipe holds cannot block, and no extra thread is needed to drain it.
public final class SchedulerCommand {
    /// Where the captured stdout/stderr files live (the study's scheduler folder).
    public let scratchDirectory: String
    /// Timeout and retries.
    public let policy: RetryPolicy
    /// Extra environment for every command (tests point the commands at fakes this way).
    public let environment: [String: String]
    private var serial = 0

    /// Creates a runner that keeps its capture files in `scratchDirectory`, created at first
    /// use (the launcher builds its scheduler before the study directory exists).
    public init(scratchDirectory: String, policy: RetryPolicy = .standard, environment: [String: String] = [:]) {
        self.scratchDirectory = scratchDirectory
        self.policy = policy
        self.environment = environment
    }

    /// Creates `scratchDirectory` (mode 0700) if it does not exist yet.
    public func ensureScratchDirectory() {
        mkdir(scratchDirectory, 0o700)
    }

    /// Runs `executable arguments...` once, killing it after `policy.timeout` seconds.
    public func runOnce(_ executable: String, _ arguments: [String]) -> CommandResult {
        serial += 1
        ensureScratchDirectory()
        let outPath = "\(scratchDirectory)/command.\(serial % 2).out"
        let errPath = "\(scratchDirectory)/command.\(serial % 2).err"
        unlink(outPath)
        unlink(errPath)
        let process: Subprocess
        do {
            process = try Subprocess.spawn(SubprocessOptions(
                executable: executable, arguments: arguments, environmentOverrides: environment,
                standardOutput: .file(outPath), standardError: .file(errPath)))
        } catch {
            return CommandResult(status: .exited(code: 127), output: "", error: error.description)
        }
        var status = process.wait(timeout: policy.timeout)
        if status == nil {
            process.terminate(grace: 1)
            status = nil
        }
        return CommandResult(status: status, output: Self.read(outPath), error: Self.read(errPath))
    }

    /// Runs the command until it succeeds or `policy.attempts` tries failed, sleeping
    /// `policy.delay(after:)` between tries. `retryable` decides whether a failure is worth
    /// another try (default: every failure); the last result is returned either way.
    /// `beforeRetry` runs before each retry and may end the loop with a result of its own
    /// (a submission that timed out may have been accepted: look before submitting again).
    public func run(_ executable: String, _ arguments: [String],
                    retryable: (CommandResult) -> Bool = { _ in true },
                    beforeRetry: (CommandResult) -> CommandResult? = { _ in nil }) -> (result: CommandResult, attempts: Int) {
        var result = runOnce(executable, arguments)
        var attempt = 1
        while !result.succeeded && attempt < policy.attempts && retryable(result) {
            MonotonicClock.sleep(policy.delay(after: attempt))
            if let settled = beforeRetry(result) { return (settled, attempt) }
            attempt += 1
            result = runOnce(executable, arguments)
        }
        return (result, attempt)
    }

    /// The whole file as text ("" when missing); capped at 4 MiB, more than any status listing.
    static func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 4 << 20 {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    /// Lines without surrounding blanks, empty lines dropped, joined by " | " (one log line).
    var trimmedLines: String {
        split(whereSeparator: \.isNewline).map { $0.trimmed }.filter { !$0.isEmpty }.joined(separator: " | ")
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace (this module does without Foundation).
    var trimmed: String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
