import Dispatch
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The launcher's HTTP status endpoint: serves a `StatusBoard` as HTML, JSON and Prometheus
/// metrics on its own threads, behind a token.
///
/// Built for a single-threaded C-style caller: `start()` and `stop()` are blocking calls made
/// from a plain thread (the launcher's poll loop), never from async code or an event loop.
///
/// Signals: the launcher blocks SIGINT/SIGTERM/SIGCHLD in every thread and reads them from a
/// signalfd, so the monitor must not touch them. The `ServiceGroup` here is given empty
/// `gracefulShutdownSignals` and `cancellationSignals`; swift-service-lifecycle then creates no
/// Dispatch signal source at all (`UnixSignalsSequence` maps each listed signal to one source,
/// and an empty list finishes at once). Hummingbird's `Application.run` uses its own inner
/// `ServiceGroup` whose configuration defaults to no signals either; only `runService()`
/// defaults to `[.sigterm, .sigint]`, which is why it is not used. Shutdown is `stop()`.
/// One side effect remains, from SwiftNIO: on Linux its first socket sets SIGPIPE to SIG_IGN
/// process-wide, which the launcher already does itself and resets for its children.
///
/// Threads: one NIO event-loop thread, created in `start()` by the calling thread, so it
/// inherits that thread's signal mask; request handlers run on Swift's global executor.
public final class MonitorServer: Sendable {
    private let board: StatusBoard
    private let host: String
    private let port: Int
    private let token: String
    /// The lifecycle, locked for the whole of `start()` and `stop()` so they never interleave.
    private let lifecycle = Mutex<Lifecycle>(.idle)

    private enum Lifecycle {
        case idle
        case running(group: ServiceGroup, finished: Latch)
        case stopped
    }

    /// A server for `board` on `host:port` (port 0: any free port), requiring `token`.
    ///
    /// Throws `MonitorError.emptyToken` for an empty token rather than trapping: the launcher
    /// reads the token from its configuration and should report, not crash.
    public init(board: StatusBoard, host: String = "127.0.0.1", port: Int, token: String) throws(MonitorError) {
        guard !token.isEmpty else { throw .emptyToken }
        self.board = board
        self.host = host
        self.port = port
        self.token = token
    }

    deinit {
        stop()
    }

    /// Starts serving on background threads and returns the bound port (the real one for port 0).
    ///
    /// Blocks until the socket is listening or binding failed; in the latter case every thread it
    /// started is gone again before `MonitorError.bindFailed` is thrown.
    public func start() throws(MonitorError) -> Int {
        try lifecycle.withLock { (state: inout Lifecycle) throws(MonitorError) -> Int in
            guard case .idle = state else { throw .alreadyStarted }
            state = .stopped  // Until it is known to be running: a failed start cannot be retried.

            var logger = Logger(label: "melissa.monitor")
            // Hummingbird logs every start at info; the launcher's output is for the study.
            logger.logLevel = .warning
            let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let outcome = Outcome()
            let bound = Latch()
            let finished = Latch()
            let app = Application(
                responder: MonitorResponder(board: board, token: token),
                // Idle keep-alive connections are closed after a minute so a forgotten
                // browser tab holds no socket for the whole study.
                server: .http1(configuration: .init(idleTimeout: .seconds(60))),
                configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    // Port 0 asks the kernel for a free port; the listening channel knows which one.
                    outcome.set(.success(channel.localAddress?.port ?? 0))
                    bound.signal()
                },
                eventLoopGroupProvider: .shared(eventLoops),
                logger: logger
            )
            var configuration = ServiceGroupConfiguration(
                services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
            // A client that never finishes its request cannot hold stop() for more than this.
            configuration.maximumGracefulShutdownDuration = .seconds(5)
            configuration.maximumCancellationDuration = .seconds(5)
            let group = ServiceGroup(configuration: configuration)

            let host = self.host, port = self.port
            Task.detached {
                do {
                    try await group.run()
                } catch {
                    // Only the first outcome counts: an error after a successful bind is a
                    // shutdown problem, not a bind failure.
                    outcome.set(.failure(.bindFailed(host: host, port: port, reason: "\(error)")))
                }
                outcome.set(.failure(.bindFailed(host: host, port: port, reason: "server stopped before listening")))
                try? await eventLoops.shutdownGracefully()
                bound.signal()
                finished.signal()
            }

            bound.wait()
            switch outcome.value! {
            case .success(let boundPort):
                state = .running(group: group, finished: finished)
                return boundPort
            case .failure(let error):
                finished.wait()
                throw error
            }
        }
    }

    /// Stops accepting, lets requests in flight finish (5 s at most), closes every connection,
    /// and returns once the socket and the event-loop thread are gone. Idempotent; a no-op
    /// before `start()`, after which the server can no longer be started.
    public func stop() {
        lifecycle.withLock { state in
            switch state {
            case .idle, .stopped:
                state = .stopped
            case .running(let group, let finished):
                state = .stopped
                Task.detached { await group.triggerGracefulShutdown() }
                finished.wait()
            }
        }
    }
}

/// The first result of a start attempt, set from the server's threads, read by `start()`.
private final class Outcome: Sendable {
    private let result = Mutex<Result<Int, MonitorError>?>(nil)

    /// Records `value` unless a result is already recorded.
    func set(_ value: Result<Int, MonitorError>) {
        result.withLock { if $0 == nil { $0 = value } }
    }

    /// The recorded result, if any.
    var value: Result<Int, MonitorError>? {
        result.withLock { $0 }
    }
}

/// A one-shot event a plain thread can block on; `signal()` may be called more than once.
///
/// A semaphore rather than an async primitive because its waiters are synchronous threads.
private final class Latch: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let signalled = Mutex(false)

    /// Wakes the waiter (once; later calls do nothing).
    func signal() {
        let first = signalled.withLock { wasSignalled in
            defer { wasSignalled = true }
            return !wasSignalled
        }
        if first { semaphore.signal() }
    }

    /// Blocks until `signal()` has been called.
    func wait() {
        semaphore.wait()
        // Leave the count at one so that a second wait() returns at once too.
        semaphore.signal()
    }
}
