import Glibc
import MelissaMonitor
import MelissaProtocol
import MelissaSchedulers
import MelissaTransport

/// The running launcher: one poll loop over the server's socket and a signalfd, driving the
/// scheduler and watching the server process until the study ends.
///
/// Everything happens on one thread, so no state here needs a lock. The loop never spins:
/// it sleeps in `zmq_poll` until a message, a signal (SIGCHLD included, so a job's exit is
/// noticed at once), or the nearest deadline (ping, liveness, shutdown, `timer_delay`).
final class Launcher {
    /// Where the study is in its life.
    private enum Phase {
        /// Normal operation.
        case running
        /// `studyEnd` received: waiting for the server process to exit, then `exitCode`.
        case awaitingServerExit(exitCode: Int32, deadline: Double)
        /// SIGINT/SIGTERM received and `.stop` sent: waiting for `studyEnd` or the server's exit.
        case stopping(signal: Int32, deadline: Double)
    }

    /// How long a server that exited gets for its last messages to arrive before its exit
    /// counts as a crash: the final `studyEnd` can still sit in ZeroMQ's I/O thread when
    /// the SIGCHLD arrives.
    private static let exitMessageGrace = 1.0

    private let settings: LauncherSettings
    private let console: Console
    private let scheduler: any JobScheduler
    private let channel: ServerChannel
    private let signals: SignalFD
    private var server: Subprocess
    /// Starts a server process; `restarts` > 0 (or a resumed study) starts it in restart mode.
    private let startServer: (_ restarts: Int) throws -> Subprocess
    /// Clears what the batch system still holds of a stopped server (its Slurm job).
    private let releaseServer: (_ log: (String) -> Void) -> Void
    /// Server restarts so far, and when the current server process was started.
    private var restarts = 0
    private var serverStart: Double
    /// The server's processes as seen at its hello: still found if its mpirun dies first.
    private var serverProcesses: [ProcessEntry] = []
    private var poller = ZMQPoller()
    private let channelItem: Int
    private let signalItem: Int

    private var book: JobBook
    private let startTime: Double
    private var phase = Phase.running
    /// The ROUTER identity of the server's rank 0, known once it said hello.
    private var serverIdentity: [UInt8]?
    /// The session id of the current server process (from its hello).
    private var serverSession: UInt64?
    /// Every request of the server settled so far, with its answer.
    private var ledger = RequestLedger()
    /// The last message the server sent and when, for the log when it goes silent.
    private var lastServerMessage: (summary: String, time: Double)?
    private var lastHeard: Double
    private var nextPing: Double
    /// When the server process was first seen gone without a `studyEnd`.
    private var serverExitSeen: Double?
    private var counts: ProgressCounts
    /// The recent data rate for the progress line and the status page.
    private var rate = RateMeter()
    /// The HTTP status endpoint, when `http_port` is set.
    private let publisher: StatusPublisher?
    /// Server ranks, from the current server's hello.
    private var serverRanks = 0

    /// Takes over a started server and a bound channel; `run()` does the rest.
    init(settings: LauncherSettings, console: Console, scheduler: any JobScheduler,
         channel: ServerChannel, signals: SignalFD, server: Subprocess, startTime: Double,
         startServer: @escaping (_ restarts: Int) throws -> Subprocess,
         releaseServer: @escaping (_ log: (String) -> Void) -> Void = { _ in },
         publisher: StatusPublisher? = nil) {
        self.settings = settings
        self.console = console
        self.scheduler = scheduler
        self.channel = channel
        self.signals = signals
        self.server = server
        self.startServer = startServer
        self.releaseServer = releaseServer
        self.publisher = publisher
        self.startTime = startTime
        serverStart = startTime
        book = JobBook(jobLimit: settings.jobLimit)
        lastHeard = startTime
        nextPing = startTime
        counts = ProgressCounts(total: settings.simulationCount)
        channelItem = poller.add(channel.socket)
        signalItem = poller.add(fileDescriptor: signals.fileDescriptor)
    }

    /// Runs until the study ends, the server dies, or a signal stops it; returns the exit code.
    func run() -> Int32 {
        while true {
            let ready: [Bool]
            do {
                ready = try poller.poll(timeoutMilliseconds: pollTimeoutMilliseconds(now: MonotonicClock.now()))
            } catch {
                console.error("poll failed: \(error)")
                return finish(LauncherExitCode.studyFailed)
            }
            // Signals first: a SIGCHLD read here and a child exit after it still leave a
            // pending SIGCHLD for the next poll, so no exit is missed.
            if ready[signalItem], let code = handleSignals() { return code }
            if ready[channelItem], let code = handleServerMessages() { return code }
            pumpJobs()
            let now = MonotonicClock.now()
            if let code = checkServer(now: now) { return code }
            sendPingIfDue(now: now)
            updateCounts(now: now)
            console.progress(counts, elapsed: now - startTime)
            publish(now: now)
        }
    }

    private func updateCounts(now: Double) {
        counts.running = book.runningSimulations
        counts.waiting = book.waitingSimulations
        counts.throughput = rate.record(bytes: counts.bytes, at: now)
    }

    /// Refreshes the status page's board (paced by `StatusPublisher`).
    private func publish(now: Double, final: String? = nil) {
        guard let publisher else { return }
        let state: String
        let serverState: String
        switch phase {
        case .running:
            state = serverIdentity == nil ? (restarts > 0 ? "restarting" : "starting") : "running"
            serverState = serverIdentity == nil ? "starting" : "running"
        case .awaitingServerExit:
            state = "finishing"
            serverState = "finishing"
        case .stopping:
            state = "stopping"
            serverState = "stopping"
        }
        publisher.refresh(now: now, state: final ?? state, counts: counts, book: book,
                          server: .init(ranks: serverRanks, restarts: restarts,
                                        state: final == nil ? serverState : "exited", pid: server.pid),
                          force: final != nil)
    }

    // MARK: - timing

    /// Sleep until the nearest thing that needs doing, at most `timer_delay`.
    private func pollTimeoutMilliseconds(now: Double) -> Int {
        var deadline = now + settings.timerDelay
        if serverIdentity != nil {
            deadline = min(deadline, nextPing, lastHeard + settings.silenceLimit)
        } else {
            deadline = min(deadline, serverStart + settings.serverTimeout + settings.helloAllowance)
        }
        if let seen = serverExitSeen { deadline = min(deadline, seen + Self.exitMessageGrace) }
        switch phase {
        case .running: break
        case let .awaitingServerExit(_, end), let .stopping(_, end): deadline = min(deadline, end)
        }
        return max(1, Int(((deadline - now) * 1000).rounded(.up)))
    }

    private func sendPingIfDue(now: Double) {
        guard let identity = serverIdentity, now >= nextPing else { return }
        nextPing = now + settings.pingPeriod
        send(.ping, to: identity)
    }

    // MARK: - signals

    private func handleSignals() -> Int32? {
        while let signal = signals.next() {
            // SIGCHLD only wakes the loop: `pumpJobs` and `checkServer` look at every child.
            guard signal == SIGINT || signal == SIGTERM else { continue }
            if let code = interrupted(by: signal) { return code }
        }
        return nil
    }

    private func interrupted(by signal: Int32) -> Int32? {
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        let code = LauncherExitCode.interrupted(by: signal)
        guard case .running = phase else {
            console.log(.notice, "received \(name) while shutting down: terminating everything now")
            return finish(code)
        }
        guard let identity = serverIdentity, server.exitStatus == nil else {
            console.log(.notice, "received \(name): terminating the server and the jobs")
            return finish(code)
        }
        console.log(.notice, "received \(name): asking the server to stop (waiting up to \(Int(settings.stopWait)) s)")
        send(.stop(reason: "launcher received \(name)"), to: identity)
        phase = .stopping(signal: signal, deadline: MonotonicClock.now() + settings.stopWait)
        return nil
    }

    // MARK: - server messages

    private func handleServerMessages() -> Int32? {
        let incoming: [ServerChannel.Incoming]
        do { incoming = try channel.receiveAvailable() } catch {
            console.error("cannot receive from the server socket: \(error)")
            return finish(LauncherExitCode.studyFailed)
        }
        for item in incoming {
            switch item {
            case let .malformed(identity, problem):
                // Dropped without touching any state, liveness included: a peer that only
                // sends garbage is not a live server.
                console.warning("dropped a malformed message\(identity == serverIdentity ? " from the server" : ""): \(problem)")
            case let .message(identity, message):
                if let code = handle(message, from: identity) { return code }
            }
        }
        return nil
    }

    private func handle(_ message: ControlMessage, from identity: [UInt8]) -> Int32? {
        let now = MonotonicClock.now()
        if case let .hello(size, endpoint, session) = message {
            return handleHello(size: size, endpoint: endpoint, session: session, from: identity, now: now)
        }
        guard let known = serverIdentity, known == identity else {
            console.warning("dropped \(message.kindName) from a peer that has not said hello")
            return nil
        }
        lastHeard = now
        lastServerMessage = (message.summary, now)
        switch message {
        case let .jobRequest(session, request, groupID, members):
            guard let answer = settle(session: session, request: request, {
                handleJobRequest(groupID: groupID, members: members, from: identity)
            }) else { return nil }
            send(answer, to: identity)
        case let .cancelJob(session, request, groupID, reason):
            guard let answer = settle(session: session, request: request, {
                cancelJob(groupID: groupID, reason: reason)
            }) else { return nil }
            send(answer, to: identity)
        case .ping:
            send(.pong, to: identity)
        case .pong:
            console.log(.debug, "pong from the server")
        case let .progress(finished, failed, total, bytes):
            counts.finished = Int(finished)
            counts.failed = Int(failed)
            counts.total = Int(total)
            counts.bytes = bytes
            console.log(.debug, "server progress: \(finished) finished, \(failed) failed of \(total), \(bytes) bytes")
        case let .training(batch, samples, trainLoss, validLoss):
            if counts.training == nil {
                counts.training = StudyStatus.Training(batch: batch, samples: samples, trainLoss: trainLoss, validLoss: validLoss)
            }
            counts.training?.record(batch: batch, samples: samples, trainLoss: trainLoss, validLoss: validLoss)
            let valid = validLoss.map { String(format: ", validation loss %.4g", $0) } ?? ""
            console.log(.info, "training: step \(batch), \(samples) samples, loss \(String(format: "%.4g", trainLoss))\(valid)")
        case let .studyEnd(exitCode, finished, failed, summary):
            counts.finished = Int(finished)
            counts.failed = Int(failed)
            studyEnded(exitCode: exitCode, summary: summary, now: now)
        case .hello, .welcome, .jobState, .stop, .requestDone:
            console.warning("unexpected \(message.kindName) from the server; ignored")
        }
        return nil
    }

    /// A server's hello: a new server (first hello, or after a restart), the same server
    /// again (reconnected, so possibly from a new socket identity: same session id), or a
    /// stranger while a server is connected (ignored).
    private func handleHello(size: UInt32, endpoint: String, session: UInt64, from identity: [UInt8], now: Double) -> Int32? {
        if let known = serverIdentity, known != identity, session != serverSession {
            console.warning("a second peer said hello (session \(String(session, radix: 16))) while a server is connected; ignored")
            return nil
        }
        let first = serverSession == nil
        let reconnected = !first && serverIdentity != identity
        serverRanks = Int(size)
        serverIdentity = identity
        serverSession = session
        ledger.keepOnly(session: session)
        if first { serverProcesses = ServerShutdown.snapshot(of: server) }
        lastHeard = now
        lastServerMessage = ("hello", now)
        nextPing = now + settings.pingPeriod
        send(.welcome(session: session), to: identity)
        if first {
            console.log(.notice, "server up: \(size) ranks, clients connect to \(endpoint) (session \(String(session, radix: 16)))")
        } else if reconnected {
            console.log(.notice, "server reconnected (same session); welcomed again")
        } else {
            console.log(.debug, "server said hello again; welcomed again")
        }
        return nil
    }

    /// Acts on a numbered request once: the first time runs `act` and stores its answer; a
    /// repeat gets the stored answer and acts on nothing. Nil (dropped, logged) for a
    /// request of another session than the connected server's.
    private func settle(session: UInt64, request: UInt64,
                        _ act: () -> (RequestOutcome, String)) -> ControlMessage? {
        guard session == serverSession else {
            console.warning("dropped request \(request) of session \(String(session, radix: 16)): the connected server's session is \(serverSession.map { String($0, radix: 16) } ?? "none")")
            return nil
        }
        if let stored = ledger.answer(session: session, request: request) {
            console.log(.notice, "request \(request) repeated (a reconnect or a lost answer): answered again, nothing done twice")
            return stored
        }
        let (outcome, detail) = act()
        let answer = ControlMessage.requestDone(session: session, request: request, outcome: outcome, detail: detail)
        ledger.record(session: session, request: request, answer: answer)
        return answer
    }

    private func handleJobRequest(groupID: UInt32, members: [JobMember], from identity: [UInt8]) -> (RequestOutcome, String) {
        let ids = members.map { String($0.simulationID) }.joined(separator: ", ")
        switch book.request(groupID: groupID, members: members) {
        case let .accepted(retry):
            console.log(.info, "group \(groupID): requested (simulations \(ids))\(retry ? ", run again after its earlier job ended" : "")")
            if book.liveJobCount >= book.jobLimit {
                console.log(.info, "group \(groupID): queued, job_limit \(book.jobLimit) reached (\(book.queuedCount) waiting)")
            }
            return (.accepted, retry ? "queued again" : "queued")
        case let .duplicate(group):
            console.warning("group \(groupID) was already requested and is \(group.state); not submitting it again")
            send(.jobState(groupID: groupID, state: group.state, exitCode: group.exitCode, reason: group.reason),
                 to: identity)
            return (.duplicate, "group \(groupID) is already \(group.state)")
        }
    }

    /// The server gave up on a running group (no data for `simulation_timeout`): its job is
    /// cancelled, and the scheduler's `failed` update then goes back to the server as usual.
    private func cancelJob(groupID: UInt32, reason: String) -> (RequestOutcome, String) {
        guard let job = book.groups[groupID]?.job else {
            console.log(.info, "group \(groupID): the server asked to cancel it, but it has no live job (\(reason))")
            return (.ignored, "group \(groupID) has no live job")
        }
        console.log(.notice, "group \(groupID): cancelling \(scheduler.label(of: job)) at the server's request: \(reason)")
        scheduler.cancel(job)
        return (.accepted, "cancelling")
    }

    private func studyEnded(exitCode: Int32, summary: String, now: Double) {
        console.log(.notice, "study ended (server exit code \(exitCode)): \(summary)")
        switch phase {
        case .running:
            phase = .awaitingServerExit(exitCode: exitCode == 0 ? LauncherExitCode.success : LauncherExitCode.studyFailed,
                                        deadline: now + settings.serverExitWait)
        case let .stopping(signal, deadline):
            phase = .awaitingServerExit(exitCode: LauncherExitCode.interrupted(by: signal), deadline: deadline)
        case .awaitingServerExit:
            console.warning("a second studyEnd from the server; ignored")
        }
    }

    private func send(_ message: ControlMessage, to identity: [UInt8]) {
        do { try channel.send(message, to: identity) } catch {
            console.warning("cannot send \(message.kindName) to the server: \(error)")
        }
    }

    // MARK: - jobs

    /// Submits queued groups while slots are free and forwards every job state change.
    private func pumpJobs() {
        repeat {
            if case .running = phase {
                while let group = book.nextToSubmit() {
                    let job = scheduler.submit(group.members.map {
                        SimulationSpec(simulationID: $0.simulationID, script: $0.script)
                    })
                    book.submitted(groupID: group.groupID, as: job, label: scheduler.label(of: job))
                    console.log(.info, "group \(group.groupID): submitted as \(scheduler.label(of: job))")
                }
            }
            forward(scheduler.poll())
            // A job that ended in that poll freed a slot; fill it now rather than a timer later.
        } while isRunning && book.canDispatch
    }

    private var isRunning: Bool {
        if case .running = phase { return true }
        return false
    }

    private func forward(_ updates: [JobUpdate]) {
        for update in updates {
            guard let group = book.apply(update) else { continue }
            if group.state == .failed {
                console.log(.notice, "group \(group.groupID) failed (exit code \(group.exitCode)): \(group.reason)")
            } else {
                console.log(.info, "group \(group.groupID) \(group.state)")
            }
            guard let identity = serverIdentity else { continue }
            send(.jobState(groupID: group.groupID, state: group.state, exitCode: group.exitCode, reason: group.reason),
                 to: identity)
        }
    }

    // MARK: - the server process

    private func checkServer(now: Double) -> Int32? {
        let exited = server.poll()
        switch phase {
        case .running:
            if let status = exited {
                let seen = serverExitSeen ?? now
                serverExitSeen = seen
                return now - seen >= Self.exitMessageGrace ? serverDied(status) : nil
            }
            if serverIdentity != nil {
                if now - lastHeard > settings.silenceLimit {
                    let last = lastServerMessage.map { "; its last message, \(Int(now - $0.time)) s ago, was \($0.summary)" } ?? ""
                    return serverLost("no message from the server for \(Int(now - lastHeard)) s (twice the ping period of \(Int(settings.pingPeriod)) s, server_timeout / 4)\(last)")
                }
            } else if now - serverStart > settings.serverTimeout + settings.helloAllowance {
                return serverLost("the server did not say hello within \(Int(settings.serverTimeout + settings.helloAllowance)) s of its start")
            }
            return nil
        case let .awaitingServerExit(code, deadline):
            if exited != nil { return finish(code) }
            if now >= deadline {
                console.warning("the server did not exit within \(Int(settings.serverExitWait)) s after the study ended; terminating it")
                return finish(code)
            }
            return nil
        case let .stopping(signal, deadline):
            if exited != nil { return finish(LauncherExitCode.interrupted(by: signal)) }
            if now >= deadline {
                console.warning("the server did not stop within \(Int(settings.stopWait)) s; terminating it")
                return finish(LauncherExitCode.interrupted(by: signal))
            }
            return nil
        }
    }

    private func serverDied(_ status: ExitStatus) -> Int32? {
        console.error("server \(status) before the study ended; see \(settings.serverErrPath)")
        // 20 lines, not 10: mpirun's own "job aborted" box alone is 10 lines and would hide
        // the server's last words above it.
        let tail = FileTail.lastLines(of: settings.serverErrPath, count: 20)
        if !tail.isEmpty {
            console.error("last lines of server.err:")
            console.errorDetail(tail)
        }
        return restartOrFail(after: "server \(status)")
    }

    private func serverLost(_ reason: String) -> Int32? {
        console.error("\(reason): declaring the server dead")
        return restartOrFail(after: reason)
    }

    /// A dead server: restarted from its checkpoint while fault tolerance allows, else the end.
    private func restartOrFail(after reason: String) -> Int32? {
        switch ServerRestartPolicy.decide(faultTolerance: settings.faultTolerance, restartsSoFar: restarts,
                                          limit: settings.maxServerRestarts) {
        case let .giveUp(why):
            console.error("not restarting the server: \(why)")
            return finish(LauncherExitCode.studyFailed)
        case .restart:
            return restartServer(after: reason)
        }
    }

    /// Makes sure the old server is gone (never two at once), cancels every client job (the
    /// new server runs unfinished groups again from its checkpoint), and starts a new server
    /// in restart mode.
    private func restartServer(after reason: String) -> Int32? {
        console.log(.notice, "making sure the old server (process group \(server.pid)) is gone before restarting it")
        ServerShutdown.stop(server, recorded: serverProcesses, grace: settings.terminationGrace)
        releaseServer { console.warning($0) }
        serverProcesses = []
        if scheduler.liveJobCount > 0 {
            console.log(.notice, "cancelling \(scheduler.liveJobCount) running job(s); the restarted server runs their groups again")
            scheduler.cancelAll()
        }
        _ = scheduler.poll()  // their end is not news for the new server
        book = JobBook(jobLimit: settings.jobLimit)
        restarts += 1
        do {
            server = try startServer(restarts)
        } catch {
            console.error("cannot restart the server: \(error)")
            return finish(LauncherExitCode.studyFailed)
        }
        let now = MonotonicClock.now()
        serverStart = now
        serverIdentity = nil
        serverSession = nil
        lastServerMessage = nil
        serverExitSeen = nil
        lastHeard = now
        nextPing = now
        console.log(.notice, "server restarted (\(restarts)/\(settings.maxServerRestarts)) after: \(reason) (pid \(server.pid))")
        return nil
    }

    // MARK: - shutdown

    /// After a successful study every simulation has sent its data, so its job is ending:
    /// a batch system reports that a poll interval later. Waiting (up to 10 s) lets those
    /// jobs end as COMPLETED instead of being cancelled at the finish line.
    private func awaitFinishingJobs() {
        let deadline = MonotonicClock.now() + 10
        while scheduler.liveJobCount > 0 && MonotonicClock.now() < deadline {
            forward(scheduler.poll())
            if scheduler.liveJobCount > 0 { MonotonicClock.sleep(0.05) }
        }
    }

    /// Cancels every job, terminates the server's process group (SIGTERM, then SIGKILL
    /// after the grace period) and returns `code`. Nothing the launcher started survives it.
    private func finish(_ code: Int32) -> Int32 {
        if code == LauncherExitCode.success { awaitFinishingJobs() }
        if scheduler.liveJobCount > 0 {
            console.log(.notice, "cancelling \(scheduler.liveJobCount) running job(s)")
            scheduler.cancelAll()
            forward(scheduler.poll())
        }
        if server.poll() == nil || serverProcesses.contains(where: ProcessTable.isAlive) {
            console.log(.notice, "terminating the server (process group \(server.pid))")
            ServerShutdown.stop(server, recorded: serverProcesses, grace: settings.terminationGrace)
        }
        releaseServer { console.warning($0) }
        let now = MonotonicClock.now()
        updateCounts(now: now)
        console.progress(counts, elapsed: now - startTime)
        console.finish()
        publish(now: now, final: code == LauncherExitCode.success ? "finished" : "failed")
        publisher?.stop()
        return code
    }
}

/// Whether a dead server is started again.
enum ServerRestartPolicy: Equatable {
    case restart
    case giveUp(String)

    static func decide(faultTolerance: Bool, restartsSoFar: Int, limit: Int) -> ServerRestartPolicy {
        guard faultTolerance else { return .giveUp("launcher_config.fault_tolerance is false") }
        guard restartsSoFar < limit else {
            return .giveUp("it was restarted \(restartsSoFar) time(s) already, launcher_config.max_server_restarts is \(limit)")
        }
        return .restart
    }
}
