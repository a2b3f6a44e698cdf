import Foundation
import MelissaProtocol
import MelissaTransport

/// Rank 0's side of the server: the client handshake, the launcher channel, the study
/// coordinator (job requests, completion, failures) and the timers that drive them.
extension BaseServer {
    /// Binds the client connection socket, samples every simulation's parameters, says hello
    /// to the launcher and submits the first groups.
    func setUpRankZero() throws {
        let server = config.serverConfig
        connectionEndpoint = try transport.bindHandshake()
        if !connectionEndpoint.hasSuffix(":\(server.connectionPort)"), connectionEndpoint.hasPrefix("tcp://") {
            log.event("connection port \(server.connectionPort) was taken; using \(connectionEndpoint)")
        }

        // A restored study keeps its parameters, redraws included.
        if parameters.isEmpty { parameters = try sampleParameters() }
        try writeParameterTable()
        guard let template = ClientScriptWriter.locateTemplate() else {
            throw ServerError.setup("client script template client.sh not found (set MELISSA_TEMPLATES_DIR)")
        }
        scriptWriter = try ClientScriptWriter(templatePath: template,
                                              scriptDirectory: "\(studyDirectory)/client_scripts")

        let hello = ControlMessage.hello(serverCommSize: UInt32(commSize), connectionEndpoint: connectionEndpoint,
                                         session: launcherSession)
        let reply = try transport.connectLauncher(hello: hello.encode(), timeout: config.launcherConfig.serverTimeout)
        let message = try reply.last.map { frame in try frame.withUnsafeBytes { try ControlMessage.decode($0) } }
        guard message == .welcome(session: launcherSession) else {
            throw ServerError.launcher("expected welcome(session \(String(launcherSession, radix: 16))) from the launcher, got \(String(describing: message))")
        }
        lastLauncherMessage = Self.now()
        log.event("study started: \(coordinator.simulationCount) simulations, \(commSize) server ranks, clients connect to \(connectionEndpoint)")
        if let refusal = connectionBudget.refusal(limit: fileLimit) {
            // Before any job: nothing runs that would fail for want of descriptors later.
            recordError(refusal)
            endStudy(reason: "the study's client connections do not fit the open-files limit")
            return
        }
        try resynchronizeAfterRestore()
        // A restored study may have nothing left to run: progress to the launcher, and the end.
        if restoredFromCheckpoint { try afterProgress() }
        try submitGroups()
    }

    func writeParameterTable() throws {
        let names = (0..<config.studyOptions.nbParameters).map { "p\($0)" }.joined(separator: ",")
        // A plan with roles (Sobol's pick-freeze A, B, C1...) also says which draw and role each row is.
        let plan = config.samplingPlan
        let members = plan.membersPerDraw
        let roles = plan.roles.count == members ? plan.roles : []
        let header = roles.isEmpty ? "simulation_id," + names : "simulation_id,group,role," + names
        let rows = parameters.enumerated().map { i, p in
            let prefix = roles.isEmpty ? "\(i)," : "\(i),\(i / members),\(roles[i % members]),"
            return prefix + p.map { String(format: "%.17g", $0) }.joined(separator: ",")
        }
        try ([header] + rows).joined(separator: "\n").appending("\n")
            .write(toFile: "\(studyDirectory)/parameters.csv", atomically: true, encoding: .utf8)
    }

    func drainConnections() throws {
        while true {
            guard let frames = try transport.receive(.handshake) else { return }
            // REP must answer every request, even garbage, or the socket wedges.
            let reply = frames.count == 1
                ? handshakeReply(to: frames[0])
                : HandshakeRefusal(reason: "malformed handshake: \(frames.count) frames, expected 1").encode()
            do { try transport.replyHandshake(reply) } catch { log.error("cannot answer a handshake: \(error)") }
        }
    }

    /// Answers every handshake, so a bad client can never wedge the REP socket.
    func handshakeReply(to request: [UInt8]) -> [UInt8] {
        request.withUnsafeBytes { raw -> [UInt8] in
            if NextSimulationRequest.peekKind(raw) == NextSimulationRequest.kind { return nextSimulationReply(to: raw) }
            do {
                let hello = try HandshakeRequest.decode(raw)
                guard Int(hello.simulationID) < config.simulationCount else {
                    log.event("refused a client with simulation id \(hello.simulationID): the study has \(config.simulationCount) simulations")
                    return HandshakeRefusal(reason: "simulation id \(hello.simulationID) is not in this study (0..<\(config.simulationCount))").encode()
                }
                guard hello.clientCommSize >= 1 else {
                    return HandshakeRefusal(reason: "client comm size must be at least 1").encode()
                }
                if let refusal = budgetRefusal(clientRanks: Int(hello.clientCommSize), simulation: hello.simulationID) {
                    return HandshakeRefusal(reason: refusal).encode()
                }
                log.log(.info, "simulation \(hello.simulationID) connected with \(hello.clientCommSize) client ranks")
                return HandshakeReply(nbTimeSteps: UInt32(config.studyOptions.nbTimeSteps),
                                      verbosity: UInt32(config.studyOptions.verbosity),
                                      dataMechanism: config.serverConfig.dataEncryption ? .curve : .plain,
                                      routing: routing,
                                      fieldNames: config.studyOptions.fieldNames,
                                      dataEndpoints: dataEndpoints).encode()
            } catch {
                // Even a request too short to decode names its version when it has one.
                var reason = "\(error)"
                if let theirs = HandshakeRequest.peekVersion(raw), theirs != handshakeProtocolVersion {
                    reason = ProtocolError.versionMismatch(ours: handshakeProtocolVersion, theirs: theirs).description
                }
                log.event("refused a handshake: \(reason)")
                return HandshakeRefusal(reason: reason).encode()
            }
        }
    }

    /// A job asks what to run next (`melissa_fetch_next_parameters`): its own simulation first,
    /// then, with `client_config.persistent_jobs`, the next one waiting; "finished" when nothing
    /// is left for it, so the job exits 0.
    func nextSimulationReply(to raw: UnsafeRawBufferPointer) -> [UInt8] {
        let request: NextSimulationRequest
        do { request = try NextSimulationRequest.decode(raw) } catch {
            log.event("refused a next-simulation request: \(error)")
            return HandshakeRefusal(reason: "\(error)").encode()
        }
        let job = request.jobSimulationID
        guard !stopping else { return NextSimulationReply.finished.encode() }
        switch coordinator.nextSimulation(jobOf: job) {
        case let .run(sim):
            jobStarted[coordinator.group(of: sim)] = Self.now()
            if sim != job {
                log.event("the persistent job of simulation \(job) runs simulation \(sim) next")
            }
            return NextSimulationReply(simulationID: sim, parameters: parameters[Int(sim)]).encode()
        case .finished:
            log.log(.info, "the job of simulation \(job) asked for another simulation: none left for it")
            return NextSimulationReply.finished.encode()
        case let .refused(reason):
            log.event("refused a next-simulation request: \(reason)")
            return HandshakeRefusal(reason: reason).encode()
        }
    }

    /// A handshake with more client ranks than the budget assumed: the budget grows to it, and
    /// when it no longer fits the open-files limit the simulation is refused and the study
    /// ends with the remedy (every later simulation would need as many connections).
    func budgetRefusal(clientRanks: Int, simulation: UInt32) -> String? {
        guard clientRanks > connectionBudget.ranksPerSimulation else { return nil }
        var grown = connectionBudget
        grown.ranksPerSimulation = clientRanks
        grown.ranksSource = "simulation \(simulation)'s handshake"
        if let refusal = grown.refusal(limit: fileLimit) {
            if !stopping {
                recordError(refusal)
                endStudy(reason: "the study's client connections do not fit the open-files limit")
            }
            return refusal
        }
        log.event("simulation \(simulation) runs \(clientRanks) client ranks (the budget assumed \(connectionBudget.ranksPerSimulation)): up to \(grown.clientConnections) client connections per server rank, \(grown.neededDescriptors) of \(fileLimit.soft) open files")
        connectionBudget = grown
        return nil
    }

    func drainLauncher() throws {
        // Anything from the launcher, even malformed, shows it is alive.
        lastLauncherMessage = Self.now()
        try drain(.launcher, channel: "launcher", decode: { try ControlMessage.decode($0) }) { message in
            switch message {
            case let .jobState(group, state, code, reason):
                log.log(.debug, "group \(group) is \(state) (exit code \(code)) \(reason)")
                if state == .running { jobStarted[group] = Self.now() }
                let finishedBefore = coordinator.finishedCount
                let outcomes = coordinator.jobChanged(group: group, state: state, exitCode: code,
                                                      reason: reason, now: Self.now())
                try handle(outcomes)
                if coordinator.finishedCount != finishedBefore {
                    // Offline: the job's exit 0 finished its simulations (no data to wait for).
                    log.event("group \(group) finished offline (\(coordinator.finishedCount)/\(coordinator.simulationCount))")
                    try afterProgress()
                }
                try sendHoldingsQueries()
                try submitGroups()
            case .ping:
                try sendToLauncher(.pong)
            case .pong, .welcome:
                break
            case let .requestDone(session, request, outcome, detail):
                guard session == launcherSession else {
                    log.error("answer to request \(request) of another session (\(String(session, radix: 16))); ignored")
                    break
                }
                if unansweredRequests.removeValue(forKey: request) != nil {
                    log.log(outcome == .accepted ? .debug : .info, "launcher settled request \(request): \(outcome) (\(detail))")
                }
            case let .stop(reason):
                log.event("launcher asked to stop: \(reason); writing a final checkpoint")
                try requestCheckpoint(thenStop: true)
                endStudy(reason: "stopped by the launcher: \(reason)")
            default:
                log.error("unexpected message from the launcher: \(message)")
            }
        }
    }

    func rankCompleted(rank r: Int, simulation sim: UInt32) throws {
        if coordinator.rankCompleted(rank: r, simulation: sim) {
            log.event("simulation \(sim) finished (\(coordinator.finishedCount)/\(coordinator.simulationCount))")
            try afterProgress()
        }
    }

    func afterProgress() throws {
        let now = (UInt32(coordinator.finishedCount), UInt32(coordinator.failedCount))
        if now != progressSent {
            progressSent = now
            try sendProgress()
        }
        if coordinator.isDone {
            endStudy(reason: nil)
        }
    }

    func submitGroups() throws {
        guard !stopping, let writer = scriptWriter else { return }
        for group in coordinator.groupsToSubmit() {
            var members: [JobMember] = []
            for s in coordinator.submittedMembers(ofGroup: group).map(Int.init) {
                let client = config.clientConfig
                let path = try writer.write(simulationID: UInt32(s), parameters: parameters[s],
                                            serverAddress: connectionEndpoint, studyDirectory: studyDirectory,
                                            executable: client.executableCommand,
                                            defaultArguments: client.commandDefaultArgs,
                                            // Offline clients are told through their environment
                                            // (any template has {{PREPROCESSING}}).
                                            preprocessing: (config.studyOptions.offline ? ["export MELISSA_OFFLINE=1"] : [])
                                                + client.preprocessingCommands)
                members.append(JobMember(simulationID: UInt32(s), script: path))
            }
            log.log(.info, "requesting group \(group): simulations \(members.map(\.simulationID))")
            try sendRequest { session, request in
                .jobRequest(session: session, request: request, groupID: group, members: members)
            }
        }
    }

    /// Tells the launcher the counts and the bytes received so far (rank 0's own count).
    func sendProgress() throws {
        progressBytesSent = counters.bytes
        lastProgressSent = Self.now()
        try sendToLauncher(.progress(finished: UInt32(coordinator.finishedCount), failed: UInt32(coordinator.failedCount),
                                     total: UInt32(coordinator.simulationCount),
                                     bytesReceived: UInt64(max(0, counters.bytes))))
    }

    func runTimers() throws {
        let now = Self.now()
        if counters.bytes != progressBytesSent && now - lastProgressSent >= 1 { try sendProgress() }
        if now - lastPingSent >= pingPeriod {
            lastPingSent = now
            try sendToLauncher(.ping)
        }
        try resendUnansweredRequests(now: now)
        try handle(coordinator.expireGracePeriods(now: now))
        try sendHoldingsQueries()
        try submitGroups()
        try checkpointIfDue(now: now)
        if !stopping, now - lastLauncherMessage > 2 * config.launcherConfig.serverTimeout {
            log.error("no message from the launcher for \(Int(now - lastLauncherMessage)) s: ending the study")
            endStudy(reason: "lost the launcher")
        }
    }

    /// Rank 0, from a flavor's long `finish()` (training after the last simulation): answers
    /// the launcher and sends its pings, so the study is not taken for lost while the flavor
    /// works. Other ranks return at once. Not collective; no data or handshake is served.
    public func keepLauncherInformed() throws {
        guard rank == 0 else { return }
        let ready = try transport.poll(timeoutMilliseconds: 0)
        if ready.contains(.launcher) { try drainLauncher() }
        let now = Self.now()
        if now - lastPingSent >= pingPeriod {
            lastPingSent = now
            try sendToLauncher(.ping)
        }
    }

    /// Rank 0: tells the launcher a training flavor's latest loss report (its status page and
    /// metrics show it). Other ranks return at once. Not collective.
    public func reportTraining(batch: Int, samples: Int, trainLoss: Double, validLoss: Double?) throws {
        guard rank == 0 else { return }
        try sendToLauncher(.training(batch: UInt64(max(0, batch)), samples: UInt64(max(0, samples)),
                                     trainLoss: trainLoss, validLoss: validLoss))
    }

    /// Rank 0: a rank's convergence verdict; once every rank has converged the study ends
    /// early, successfully, and no further group is submitted.
    func rankConverged(rank r: Int, _ converged: Bool) throws {
        if converged { convergedRanks.insert(r) } else { convergedRanks.remove(r) }
        if convergedRanks.count == commSize, !stopping {
            log.event("every server rank reports converged statistics: ending the study early")
            endStudy(reason: "statistics converged", success: true)
        }
    }

    /// Rank 0: tells every rank to leave the loop. `reason` nil means the study completed;
    /// `success` marks an early end that is not a failure (converged statistics).
    func endStudy(reason: String?, success: Bool = false) {
        guard !stopping else { return }
        stopReason = reason
        if (reason != nil && !success) || coordinator.failedCount > 0 { exitCode = 1 }
        for r in 1..<max(1, commSize) {
            do { try transport.sendInternal(InternalMessage.stop.encode(), to: r) } catch {
                log.error("cannot tell rank \(r) to stop: \(error)")
            }
        }
        stopping = true
    }

    /// Sends a numbered request (the number is this session's next) and keeps it until the
    /// launcher answers, so it can be sent again if the answer never comes.
    func sendRequest(_ build: (_ session: UInt64, _ request: UInt64) -> ControlMessage) throws {
        let request = nextLauncherRequest
        nextLauncherRequest += 1
        let message = build(launcherSession, request)
        unansweredRequests[request] = (message, Self.now())
        try sendToLauncher(message)
    }

    /// Sends again, unchanged, every request unanswered for a ping period: a lost message or
    /// answer costs one period, and the launcher never acts on a request twice.
    func resendUnansweredRequests(now: Double) throws {
        for (request, entry) in unansweredRequests.sorted(by: { $0.key < $1.key }) where now - entry.sentAt >= pingPeriod {
            log.event("no answer from the launcher to request \(request) for \(Int(now - entry.sentAt)) s: sending it again")
            unansweredRequests[request] = (entry.message, now)
            try sendToLauncher(entry.message)
        }
    }

    func sendToLauncher(_ message: ControlMessage) throws {
        try transport.sendLauncher(message.encode())
    }

}
