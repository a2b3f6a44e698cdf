import Glibc
import MelissaMonitor
import MelissaProtocol
import MelissaTransport

/// The launcher's live study status for the HTTP endpoint (`launcher_config.http_port`):
/// a `StatusBoard` the loop refreshes (at most twice a second: building the job table costs
/// O(groups)) and the `MonitorServer` that serves it from its own threads.
final class StatusPublisher {
    /// Seconds between two refreshes of the board, and between two history samples.
    static let refreshPeriod = 0.5
    static let samplePeriod = 1.0

    let board: StatusBoard
    private let server: MonitorServer
    /// `http://host:port/`, for the log (the token is not in it).
    let url: String
    private let startMonotonic: Double
    private var lastRefresh = -Double.infinity
    private var lastSample = -Double.infinity

    /// Starts the endpoint; the token is `settings.httpToken`, or a random one written to
    /// `settings.monitorTokenPath` (0600). Throws with the address when it cannot listen.
    init(settings: LauncherSettings, startMonotonic: Double) throws(LauncherError) {
        guard let port = settings.httpPort else { throw .runtime("launcher_config.http_port is not set") }
        let token: String
        if let configured = settings.httpToken {
            token = configured
        } else {
            token = Self.randomToken()
            if let (call, code) = StudyKeys.writePrivateFile(token + "\n", to: settings.monitorTokenPath, exclusive: false) {
                throw .runtime("cannot write the status token to \(settings.monitorTokenPath): \(call): \(String(cString: strerror(code)))")
            }
        }
        var wallClock = timespec()
        clock_gettime(CLOCK_REALTIME, &wallClock)
        let started = Double(wallClock.tv_sec) + Double(wallClock.tv_nsec) / 1e9
        board = StatusBoard(StudyStatus(study: settings.studyDirectory, scheduler: settings.scheduler, startedAt: started,
                                        simulations: .init(total: settings.simulationCount)))
        do {
            server = try MonitorServer(board: board, host: settings.httpHost, port: port, token: token)
            let bound = try server.start()
            let host = settings.httpHost.contains(":") ? "[\(settings.httpHost)]" : settings.httpHost
            url = "http://\(host):\(bound)/"
        } catch {
            throw .runtime("cannot serve the study status (launcher_config.http_port \(port), http_host \(settings.httpHost)): \(error)")
        }
        self.startMonotonic = startMonotonic
    }

    /// What the loop knows, copied onto the board (skipped when refreshed less than
    /// `refreshPeriod` ago, unless `force`).
    func refresh(now: Double, state: String, counts: ProgressCounts, book: JobBook, server serverStatus: StudyStatus.ServerStatus,
                 force: Bool = false) {
        guard force || now - lastRefresh >= Self.refreshPeriod else { return }
        lastRefresh = now
        let elapsed = now - startMonotonic
        let rows = book.groups.keys.sorted().compactMap { id -> StudyStatus.JobRow? in
            guard let group = book.groups[id] else { return nil }
            return StudyStatus.JobRow(group: id, simulations: group.members.map(\.simulationID), state: "\(group.state)",
                                      exitCode: group.exitCode, reason: group.reason, batchJob: group.label)
        }
        let takeSample = now - lastSample >= Self.samplePeriod || force
        if takeSample { lastSample = now }
        board.update { status in
            status.state = state
            status.elapsedSeconds = elapsed
            status.simulations = .init(total: counts.total, finished: counts.finished,
                                       running: min(counts.running, max(0, counts.total - counts.finished - counts.failed)),
                                       waiting: counts.waiting, failed: counts.failed)
            status.bytesReceived = counts.bytes
            status.throughputBytesPerSecond = counts.throughput
            status.etaSeconds = ProgressDisplay.etaSeconds(counts, elapsed: elapsed)
            status.server = serverStatus
            status.jobs = rows
            status.training = counts.training
            if takeSample {
                status.record(sample: .init(t: elapsed, bytesReceived: counts.bytes, finished: counts.finished))
            }
        }
    }

    /// Stops serving (requests in flight get a few seconds).
    func stop() { server.stop() }

    /// 32 hex digits from the system's random source (`SystemRandomNumberGenerator` reads
    /// the kernel's getrandom, which is cryptographically secure).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
