import Foundation
import MelissaProtocol

/// Client failures: what the coordinator decided about a failed group (run again, draw new
/// parameters, give up, or end the study), simulations that stopped sending data, and the
/// study's fault report (`faults.json`).
extension BaseServer {
    /// Rank 0: carries out the coordinator's decisions about failed groups.
    func handle(_ outcomes: [StudyCoordinator.Outcome]) throws {
        for outcome in outcomes {
            switch outcome {
            case let .retry(group, sims, reason):
                let jobs = coordinator.records[group]?.jobs ?? 0
                log.event("group \(group) failed (\(reason)): running simulation(s) \(list(sims)) again with the same parameters (attempt \(jobs + 1))")
            case let .redraw(group, draw, sims, reason):
                log.event("group \(group) failed (\(reason)): drawing new parameters for simulation(s) \(list(sims)) (draw \(draw), after \(config.studyOptions.crashesBeforeRedraw) failure(s) of the previous one)")
                try redraw(group: group, draw: draw, simulations: sims)
            case let .gaveUp(group, sims, reason):
                recordError("group \(group) cannot complete, simulation(s) \(list(sims)) failed: \(reason)")
                try abandon(sims)
            case let .fatal(group, sims, reason):
                try abandon(sims)
                endStudy(reason: "simulation(s) \(list(sims)) of group \(group) failed: \(reason); launcher_config.fault_tolerance is false, so the study ends at the first failure")
            }
        }
        if !outcomes.isEmpty {
            try afterProgress()
            // A redraw asks the ranks what they still hold of the group.
            try sendHoldingsQueries()
        }
    }

    // MARK: - asking the ranks what they hold

    /// Rank 0: sends every due `holdingsQuery` round to every rank (its own answered locally).
    func sendHoldingsQueries() throws {
        while let query = coordinator.holdingsQuery(now: Self.now()) {
            log.log(.debug, "asking every rank what it holds of simulation(s) \(list(query.simulations)) (round \(query.round))")
            let message = InternalMessage.holdingsQuery(round: query.round, simulations: query.simulations).encode()
            for r in 1..<max(1, commSize) { try transport.sendInternal(message, to: r) }
            pendingQueries.append((query.round, query.simulations, Self.now()))
        }
    }

    /// Seconds a question waits at most for the data socket to have nothing waiting.
    static var holdingsAnswerLimit: Double { 2 }

    /// Every rank: answers the questions of rank 0 once no data is waiting (so the answer
    /// counts everything that had arrived), or after `holdingsAnswerLimit` under a flood.
    func answerHoldingsQueries() throws {
        guard let first = pendingQueries.first else { return }
        guard !dataPending || Self.now() - first.since >= Self.holdingsAnswerLimit else { return }
        let queries = pendingQueries
        pendingQueries = []
        for query in queries {
            let holdings = query.simulations.map {
                SimulationHolding(simulationID: $0, missingBlocks: tracker.missingBlocks(simulation: $0))
            }
            if rank == 0 {
                try holdingsReported(rank: 0, round: query.round, holdings: holdings)
            } else {
                try transport.sendInternal(InternalMessage.holdingsReport(rank: UInt32(rank), round: query.round,
                                                                          holdings: holdings).encode(), to: 0)
            }
        }
    }

    /// Rank 0: one rank's answer. Finished simulations are announced; groups whose job ended
    /// with data missing and nothing more arriving fail (and run again, as the policy says).
    func holdingsReported(rank r: Int, round: UInt32, holdings: [SimulationHolding]) throws {
        let verdict = coordinator.holdingsReported(rank: r, round: round, holdings: holdings, now: Self.now())
        for sim in verdict.finished {
            log.event("simulation \(sim) finished (\(coordinator.finishedCount)/\(coordinator.simulationCount))")
        }
        if !verdict.finished.isEmpty { try afterProgress() }
        try handle(verdict.outcomes)
        try submitGroups()
    }

    /// Tells every rank that `sims` will never complete: their partial state is dropped.
    func abandon(_ sims: [UInt32]) throws {
        for sim in sims {
            abandonLocally(sim)
            for r in 1..<max(1, commSize) {
                try transport.sendInternal(InternalMessage.simulationAbandoned(simulationID: sim).encode(), to: r)
            }
        }
    }

    func abandonLocally(_ sim: UInt32) {
        tracker.close(simulation: sim)
        lastData[sim] = nil
        simulationAbandoned(sim)
    }

    /// New parameters for `sims` of `group` (draw number `draw`), written to parameters.csv,
    /// and every rank told, so data held back from the old draw is discarded.
    func redraw(group: UInt32, draw: Int, simulations sims: [UInt32]) throws {
        let fresh = try redrawnParameters(group: group, draw: draw, simulations: sims)
        for (sim, p) in zip(sims, fresh) { parameters[Int(sim)] = p }
        try writeParameterTable()
        // Every rank redraws the same values from (seed, group or simulation, draw): the message
        // says which simulations, in chunks a message can carry.
        var chunks = stride(from: 0, to: sims.count, by: Limits.maxHoldings).map {
            Array(sims[$0..<min($0 + Limits.maxHoldings, sims.count)])
        }
        if chunks.isEmpty { chunks = [[]] }
        for chunk in chunks {
            try groupRedrawnLocally(group: group, draw: UInt32(draw), simulations: chunk)
            for r in 1..<max(1, commSize) {
                try transport.sendInternal(InternalMessage.groupRedrawn(groupID: group, draw: UInt32(draw),
                                                                        simulations: chunk).encode(), to: r)
            }
        }
    }

    /// Parameters of a redraw, reproducible from the study seed alone (so a restarted server
    /// draws the same): uniform in the bounds, from a stream seeded by (seed, group or
    /// simulation, draw). A joined plan (a Sobol group) draws one point for the whole group and
    /// expands it like its first draw; otherwise each simulation draws its own.
    func redrawnParameters(group: UInt32, draw: Int, simulations sims: [UInt32]) throws -> [[Double]] {
        let options = config.studyOptions
        let seed = UInt64(options.seed)
        let plan = config.samplingPlan
        let lower = Array([[Double]](repeating: options.lBounds, count: plan.drawWidth).joined())
        let upper = Array([[Double]](repeating: options.uBounds, count: plan.drawWidth).joined())
        if plan.joined {
            var sampler = try SamplerFactory.make(kind: .uniform, lowerBounds: lower, upperBounds: upper,
                                                  seed: Self.redrawSeed(seed, UInt64(group), UInt64(draw)), count: 1)
            let rows = try membersOfDraw(sampler.next())
            let first = coordinator.members(ofGroup: group).lowerBound
            return sims.map { rows[Int($0) - first] }
        }
        return try sims.map { sim in
            var sampler = try SamplerFactory.make(kind: .uniform, lowerBounds: lower, upperBounds: upper,
                                                  seed: Self.redrawSeed(seed, UInt64(sim), UInt64(draw)), count: 1)
            // An unjoined plan with several members per draw keeps the first row of each redraw.
            return try membersOfDraw(sampler.next())[0]
        }
    }

    /// SplitMix64 finaliser over (seed, id, draw): independent streams per redraw.
    static func redrawSeed(_ seed: UInt64, _ id: UInt64, _ draw: UInt64) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (id &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* draw
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Every rank: a group's parameters changed. Applied once per draw number, so a repeated
    /// notice (after a server restart) changes nothing.
    /// Applies a redraw on this rank: the new parameters of `sims` (rank 0 drew them already;
    /// the others draw the same, so every rank knows every simulation's parameters), then, once
    /// per draw number, the flavor's `groupRedrawn`. An empty `sims` (a repeat after a restart,
    /// whose parameters came with the setup) changes no parameters.
    func groupRedrawnLocally(group: UInt32, draw: UInt32, simulations sims: [UInt32]) throws {
        let known = knownDraws[group, default: 0]
        guard draw >= known else { return }
        if rank != 0, !sims.isEmpty {
            guard sims.allSatisfy({ coordinator.members(ofGroup: group).contains(Int($0)) && Int($0) < parameters.count }) else {
                log.error("ignored a redraw of group \(group) naming simulations outside it: \(sims.prefix(8))")
                return
            }
            let fresh = try redrawnParameters(group: group, draw: Int(draw), simulations: sims)
            for (sim, p) in zip(sims, fresh) { parameters[Int(sim)] = p }
        }
        guard draw > known else { return }
        knownDraws[group] = draw
        groupRedrawn(group, members: coordinator.members(ofGroup: group).map(UInt32.init))
    }

    /// Forgets that these (field, step)s of `simulation` arrived, so the new draw's data for
    /// them is accepted (a flavor calls it for data it held back and discarded).
    public func forgetReceived(simulation: UInt32, steps: [(field: Int, step: Int)]) {
        tracker.reopen(simulation: simulation, forget: steps)
    }

    // MARK: - simulations that stop sending

    /// Every rank, at most once a second: simulations this rank is waiting for that sent
    /// nothing for `simulation_timeout` seconds are reported to rank 0 (once each).
    func checkStalls(now: Double) throws {
        guard now - lastStallCheck >= 1 else { return }
        lastStallCheck = now
        let timeout = config.studyOptions.simulationTimeout
        for (sim, seen) in lastData where now - seen > timeout {
            lastData[sim] = nil
            if rank == 0 {
                try simulationStalled(sim, rank: 0, silence: now - seen)
            } else {
                try transport.sendInternal(InternalMessage.simulationStalled(rank: UInt32(rank), simulationID: sim).encode(), to: 0)
            }
        }
    }

    /// Rank 0: a simulation went silent on some rank. Its group's job is cancelled through the
    /// launcher (its failure then runs it again), unless that job started too recently to
    /// be the one that went silent.
    func simulationStalled(_ sim: UInt32, rank r: Int, silence: Double? = nil) throws {
        guard Int(sim) < coordinator.simulationCount else { return }
        // The job to cancel is the persistent job that was handed the simulation, if one was;
        // the simulation's start is when its own group began running.
        let group = coordinator.jobGroup(of: sim)
        let timeout = config.studyOptions.simulationTimeout
        if let started = jobStarted[coordinator.group(of: sim)], Self.now() - started < timeout { return }
        switch coordinator.states[Int(sim)] {
        case .submitted, .running: break
        default: return
        }
        let reason = "no data from simulation \(sim) on server rank \(r) for more than \(Self.seconds(timeout)) (study_options.simulation_timeout)"
        guard coordinator.cancelling(group: group, reason: reason) else { return }
        log.event("\(reason): asking the launcher to cancel group \(group)")
        try sendRequest { session, request in
            .cancelJob(session: session, request: request, groupID: group, reason: reason)
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    func list(_ sims: [UInt32]) -> String { sims.map(String.init).joined(separator: ", ") }

    // MARK: - the fault report

    /// Rank 0: `faults.json`, what went wrong and what was done about it, group by group.
    func writeFaultReport() throws {
        let counts = coordinator.faultCounts
        var groups: [[String: Any]] = []
        for g in coordinator.records.keys.sorted() {
            guard let record = coordinator.records[g], !record.failures.isEmpty else { continue }
            let members = coordinator.members(ofGroup: g)
            let failed = members.contains { if case .failed = coordinator.states[$0] { return true } else { return false } }
            groups.append([
                "group": Int(g), "simulations": Array(members), "jobs": record.jobs, "draws": record.draw + 1,
                "state": failed ? "given_up" : members.allSatisfy({ coordinator.states[$0] == .finished }) ? "finished" : "incomplete",
                "failures": record.failures.map { f in
                    ["attempt": f.attempt, "draw": f.draw, "simulations": f.simulations.map(Int.init), "reason": f.reason] as [String: Any]
                },
            ])
        }
        let report: [String: Any] = [
            "resubmitted": counts.resubmitted, "redrawn": counts.redrawn, "given_up": counts.givenUp,
            "server_restarts": serverRestarts, "fault_tolerance": config.launcherConfig.faultTolerance,
            "crashes_before_redraw": config.studyOptions.crashesBeforeRedraw,
            "max_redraws": config.studyOptions.maxRedraws, "groups": groups,
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: "\(studyDirectory)/faults.json"), options: .atomic)
    }
}
