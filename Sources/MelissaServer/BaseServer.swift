import Foundation
import Glibc
import MelissaConfig
import MelissaProtocol
import MelissaTransport

/// The study server every flavor builds on. Runs on M MPI ranks: rank 0 owns the client
/// connection socket (REP) and the launcher socket (DEALER); every rank owns a data socket
/// (PULL). One poll loop per rank multiplexes data, internal, launcher, signal and timer
/// events. A flavor subclasses it, overrides `start()`, and folds each `DataPiece` that
/// `pollSockets()` returns into its statistics.
open class BaseServer {
    /// The validated study configuration.
    public let config: StudyConfig
    /// Absolute path of the study directory (logs, scripts, results).
    public let studyDirectory: String
    public let comm: Communicator
    public let rank: Int
    public let commSize: Int
    public let log: ServerLog
    /// This rank's receive and drop counters.
    public private(set) var counters = ServerCounters()
    /// Per field (index in `field_names`), this rank's block once known.
    public private(set) var fieldLayouts: [FieldLayout?]
    /// The exit code the study ends with (rank 0 decides; 0 when nothing failed).
    public private(set) var exitCode: Int32 = 0
    /// Problems that make the results incomplete, reported in summary.json (rank 0's view).
    public private(set) var studyErrors: [String] = []

    let context: ZMQContext
    let dataSocket: ZMQSocket
    let internalPull: ZMQSocket
    let signals: SignalFD
    let dataEndpoint: String
    let internalEndpoint: String
    private let launcherAddress: String
    private let host: String

    // Wired up by initializeConnections().
    private var internalPushes: [ZMQSocket] = []
    private var connectionSocket: ZMQSocket?
    private var launcherSocket: ZMQSocket?
    private var poller = ZMQPoller()
    private var dataEndpoints: [String] = []
    private var connectionEndpoint = ""

    // Poll-loop state.
    private let dataMessage = ZMQMessage()
    private var alignedScratch: UnsafeMutableBufferPointer<Double> = .init(start: nil, count: 0)
    private var dataPending = false
    private var sinceControlCheck = 0
    private var stopping = false
    private var tracker: CompletionTracker
    private let partitionCount: Int

    // Rank 0 only.
    private var coordinator: StudyCoordinator
    private var parameters: [[Double]] = []
    private var scriptWriter: ClientScriptWriter?
    private var lastPingSent = 0.0
    private var lastLauncherMessage = 0.0
    private var progressSent: (UInt32, UInt32) = (UInt32.max, UInt32.max)
    private var stopReason: String?
    private let startTime: Double

    /// Sets up this rank: binds its data and internal sockets (next free port when the
    /// configured one is taken) and blocks SIGTERM/SIGINT into the poll loop.
    /// `launcherAddress` is where rank 0 connects (`MELISSA_LAUNCHER_ADDRESS`).
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String,
                communicator: Communicator = .world) throws {
        self.config = config
        self.studyDirectory = studyDirectory
        self.launcherAddress = launcherAddress
        comm = communicator
        rank = try communicator.rank()
        commSize = try communicator.size()
        partitionCount = commSize
        startTime = Self.now()
        log = ServerLog(directory: studyDirectory, rank: rank, verbosity: config.studyOptions.verbosity)
        let options = config.studyOptions
        fieldLayouts = Array(repeating: nil, count: options.fieldNames.count)
        tracker = CompletionTracker(simulationCount: options.parameterSweepSize,
                                    nbFields: options.fieldNames.count, nbTimeSteps: options.nbTimeSteps)
        coordinator = StudyCoordinator(simulationCount: options.parameterSweepSize,
                                       groupSize: options.groupSize,
                                       jobLimit: config.launcherConfig.jobLimit,
                                       serverRanks: commSize,
                                       dataGrace: min(options.simulationTimeout, 30))
        signals = try SignalFD(signals: [SIGTERM, SIGINT, SIGUSR1])

        host = config.serverConfig.advertisedHost ?? Self.hostName()
        let bindAddress = config.serverConfig.bindAddress
        context = try ZMQContext()
        dataSocket = try context.socket(.pull)
        if options.zmqHWM > 0 { try dataSocket.setHighWaterMarks(receive: Int32(options.zmqHWM)) }
        // Ranks on one node would all want data_port: each starts at data_port + rank and
        // binding is the test, so two servers on a node never race for a port.
        let dataPort = try dataSocket.bindFirstFree(address: bindAddress, port: config.serverConfig.dataPort + rank)
        dataEndpoint = "tcp://\(host):\(dataPort)"
        internalPull = try context.socket(.pull)
        let internalBound = try internalPull.bind("tcp://\(bindAddress):*")
        internalEndpoint = "tcp://\(host):\(internalBound.split(separator: ":").last ?? "0")"
        log.log(.info, "rank \(rank)/\(commSize) data socket \(dataEndpoint), internal \(internalEndpoint)")
    }

    deinit { alignedScratch.deallocate() }

    /// The flavor's main: connect, loop over `pollSockets()`, write results, `closeConnection()`.
    open func start() throws {
        try initializeConnections()
        while try pollSockets() != nil {}
        try closeConnection()
    }

    /// Parameter vector of every simulation (rank 0; empty elsewhere).
    public var sampledParameters: [[Double]] { parameters }

    /// The sampler used for parameters; a flavor may override to supply its own.
    open func makeSampler() -> any ParameterSampler {
        UniformSampler(lowerBounds: config.studyOptions.lBounds, upperBounds: config.studyOptions.uBounds,
                       seed: UInt64(config.studyOptions.seed))
    }

    // MARK: - setup

    /// Exchanges endpoints between ranks, and on rank 0 binds the connection socket, samples
    /// parameters, connects to the launcher and submits the first groups. Collective.
    public func initializeConnections() throws {
        let endpoints = try comm.allgather(Array((dataEndpoint + "\n" + internalEndpoint).utf8))
            .map { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) }
        dataEndpoints = endpoints.map { $0[0] }
        if rank == 0 {
            for e in endpoints {
                let push = try context.socket(.push)
                try push.setTimeouts(linger: 1000)
                try push.connect(e[1])
                internalPushes.append(push)
            }
        } else {
            let push = try context.socket(.push)
            try push.setTimeouts(linger: 5000)
            try push.connect(endpoints[0][1])
            internalPushes = [push]
        }
        poller.add(fileDescriptor: signals.fileDescriptor)
        poller.add(internalPull)
        poller.add(dataSocket)
        if rank == 0 { try setUpRankZero() }
        try comm.barrier()
    }

    private func setUpRankZero() throws {
        let server = config.serverConfig
        let rep = try context.socket(.rep)
        try rep.setTimeouts(send: 1000, linger: 0)
        let port = try rep.bindFirstFree(address: server.bindAddress, port: server.connectionPort)
        connectionEndpoint = "tcp://\(host):\(port)"
        connectionSocket = rep
        if port != server.connectionPort {
            log.event("connection port \(server.connectionPort) was taken; using \(port)")
        }

        var sampler = makeSampler()
        parameters = (0..<config.studyOptions.parameterSweepSize).map { _ in sampler.next() }
        try writeParameterTable()
        guard let template = ClientScriptWriter.locateTemplate() else {
            throw ServerError.setup("client script template client.sh not found (set MELISSA_TEMPLATES_DIR)")
        }
        scriptWriter = try ClientScriptWriter(templatePath: template,
                                              scriptDirectory: "\(studyDirectory)/client_scripts")

        let dealer = try context.socket(.dealer)
        try dealer.setTimeouts(send: 5000, linger: 2000)
        try dealer.connect(launcherAddress)
        launcherSocket = dealer
        try sendToLauncher(.hello(serverCommSize: UInt32(commSize), connectionEndpoint: connectionEndpoint))
        try dealer.setTimeouts(receive: Int32(config.launcherConfig.serverTimeout * 1000))
        let reply: [[UInt8]]
        do { reply = try dealer.receiveMultipart() } catch {
            throw ServerError.launcher("no welcome from the launcher at \(launcherAddress): \(error)")
        }
        let message = try reply.last.map { frame in try frame.withUnsafeBytes { try ControlMessage.decode($0) } }
        guard message == .welcome else {
            throw ServerError.launcher("expected welcome from the launcher, got \(String(describing: message))")
        }
        try dealer.setTimeouts(receive: 0)
        lastLauncherMessage = Self.now()
        poller.add(rep)
        poller.add(dealer)
        log.event("study started: \(coordinator.simulationCount) simulations, \(commSize) server ranks, clients connect to \(connectionEndpoint)")
        try submitGroups()
    }

    private func writeParameterTable() throws {
        let header = "simulation_id," + (0..<config.studyOptions.nbParameters).map { "p\($0)" }.joined(separator: ",")
        let rows = parameters.enumerated().map { i, p in
            "\(i)," + p.map { String(format: "%.17g", $0) }.joined(separator: ",")
        }
        try ([header] + rows).joined(separator: "\n").appending("\n")
            .write(toFile: "\(studyDirectory)/parameters.csv", atomically: true, encoding: .utf8)
    }

    // MARK: - the poll loop

    /// Returns the next accepted data piece for the flavor, or nil when the study is over on
    /// this rank. Control events (handshakes, launcher messages, signals, timers) are handled
    /// inside; dropped data is counted, never returned.
    public func pollSockets() throws -> DataPiece? {
        while !stopping {
            if dataPending {
                if let piece = try receiveData() {
                    sinceControlCheck += 1
                    // Under a flood of data, still answer handshakes and the launcher.
                    if sinceControlCheck >= 256 { sinceControlCheck = 0; try serviceEvents(timeout: 0) }
                    return piece
                }
                continue
            }
            try serviceEvents(timeout: nextTimeout())
        }
        return nil
    }

    private func nextTimeout() -> Int {
        guard rank == 0 else { return 1000 }
        var wait = pingPeriod - (Self.now() - lastPingSent)
        if let d = coordinator.nextDeadline { wait = min(wait, d - Self.now()) }
        return max(0, min(1000, Int(wait * 1000)))
    }

    private var pingPeriod: Double { max(1, config.launcherConfig.serverTimeout / 4) }

    /// Polls every socket once and handles what is ready, except data (flagged for the caller).
    private func serviceEvents(timeout: Int) throws {
        let ready = try poller.poll(timeoutMilliseconds: timeout)
        if ready[0] { handleSignals() }
        if ready[1] { try drainInternal() }
        if ready[2] { dataPending = true }
        if rank == 0 {
            if ready.count > 3, ready[3] { try drainConnections() }
            if ready.count > 4, ready[4] { try drainLauncher() }
            try runTimers()
        }
    }

    /// Receives one data message; returns it if accepted, nil if dropped or none was waiting.
    private func receiveData() throws -> DataPiece? {
        guard try receiveWaitingData() else {
            dataPending = false
            return nil
        }
        counters.messages += 1
        counters.bytes += Int64(dataMessage.count)
        if dataMessage.hasMore {
            // Data messages are one frame; a multi-frame one is malformed as a whole, so
            // none of its frames may be applied.
            try discardRemainingFrames()
            counters.malformed += 1
            return nil
        }
        let decoded = dataMessage.withBytes { raw in Result { () throws(ProtocolError) in try DataHeader.decode(raw) } }
        guard case let .success(header) = decoded else {
            counters.malformed += 1
            if counters.malformed <= 10, case let .failure(error) = decoded {
                log.log(.info, "dropped malformed data message: \(error)")
            }
            return nil
        }
        let options = config.studyOptions
        guard Int(header.simulationID) < options.parameterSweepSize else {
            counters.unknownSimulation += 1
            return nil
        }
        guard Int(header.field) < fieldLayouts.count else { counters.unknownField += 1; return nil }
        guard Int(header.timeStep) < options.nbTimeSteps else {
            counters.outOfRangeStep += 1
            if counters.outOfRangeStep <= 10 {
                log.log(.info, "dropped time step \(header.timeStep) of simulation \(header.simulationID): the study has \(options.nbTimeSteps)")
            }
            return nil
        }
        // A field's layout is fixed by the first ACCEPTED message: a dropped one changes no state.
        let known = fieldLayouts[Int(header.field)]
        if let known, known.globalSize != header.globalSize { counters.inconsistent += 1; return nil }
        let layout = known ?? FieldLayout(
            globalSize: header.globalSize,
            block: BlockPartition(globalSize: header.globalSize, serverCount: partitionCount).block(rank))
        let inBlock = header.count == 0
            ? (layout.blockSize == 0 && header.offset == layout.block.lowerBound)
            : (header.offset >= layout.block.lowerBound && header.offset + header.count <= layout.block.upperBound)
        guard inBlock else { counters.misrouted += 1; return nil }
        switch tracker.record(header, blockSize: layout.blockSize) {
        case .duplicate: counters.duplicates += 1; return nil
        case .closed: counters.closedSimulation += 1; return nil
        case .inconsistent: counters.inconsistent += 1; return nil
        case let .accepted(simulationComplete):
            counters.accepted += 1
            if known == nil {
                fieldLayouts[Int(header.field)] = layout
                log.log(.info, "field \(options.fieldNames[Int(header.field)]): \(header.globalSize) values, this rank holds [\(layout.block.lowerBound), \(layout.block.upperBound))")
            }
            if simulationComplete { try reportComplete(header.simulationID) }
        }
        return DataPiece(header: header, layout: layout, values: values(count: Int(header.count)))
    }

    /// The values of the current message, borrowed when 8-byte aligned (the usual case),
    /// copied into a reused buffer otherwise: libzmq may hand out unaligned payloads.
    private func values(count: Int) -> UnsafeBufferPointer<Double> {
        dataMessage.withBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[DataHeader.size...])
            if let base = payload.baseAddress, Int(bitPattern: base) % MemoryLayout<Double>.alignment == 0 {
                return UnsafeBufferPointer(start: base.assumingMemoryBound(to: Double.self), count: count)
            }
            if alignedScratch.count < count {
                alignedScratch.deallocate()
                alignedScratch = .allocate(capacity: count)
            }
            UnsafeMutableRawBufferPointer(alignedScratch).copyMemory(from: payload)
            return UnsafeBufferPointer(start: alignedScratch.baseAddress, count: count)
        }
    }

    /// Reads and discards the rest of a multi-frame message (libzmq delivers all its frames).
    private func discardRemainingFrames() throws(ZMQError) {
        while dataMessage.hasMore { try dataSocket.receive(into: dataMessage) }
    }

    /// Takes the next waiting data message into `dataMessage`; false when none is waiting.
    private func receiveWaitingData() throws(ZMQError) -> Bool {
        do {
            try dataSocket.receive(into: dataMessage, dontWait: true)
            return true
        } catch {
            if error.isTimeout { return false }
            throw error
        }
    }

    private func reportComplete(_ sim: UInt32) throws {
        log.log(.debug, "simulation \(sim) complete on this rank")
        if rank == 0 {
            try rankCompleted(rank: 0, simulation: sim)
        } else {
            try internalPushes[0].send(InternalMessage.simulationComplete(rank: UInt32(rank), simulationID: sim).encode())
        }
    }

    private func drainInternal() throws {
        while true {
            guard let frames = try internalPull.receiveMultipartIfReady() else { return }
            guard frames.count == 1, let frame = frames.first else {
                log.error("dropped a \(frames.count)-frame internal message")
                continue
            }
            let message: InternalMessage
            do { message = try frame.withUnsafeBytes { try InternalMessage.decode($0) } } catch {
                log.error("dropped malformed internal message: \(error)")
                continue
            }
            switch message {
            case let .simulationComplete(r, sim) where rank == 0:
                try rankCompleted(rank: Int(r), simulation: sim)
            case let .simulationAbandoned(sim):
                tracker.close(simulation: sim)
            case .stop:
                stopping = true
            default:
                log.error("unexpected internal message \(message)")
            }
        }
    }

    private func handleSignals() {
        while let signal = signals.next() {
            let name = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal \(signal)"
            if signal == SIGUSR1 {
                log.event("received SIGUSR1 (checkpoints arrive in a later release); continuing")
                continue
            }
            log.event("received \(name): ending the study")
            if rank == 0 { endStudy(reason: "server received \(name)") } else { stopping = true }
        }
    }

    // MARK: - rank 0: clients and launcher

    private func drainConnections() throws {
        guard let rep = connectionSocket else { return }
        while true {
            guard let frames = try rep.receiveMultipartIfReady() else { return }
            // REP must answer every request, even garbage, or the socket wedges.
            let reply = frames.count == 1
                ? handshakeReply(to: frames[0])
                : HandshakeRefusal(reason: "malformed handshake: \(frames.count) frames, expected 1").encode()
            do { try rep.send(reply) } catch { log.error("cannot answer a handshake: \(error)") }
        }
    }

    /// Answers every handshake, so a bad client can never wedge the REP socket.
    private func handshakeReply(to request: [UInt8]) -> [UInt8] {
        request.withUnsafeBytes { raw -> [UInt8] in
            do {
                let hello = try HandshakeRequest.decode(raw)
                guard Int(hello.simulationID) < config.studyOptions.parameterSweepSize else {
                    log.event("refused a client with simulation id \(hello.simulationID): the study has \(config.studyOptions.parameterSweepSize) simulations")
                    return HandshakeRefusal(reason: "simulation id \(hello.simulationID) is not in this study (0..<\(config.studyOptions.parameterSweepSize))").encode()
                }
                guard hello.clientCommSize >= 1 else {
                    return HandshakeRefusal(reason: "client comm size must be at least 1").encode()
                }
                log.log(.info, "simulation \(hello.simulationID) connected with \(hello.clientCommSize) client ranks")
                return HandshakeReply(nbTimeSteps: UInt32(config.studyOptions.nbTimeSteps),
                                      verbosity: UInt32(config.studyOptions.verbosity),
                                      fieldNames: config.studyOptions.fieldNames,
                                      dataEndpoints: dataEndpoints).encode()
            } catch {
                // Even a request too short to decode names its version when it has one.
                var reason = "\(error)"
                if let theirs = HandshakeRequest.peekVersion(raw), theirs != protocolVersion {
                    reason = ProtocolError.versionMismatch(ours: protocolVersion, theirs: theirs).description
                }
                log.event("refused a handshake: \(reason)")
                return HandshakeRefusal(reason: reason).encode()
            }
        }
    }

    private func drainLauncher() throws {
        guard let dealer = launcherSocket else { return }
        while true {
            guard let frames = try dealer.receiveMultipartIfReady() else { return }
            lastLauncherMessage = Self.now()
            guard frames.count == 1, let frame = frames.first else {
                log.error("dropped a \(frames.count)-frame launcher message (control messages are one frame)")
                continue
            }
            let message: ControlMessage
            do { message = try frame.withUnsafeBytes { try ControlMessage.decode($0) } } catch {
                log.error("dropped malformed launcher message: \(error)")
                continue
            }
            switch message {
            case let .jobState(group, state, code, reason):
                log.log(.debug, "group \(group) is \(state) (exit code \(code)) \(reason)")
                let failures = coordinator.jobChanged(group: group, state: state, exitCode: code,
                                                      reason: reason, now: Self.now())
                try abandon(failures)
                try submitGroups()
            case .ping, .welcome:
                break
            case let .stop(reason):
                log.event("launcher asked to stop: \(reason)")
                endStudy(reason: "stopped by the launcher: \(reason)")
            default:
                log.error("unexpected message from the launcher: \(message)")
            }
        }
    }

    private func rankCompleted(rank r: Int, simulation sim: UInt32) throws {
        if coordinator.rankCompleted(rank: r, simulation: sim) {
            log.event("simulation \(sim) finished (\(coordinator.finishedCount)/\(coordinator.simulationCount))")
            try afterProgress()
        }
    }

    private func abandon(_ failures: [(simulation: UInt32, reason: String)]) throws {
        for (sim, reason) in failures {
            log.event("simulation \(sim) failed: \(reason)")
            for (r, push) in internalPushes.enumerated() {
                if r == 0 { tracker.close(simulation: sim) } else {
                    try push.send(InternalMessage.simulationAbandoned(simulationID: sim).encode())
                }
            }
        }
        if !failures.isEmpty { try afterProgress() }
    }

    private func afterProgress() throws {
        let now = (UInt32(coordinator.finishedCount), UInt32(coordinator.failedCount))
        if now != progressSent {
            progressSent = now
            try sendToLauncher(.progress(finished: now.0, failed: now.1, total: UInt32(coordinator.simulationCount),
                                         bytesReceived: UInt64(counters.bytes)))
        }
        if coordinator.isDone {
            endStudy(reason: nil)
        }
    }

    private func submitGroups() throws {
        guard !stopping, let writer = scriptWriter else { return }
        for group in coordinator.groupsToSubmit() {
            var members: [JobMember] = []
            for s in coordinator.members(ofGroup: group) {
                let client = config.clientConfig
                let path = try writer.write(simulationID: UInt32(s), parameters: parameters[s],
                                            serverAddress: connectionEndpoint, studyDirectory: studyDirectory,
                                            executable: client.executableCommand,
                                            defaultArguments: client.commandDefaultArgs,
                                            preprocessing: client.preprocessingCommands)
                members.append(JobMember(simulationID: UInt32(s), script: path))
            }
            log.log(.info, "requesting group \(group): simulations \(members.map(\.simulationID))")
            try sendToLauncher(.jobRequest(groupID: group, members: members))
        }
    }

    private func runTimers() throws {
        let now = Self.now()
        if now - lastPingSent >= pingPeriod {
            lastPingSent = now
            try sendToLauncher(.ping)
        }
        try abandon(coordinator.expireGracePeriods(now: now))
        if !stopping, now - lastLauncherMessage > 2 * config.launcherConfig.serverTimeout {
            log.error("no message from the launcher for \(Int(now - lastLauncherMessage)) s: ending the study")
            endStudy(reason: "lost the launcher")
        }
    }

    /// Rank 0: tells every rank to leave the loop. `reason` nil means the study completed.
    private func endStudy(reason: String?) {
        guard !stopping else { return }
        stopReason = reason
        if reason != nil || coordinator.failedCount > 0 { exitCode = 1 }
        for (r, push) in internalPushes.enumerated() where r != 0 {
            do { try push.send(InternalMessage.stop.encode()) } catch {
                log.error("cannot tell rank \(r) to stop: \(error)")
            }
        }
        stopping = true
    }

    private func sendToLauncher(_ message: ControlMessage) throws {
        guard let dealer = launcherSocket else { return }
        try dealer.send(message.encode())
    }

    // MARK: - teardown

    /// Records a problem that leaves the results incomplete: logged, listed in summary.json,
    /// and the study ends with exit code 1. Call it on rank 0 (or on every rank).
    public func recordError(_ message: String) {
        log.error(message)
        studyErrors.append(message)
        exitCode = 1
    }

    /// Sums the counters over ranks, writes `summary.json` and tells the launcher the study
    /// ended (rank 0). Collective: every rank calls it after its loop ends.
    public func closeConnection() throws {
        let totals = ServerCounters(values: try comm.allreduceSum(counters.values))
        guard rank == 0 else { return }
        let finished = coordinator.finishedCount
        let failed = coordinator.failedCount
        let elapsed = Self.now() - startTime
        var failures: [[String: Any]] = []
        for (i, state) in coordinator.states.enumerated() {
            if case let .failed(reason) = state { failures.append(["simulation": i, "reason": reason]) }
        }
        var summary: [String: Any] = [
            "simulations": coordinator.simulationCount, "finished": finished, "failed": failed,
            "failures": failures, "wall_time_seconds": elapsed, "exit_code": Int(exitCode),
            "server_ranks": commSize, "stopped": stopReason ?? NSNull(), "errors": studyErrors,
        ]
        summary["counters"] = Dictionary(uniqueKeysWithValues: zip(ServerCounters.names, totals.values.map { Int($0) }))
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: "\(studyDirectory)/summary.json"))
        let text = "\(finished)/\(coordinator.simulationCount) simulations finished, \(failed) failed, "
            + "\(totals.accepted) messages applied (\(totals.bytes) bytes), \(totals.dropped) dropped "
            + "(\(totals.duplicates) duplicate, \(totals.outOfRangeStep) out-of-range step, \(totals.malformed) malformed), "
            + String(format: "%.1f s", elapsed) + (stopReason.map { "; \($0)" } ?? "")
        log.event("study ended: \(text)")
        try sendToLauncher(.studyEnd(exitCode: exitCode, finished: UInt32(finished), failed: UInt32(failed), summary: text))
        launcherSocket?.close()
    }

    // MARK: - helpers

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "127.0.0.1" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "127.0.0.1" : name
    }
}
