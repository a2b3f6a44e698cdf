import Foundation
import Glibc
import MelissaCheckpoint
import MelissaConfig
import MelissaProtocol
import MelissaTransport

/// The study server every flavor builds on. Runs on M MPI ranks: rank 0 owns the client
/// connection socket (REP) and the launcher socket (DEALER); every rank owns a data socket
/// (PULL). One poll loop per rank multiplexes data, internal, launcher, signal and timer
/// events.
///
/// `run()` owns that loop and every collective step around it; a flavor subclasses
/// `BaseServer` and overrides the callbacks it needs (docs/FLAVORS.md has the contract):
/// `prepare()`, `apply(_:)` for each admitted piece, `tick(now:)`, `simulationAbandoned`,
/// `groupRedrawn`, `checkpointSections()`/`restoreCheckpoint` (with `canCheckpoint`), `finish()`
/// and `studyWillEnd`. Callbacks run on the rank's one thread, from the loop, one at a time:
/// none is called while another is running.
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
    public internal(set) var counters = ServerCounters()
    /// What this process accepted and when (summary.json's `ingest` rate).
    public internal(set) var ingest = IngestWindow()
    /// Wall-clock microseconds minus monotonic microseconds, taken at start.
    let wallClockOffsetMicros = IngestWindow.wallMicros() - Int64(BaseServer.now() * 1e6)
    /// How clients split their data over the ranks (the flavor's choice, sent in the handshake).
    public let routing: DataRouting
    /// Per field (index in `field_names`), this rank's block once known (the whole field under
    /// whole-step routing).
    public internal(set) var fieldLayouts: [FieldLayout?]
    /// The rules a data header must pass before the tracker sees it.
    let admission: DataAdmission
    /// The exit code the study ends with (rank 0 decides; 0 when nothing failed).
    public internal(set) var exitCode: Int32 = 0
    /// Problems that make the results incomplete, reported in summary.json (rank 0's view).
    public internal(set) var studyErrors: [String] = []

    /// This rank's sockets (ZeroMQ, or an embedded transport in tests).
    let transport: any ServerTransport
    let launcherAddress: String

    // Wired up by initializeConnections().
    var dataEndpoints: [String] = []
    var connectionEndpoint = ""

    // Poll-loop state.
    var alignedScratch: UnsafeMutableBufferPointer<Double> = .init(start: nil, count: 0)
    var dataPending = false
    var sinceControlCheck = 0
    var stopping = false
    var tracker: CompletionTracker
    /// When each simulation this rank is waiting for last sent data (stall detection).
    var lastData: [UInt32: Double] = [:]
    /// Per sender address (`Peer-Address`), the simulations whose data reached this rank from
    /// it: summary.json's `data_peers`, the proof of where the data travelled from.
    var dataPeers: [String: Int] = [:]
    var lastStallCheck = 0.0
    /// The latest parameter draw each redrawn group is known to have on this rank.
    var knownDraws: [UInt32: UInt32] = [:]
    /// The last checkpoint number written (or restored), and when rank 0 last asked for one.
    var checkpointSequence: UInt64 = 0
    var lastCheckpoint = 0.0
    /// Rank 0: the ranks that have not yet said they wrote checkpoint `checkpointSequence`.
    var checkpointPending: Set<Int> = []
    var checkpointOverdueLogged = false
    var restoredFromCheckpoint = false
    /// Study time spent by the servers before this one (restored from the checkpoint).
    var elapsedBeforeRestart = 0.0
    /// Ranks other than 0 that got SIGTERM wait for rank 0's checkpoint and stop until then.
    var terminationDeadline: Double?
    var drainedAtStop = 0
    /// Rank 0's `holdingsQuery` rounds this rank has yet to answer, with when each came: they
    /// are answered once the data socket has nothing waiting (so whatever arrived counts), or
    /// after `holdingsAnswerLimit` seconds under a flood.
    var pendingQueries: [(round: UInt32, simulations: [UInt32], since: Double)] = []
    /// Fault injection (`MELISSA_FAULT_KILL_IN_CHECKPOINT`): the checkpoints whose write this
    /// rank dies in, in this server run.
    let checkpointKills: [CheckpointKill]

    /// The open-files limit of the server's processes after raising it (the lowest over ranks),
    /// and what the study's connections need (rank 0 checks one against the other).
    var fileLimit = FileDescriptorLimit(soft: Int.max, hard: Int.max)
    var connectionBudget: ConnectionBudget

    // Rank 0 only.
    var coordinator: StudyCoordinator
    var parameters: [[Double]] = []
    var scriptWriter: ClientScriptWriter?
    var lastPingSent = 0.0
    var lastLauncherMessage = 0.0
    /// This server process's session with the launcher: random, so a restarted server's
    /// requests are never mistaken for its predecessor's.
    let launcherSession = UInt64.random(in: 1...UInt64.max)
    /// The number of the next request to the launcher (1, 2, ...).
    var nextLauncherRequest: UInt64 = 1
    /// Requests the launcher has not answered yet, with when each was last sent: resent
    /// after a ping period (the launcher answers a repeat without acting twice).
    var unansweredRequests: [UInt64: (message: ControlMessage, sentAt: Double)] = [:]
    var progressSent: (UInt32, UInt32) = (UInt32.max, UInt32.max)
    /// Bytes in the last progress message and when it went: data keeps the launcher's rate
    /// display moving between two finished simulations (at most one message a second).
    var progressBytesSent: Int64 = 0
    var lastProgressSent = 0.0
    var stopReason: String?
    var convergedRanks: Set<Int> = []
    /// When each group's current job was reported running (stall reports about an older job
    /// of the group are ignored).
    var jobStarted: [UInt32: Double] = [:]
    /// Fault injection (`MELISSA_FAULT_INGEST_DELAY_US`): microseconds each rank sleeps per
    /// accepted message, a deliberately slow server for back-pressure tests and benchmarks.
    let ingestDelayMicros: UInt32
    /// Times the launcher restarted the server in this study (`MELISSA_SERVER_RESTARTS`).
    let serverRestarts: Int
    let startTime: Double

    /// Sets up this rank: binds its data and internal sockets (next free port when the
    /// configured one is taken) and blocks SIGTERM/SIGINT/SIGUSR1 into the poll loop.
    /// `launcherAddress` is where rank 0 connects (`MELISSA_LAUNCHER_ADDRESS`). `routing` is how
    /// the flavor wants clients to split their data (told to them in the handshake): cell
    /// blocks, or whole steps to one rank. `transport` replaces the ZeroMQ sockets (an
    /// `EmbeddedServerTransport` in tests).
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String,
                communicator: Communicator = .world, routing: DataRouting = .cellBlocks,
                transport: (any ServerTransport)? = nil) throws {
        self.config = config
        self.routing = routing
        connectionBudget = ConnectionBudget(config: config)
        self.studyDirectory = studyDirectory
        self.launcherAddress = launcherAddress
        comm = communicator
        rank = try communicator.rank()
        commSize = try communicator.size()
        startTime = Self.now()
        log = try ServerLog(directory: studyDirectory, rank: rank, verbosity: config.studyOptions.verbosity)
        let options = config.studyOptions
        fieldLayouts = Array(repeating: nil, count: options.fieldNames.count)
        admission = DataAdmission(simulationCount: config.simulationCount, nbTimeSteps: options.nbTimeSteps,
                                  fieldSizes: options.fieldSizes, serverCount: commSize, rank: rank, routing: routing)
        tracker = CompletionTracker(simulationCount: config.simulationCount,
                                    nbFields: options.fieldNames.count, nbTimeSteps: options.nbTimeSteps,
                                    routing: routing, rank: rank, serverCount: commSize)
        coordinator = StudyCoordinator(simulationCount: config.simulationCount,
                                       groupSize: config.jobGroupSize,
                                       jobLimit: config.launcherConfig.jobLimit,
                                       serverRanks: commSize,
                                       dataGrace: min(options.simulationTimeout, 30),
                                       policy: .init(faultTolerance: config.launcherConfig.faultTolerance,
                                                     crashesBeforeRedraw: options.crashesBeforeRedraw,
                                                     maxRedraws: options.maxRedraws,
                                                     redrawWholeGroup: config.samplingPlan.joined),
                                       routing: routing, nbTimeSteps: options.nbTimeSteps)
        coordinator.offline = options.offline
        coordinator.persistentJobs = config.clientConfig.persistentJobs
        serverRestarts = ProcessInfo.processInfo.environment["MELISSA_SERVER_RESTARTS"].flatMap { Int($0) } ?? 0
        ingestDelayMicros = try Self.ingestDelay(ProcessInfo.processInfo.environment["MELISSA_FAULT_INGEST_DELAY_US"])
        let (myRank, restarts) = (rank, serverRestarts)
        checkpointKills = try CheckpointKill.parse(ProcessInfo.processInfo.environment["MELISSA_FAULT_KILL_IN_CHECKPOINT"])
            .filter { $0.rank == myRank && $0.restart == restarts }
        self.transport = try transport ?? ZMQServerTransport(config: config, studyDirectory: studyDirectory,
                                                              launcherAddress: launcherAddress, rank: rank, log: log)
        if ingestDelayMicros > 0 {
            log.event("fault injection: sleeping \(ingestDelayMicros) µs per accepted data message (MELISSA_FAULT_INGEST_DELAY_US)")
        }
        for kill in checkpointKills {
            log.event("fault injection: this rank kills itself with SIGKILL while writing checkpoint \(kill.sequence) (stage \(kill.stage.rawValue), MELISSA_FAULT_KILL_IN_CHECKPOINT)")
        }
    }

    deinit { alignedScratch.deallocate() }

    /// Runs the study on this rank, to the end: `prepare()`, connections, the loop (each admitted
    /// piece goes to `apply(_:)`, then is recorded), `finish()`, then the summary and the
    /// launcher. Collective: every rank calls it once, and every collective step inside is
    /// reached by every rank, however the loop ended.
    public final func run() throws {
        try prepare()
        try initializeConnections()
        if rank == 0 && !canCheckpoint {
            log.event("\(type(of: self)) keeps no checkpoints (canCheckpoint is false): a restarted server starts the study over")
        }
        while let piece = try pollSockets() {
            try apply(piece)
            try commit(piece)
        }
        try finish()
        try closeConnection()
        transport.shutdown()
    }

    // MARK: - flavor callbacks (docs/FLAVORS.md)

    /// Every rank, once, before any connection: checks that can refuse the study early (memory).
    /// May use collectives (every rank calls it).
    open func prepare() throws {}

    /// Every rank, for each admitted data piece, in arrival order: fold it into the flavor's
    /// state. The piece is recorded as received only after this returns; throwing ends the
    /// server. Not collective. The base's default refuses to run: a flavor must override it.
    open func apply(_ piece: DataPiece) throws {
        throw ServerError.setup("\(type(of: self)) does not override apply(_:): it would discard every piece")
    }

    /// Every rank, after each round of socket and timer events (about once a second when idle,
    /// every 256 messages under load): time-based work. Not collective.
    open func tick(now: Double) throws {}

    /// Every rank, once, after the loop ended: write results. Collective (every rank calls it,
    /// so gathers and reductions are safe); the summary and the launcher come after.
    open func finish() throws {}

    /// Whether the flavor saves and restores its state (`checkpointSections`, `restoreCheckpoint`).
    /// When false, the server writes no checkpoint at all, not even its own part: restoring which
    /// data arrived without the flavor's state would refuse the resent data as duplicates and lose
    /// it. A restarted server then starts the study over.
    open var canCheckpoint: Bool { false }

    /// Simulations finished so far (rank 0's count; 0 on other ranks).
    public var finishedSimulations: Int { coordinator.finishedCount }
    /// Simulations failed so far (rank 0's count; 0 on other ranks).
    public var failedSimulations: Int { coordinator.failedCount }

    /// Parameter vector of every simulation, redraws included, on every rank (empty before
    /// the connections are set up): a flavor reads a simulation's inputs where its data arrives.
    public var sampledParameters: [[Double]] { parameters }

    /// The parameters of `simulation` (its latest draw), or nil for an id outside the study.
    public func parameters(of simulation: UInt32) -> [Double]? {
        Int(simulation) < parameters.count ? parameters[Int(simulation)] : nil
    }

    /// The sampler that draws parameters within the given bounds, `count` draws expected; a
    /// flavor may override it to supply its own. Sobol studies call it with the bounds doubled
    /// (one 2p-dimensional draw gives A and B), so quasi-random sequences keep A and B apart.
    open func makeSampler(lowerBounds: [Double], upperBounds: [Double], count: Int) throws -> any ParameterSampler {
        let options = config.studyOptions
        return try SamplerFactory.make(kind: options.sampler, lowerBounds: lowerBounds, upperBounds: upperBounds,
                                       seed: UInt64(options.seed), count: count)
    }

    /// Turns one draw of `samplingPlan.drawWidth × nb_parameters` values into the parameters of
    /// its `membersPerDraw` simulations, in simulation-id order. Every rank, at setup and on each
    /// redraw; must be a pure function of the draw. The default serves the independent plan (one
    /// simulation per draw); a flavor whose plan says otherwise overrides it (sensitivity
    /// analysis expands A and B into the pick-freeze rows A, B, C_1..C_p).
    open func expandDraw(_ draw: [Double]) throws -> [[Double]] {
        guard config.samplingPlan == .independent else {
            throw ServerError.setup("\(type(of: self)) declares a sampling plan of \(config.samplingPlan.membersPerDraw) simulations per draw but does not override expandDraw(_:)")
        }
        return [draw]
    }

    /// One draw expanded, checked against the plan (a flavor bug must not shift simulation ids).
    func membersOfDraw(_ draw: [Double]) throws -> [[Double]] {
        let plan = config.samplingPlan
        let rows = try expandDraw(draw)
        let p = config.studyOptions.nbParameters
        guard rows.count == plan.membersPerDraw, rows.allSatisfy({ $0.count == p }) else {
            throw ServerError.invariant("\(type(of: self)).expandDraw made \(rows.count) rows of \(rows.map(\.count)) values from one draw; the sampling plan says \(plan.membersPerDraw) rows of \(p)")
        }
        return rows
    }

    /// Every simulation's parameters in simulation-id order: one draw per entry of the sweep
    /// (of `drawWidth × p` values: bounds repeated, so quasi-random sequences keep A and B of a
    /// Sobol draw apart), each expanded by the flavor's plan.
    func sampleParameters() throws -> [[Double]] {
        let options = config.studyOptions
        let width = config.samplingPlan.drawWidth
        var sampler = try makeSampler(lowerBounds: Array([[Double]](repeating: options.lBounds, count: width).joined()),
                                      upperBounds: Array([[Double]](repeating: options.uBounds, count: width).joined()),
                                      count: options.parameterSweepSize)
        var rows: [[Double]] = []
        rows.reserveCapacity(config.simulationCount)
        for _ in 0..<options.parameterSweepSize { rows += try membersOfDraw(sampler.next()) }
        return rows
    }

    // MARK: - hooks for flavors

    /// Called on every rank when a simulation is given up (its job failed or its data never
    /// came): a flavor drops whatever it holds back for it. Data already applied stays.
    open func simulationAbandoned(_ simulation: UInt32) {}

    /// Called on every rank when a group's parameters were drawn again after failures: a
    /// flavor drops the data it holds back for the group from the old draw (not yet applied)
    /// and calls `forgetReceived` for it, so the new draw's data is accepted.
    open func groupRedrawn(_ group: UInt32, members: [UInt32]) {}

    /// The flavor's part of this rank's checkpoint: sections with 4-character ASCII tags
    /// (BASE, TRAK and COOR are the base server's). Called between two `apply` calls, every
    /// applied piece included. Only when `canCheckpoint` is true.
    open func checkpointSections() throws -> [CheckpointSection] { [] }

    /// Restart mode: restores the flavor's state from its sections of the checkpoint being
    /// loaded (keyed by tag), once, before any data arrives. Only when `canCheckpoint` is true.
    open func restoreCheckpoint(_ sections: [String: [UInt8]]) throws {}

    /// Called on rank 0 at the end of the study, after the counters are summed and before the
    /// launcher is told: a flavor writes its report here.
    open func studyWillEnd(_ summary: StudySummary) throws {}

    /// Rank 0, at the end of the study: entries the flavor adds to `summary.json` (JSON values:
    /// strings, numbers, booleans, arrays, dictionaries, NSNull). Not collective.
    open func summaryExtras() -> [String: Any] { [:] }

    /// The number of the checkpoint being written (inside `checkpointSections`) or the one
    /// restored (inside `restoreCheckpoint`): the same on every rank, so a flavor can name
    /// files that belong to one checkpoint.
    public var checkpointNumber: UInt64 { checkpointSequence }

    /// Tells rank 0 whether this rank's statistics have converged (a flavor's early-stop
    /// test, e.g. narrow Sobol intervals). The study ends once every rank says so.
    public func reportConvergence(_ converged: Bool) throws {
        if rank == 0 {
            try rankConverged(rank: 0, converged)
        } else {
            try transport.sendInternal(InternalMessage.converged(rank: UInt32(rank), converged: converged).encode(), to: 0)
        }
    }

    // MARK: - setup

    /// Exchanges endpoints between ranks, and on rank 0 binds the connection socket, samples
    /// parameters, connects to the launcher and submits the first groups. Collective.
    func initializeConnections() throws {
        try raiseFileLimit()
        let endpoints = try comm.allgather(Array((transport.dataEndpoint + "\n" + transport.internalEndpoint).utf8))
            .map { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) }
        guard endpoints.allSatisfy({ $0.count == 2 }) else {
            throw ServerError.invariant("a rank shared a malformed endpoint pair: \(endpoints)")
        }
        dataEndpoints = endpoints.map { $0[0] }
        try transport.connectInternal(endpoints: endpoints.map { $0[1] }, rank: rank)
        try restoreIfRestarting()
        if rank == 0 { try setUpRankZero() } else { try resynchronizeAfterRestore() }
        try shareParameters()
        lastCheckpoint = Self.now()
        try comm.barrier()
    }

    /// Collective: every rank gets rank 0's parameter table (sampled, or restored with its
    /// redraws), so flavors read a simulation's parameters on the rank its data reaches.
    func shareParameters() throws {
        let p = config.studyOptions.nbParameters
        var bytes: [UInt8] = []
        if rank == 0 {
            bytes.reserveCapacity(parameters.count * p * 8)
            for row in parameters { for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } } }
        }
        let shared = try comm.broadcast(bytes, root: 0)
        guard rank != 0 else { return }
        guard shared.count == config.simulationCount * p * 8 else {
            throw ServerError.invariant("rank 0 shared \(shared.count) bytes of parameters; \(config.simulationCount) simulations of \(p) need \(config.simulationCount * p * 8)")
        }
        parameters = shared.withUnsafeBytes { raw in
            (0..<config.simulationCount).map { sim in
                (0..<p).map { k in
                    Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: (sim * p + k) * 8, as: UInt64.self)))
                }
            }
        }
    }

    // MARK: - the poll loop

    /// Returns the next admitted data piece for the flavor, or nil when the study is over on
    /// this rank. Control events (handshakes, launcher messages, signals, timers) are handled
    /// inside; dropped data is counted, never returned. The caller applies, then commits it.
    func pollSockets() throws -> DataPiece? {
        while !stopping {
            if dataPending {
                // Under a flood of data, still answer handshakes and the launcher. Events are
                // serviced before the next piece is taken, never between taking a piece and
                // handing it over: a checkpoint written there would record the piece as received
                // while the flavor does not hold it yet.
                sinceControlCheck += 1
                if sinceControlCheck >= 256 {
                    sinceControlCheck = 0
                    try serviceEvents(timeout: 0)
                    if stopping { break }
                }
                if let piece = try receiveData() { return piece }
                continue
            }
            try serviceEvents(timeout: nextTimeout())
        }
        // Stopping: messages already queued are still taken (applied, or dropped and counted),
        // so nothing that arrived before the end vanishes without a trace. Bounded, since
        // clients may still be sending.
        dataPending = true
        while dataPending && drainedAtStop < Self.stopDrainLimit {
            drainedAtStop += 1
            if let piece = try receiveData() { return piece }
        }
        return nil
    }

    /// At most this many queued messages are taken after the study ended.
    static let stopDrainLimit = 100_000

    func nextTimeout() -> Int {
        guard rank == 0 else { return 1000 }
        var wait = pingPeriod - (Self.now() - lastPingSent)
        if let d = coordinator.nextDeadline { wait = min(wait, d - Self.now()) }
        return max(0, min(1000, Int(wait * 1000)))
    }

    var pingPeriod: Double { max(1, config.launcherConfig.serverTimeout / 4) }

    /// Polls every socket once and handles what is ready, except data (flagged for the caller).
    func serviceEvents(timeout: Int) throws {
        // Questions are answered before blocking in poll: nothing is waiting on the data socket.
        try answerHoldingsQueries()
        let ready = try transport.poll(timeoutMilliseconds: pendingQueries.isEmpty ? timeout : 0)
        if ready.contains(.signal) { handleSignals() }
        if ready.contains(.internalMessage) { try drainInternal() }
        if ready.contains(.data) { dataPending = true }
        try answerHoldingsQueries()
        try checkStalls(now: Self.now())
        if let deadline = terminationDeadline, Self.now() >= deadline {
            log.error("no word from rank 0 within 10 s of SIGTERM: stopping without a final checkpoint")
            stopping = true
        }
        if rank == 0 {
            if ready.contains(.handshake) { try drainConnections() }
            if ready.contains(.launcher) { try drainLauncher() }
            try runTimers()
        }
        try tick(now: Self.now())
    }

    /// Receives one data message; returns it if accepted, nil if dropped or none was waiting.
    func receiveData() throws -> DataPiece? {
        guard try transport.receiveData() else {
            dataPending = false
            return nil
        }
        let messageBytes = transport.withCurrentData { $0.count }
        counters.messages += 1
        counters.bytes += Int64(messageBytes)
        if transport.currentDataHasMore {
            // Data messages are one frame; a multi-frame one is malformed as a whole, so
            // none of its frames may be applied.
            try transport.discardRemainingDataFrames()
            counters.malformed += 1
            return nil
        }
        let decoded = transport.withCurrentData { raw in Result { () throws(ProtocolError) in try DataHeader.decode(raw) } }
        guard case let .success(header) = decoded else {
            counters.malformed += 1
            if counters.malformed <= 10, case let .failure(error) = decoded {
                log.log(.info, "dropped malformed data message: \(error)")
            }
            return nil
        }
        // A field's layout is fixed by the first ACCEPTED message: a dropped one changes no state.
        let layout: FieldLayout
        let learnsLayout: Bool
        switch admission.check(header, known: fieldLayouts) {
        case let .admit(admitted, learns):
            (layout, learnsLayout) = (admitted, learns)
        case let .refuse(refusal):
            countRefusal(refusal, header: header)
            return nil
        }
        // Asked, not recorded: the piece is recorded by `commit` once the flavor applied it.
        switch tracker.classify(header, blockSize: layout.blockSize) {
        case .duplicate:
            counters.duplicates += 1
            // A rerun resending what already arrived is still alive.
            if lastData[header.simulationID] != nil { lastData[header.simulationID] = Self.now() }
            return nil
        case .closed: counters.closedSimulation += 1; return nil
        case .inconsistent: counters.inconsistent += 1; return nil
        case .accepted: break
        }
        return DataPiece(header: header, layout: layout, values: values(count: Int(header.count)),
                         messageBytes: messageBytes, learnsLayout: learnsLayout)
    }

    /// Records a piece the flavor has applied: the tracker, the counters, the field's layout
    /// and, when it was the simulation's last piece on this rank, its completion. Nothing runs
    /// between `receiveData` and here (no events are serviced), so a checkpoint never records
    /// a piece the flavor does not hold.
    func commit(_ piece: DataPiece) throws {
        let header = piece.header
        guard case let .accepted(simulationComplete) = tracker.record(header, blockSize: piece.layout.blockSize) else {
            throw ServerError.invariant("simulation \(header.simulationID) step \(header.timeStep) was admitted but the tracker refused it at commit")
        }
        counters.accepted += 1
        // One clock read per message: wall time is the monotonic clock plus the offset
        // taken at start (a wall-clock step during the study shifts the window, no more).
        let now = Self.now()
        ingest.record(byteCount: piece.messageBytes, at: wallClockOffsetMicros + Int64(now * 1e6))
        if ingestDelayMicros > 0 { usleep(ingestDelayMicros) }
        if piece.learnsLayout {
            fieldLayouts[Int(header.field)] = piece.layout
            log.log(.info, "field \(config.studyOptions.fieldNames[Int(header.field)]): \(header.globalSize) values, this rank holds [\(piece.layout.block.lowerBound), \(piece.layout.block.upperBound))")
        }
        if lastData[header.simulationID] == nil, let peer = transport.currentDataPeer {
            // The simulation's first piece on this rank in this run: one metadata lookup per
            // simulation, not per message.
            dataPeers[peer, default: 0] += 1
        }
        if simulationComplete {
            lastData[header.simulationID] = nil
            try reportComplete(header.simulationID)
        } else {
            lastData[header.simulationID] = now
        }
    }

    /// Counts (and for the first few, logs) a data message the admission rules refused.
    func countRefusal(_ refusal: DataAdmission.Refusal, header: DataHeader) {
        let options = config.studyOptions
        switch refusal {
        case .unknownSimulation: counters.unknownSimulation += 1
        case .unknownField: counters.unknownField += 1
        case .outOfRangeStep:
            counters.outOfRangeStep += 1
            if counters.outOfRangeStep <= 10 {
                log.log(.info, "dropped time step \(header.timeStep) of simulation \(header.simulationID): the study has \(options.nbTimeSteps)")
            }
        case .inconsistentSize: counters.inconsistent += 1
        case let .sizeNotInConfig(configured):
            counters.inconsistent += 1
            if counters.inconsistent <= 10 {
                log.error("dropped data of simulation \(header.simulationID): field \(options.fieldNames[Int(header.field)]) has \(header.globalSize) values, study_options.field_sizes says \(configured)")
            }
        case .misrouted: counters.misrouted += 1
        }
    }

    /// The values of the current message, borrowed when 8-byte aligned (the usual case),
    /// copied into a reused buffer otherwise: libzmq may hand out unaligned payloads.
    func values(count: Int) -> UnsafeBufferPointer<Double> {
        transport.withCurrentData { raw in
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

    func reportComplete(_ sim: UInt32) throws {
        log.log(.debug, "simulation \(sim) complete on this rank")
        if rank == 0 {
            try rankCompleted(rank: 0, simulation: sim)
        } else {
            try transport.sendInternal(InternalMessage.simulationComplete(rank: UInt32(rank), simulationID: sim).encode(), to: 0)
        }
    }

    /// Receives every waiting message on `source` without blocking and hands each decoded one
    /// to `handle`. Protocol messages are one frame: anything else, or a frame that does not
    /// decode, is logged and dropped, and changes no state.
    func drain<Message>(_ source: ControlChannel, channel: String,
                        decode: (UnsafeRawBufferPointer) throws -> Message,
                        handle: (Message) throws -> Void) throws {
        while let frames = try transport.receive(source) {
            guard frames.count == 1 else {
                log.error("dropped a \(frames.count)-frame \(channel) message (protocol messages are one frame)")
                continue
            }
            let message: Message
            do { message = try frames[0].withUnsafeBytes(decode) } catch {
                log.error("dropped malformed \(channel) message: \(error)")
                continue
            }
            try handle(message)
        }
    }

    func drainInternal() throws {
        try drain(.internalMessages, channel: "internal", decode: { try InternalMessage.decode($0) }) { message in
            switch message {
            case let .simulationComplete(r, sim) where rank == 0:
                try rankCompleted(rank: Int(r), simulation: sim)
            case let .simulationAbandoned(sim):
                abandonLocally(sim)
            case let .simulationStalled(r, sim) where rank == 0:
                try simulationStalled(sim, rank: Int(r))
            case let .groupRedrawn(group, draw, sims):
                try groupRedrawnLocally(group: group, draw: draw, simulations: sims)
            case let .checkpoint(sequence, thenStop):
                checkpointSequence = sequence
                let written = writeCheckpoint(sequence: sequence)
                try transport.sendInternal(InternalMessage.checkpointWritten(rank: UInt32(rank), sequence: sequence,
                                                                             written: written).encode(), to: 0)
                if thenStop { stopping = true }
            case let .checkpointWritten(r, sequence, written) where rank == 0:
                checkpointWritten(rank: Int(r), sequence: sequence, written: written)
            case let .converged(r, flag) where rank == 0:
                try rankConverged(rank: Int(r), flag)
            case let .holdingsQuery(round, sims) where rank != 0:
                pendingQueries.append((round, sims, Self.now()))
            case let .holdingsReport(r, round, holdings) where rank == 0:
                try holdingsReported(rank: Int(r), round: round, holdings: holdings)
            case .stop:
                stopping = true
            default:
                log.error("unexpected internal message \(message)")
            }
        }
    }

    func handleSignals() {
        while let signal = transport.nextSignal() {
            let name = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal \(signal)"
            if signal == SIGUSR1 {
                // mpirun forwards signals to every rank; rank 0 coordinates the checkpoint.
                guard rank == 0 else { continue }
                log.event("received SIGUSR1: writing a checkpoint")
                do { try requestCheckpoint(thenStop: false) } catch { log.error("cannot start a checkpoint: \(error)") }
                continue
            }
            if rank == 0 {
                log.event("received \(name): writing a checkpoint, then ending the study")
                do { try requestCheckpoint(thenStop: true) } catch { log.error("cannot start a checkpoint: \(error)") }
                endStudy(reason: "server received \(name)")
            } else if terminationDeadline == nil {
                log.event("received \(name): waiting up to 10 s for rank 0's final checkpoint")
                terminationDeadline = Self.now() + 10
            }
        }
    }

    // MARK: - helpers

    /// Parses `MELISSA_FAULT_INGEST_DELAY_US`: unset or empty is 0; anything but 0 … 10 000 000
    /// microseconds is refused, so a typo never runs a study at full speed unnoticed.
    static func ingestDelay(_ raw: String?) throws -> UInt32 {
        guard let raw, !raw.isEmpty else { return 0 }
        guard let value = UInt32(raw), value <= 10_000_000 else {
            throw ServerError.environment("MELISSA_FAULT_INGEST_DELAY_US must be microseconds from 0 to 10000000, got '\(raw)'")
        }
        return value
    }

    /// Seconds on the monotonic clock (deadlines, rate limits; never wall time).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
