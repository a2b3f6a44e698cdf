import MelissaProtocol

/// Rank 0's bookkeeping of the study: which simulations are pending, submitted, finished
/// or failed, which groups hold a job slot, which failed groups run again (with the same or
/// new parameters), and when the study is over. Pure state, no I/O, so every transition is
/// unit-testable.
///
/// Completion is state, not an event: a simulation is finished once every server rank
/// holds all of it, whichever job delivered the data. Ranks report completion as it
/// happens, and rank 0 asks them (`holdingsQuery`) whenever it needs to know for sure: when
/// a job ended before every rank completed its simulations, and after a redraw that may
/// have reopened a completed simulation on some ranks.
public struct StudyCoordinator {
    /// Where one simulation stands.
    public enum SimulationState: Equatable, Sendable {
        case pending
        case submitted
        case running
        /// Its job ended but not every server rank has all its data yet. Rank 0 asks the ranks
        /// what they hold every `probeInterval` until it completes or stops progressing; it
        /// fails at `deadline` if no answer ever comes.
        case awaitingData(deadline: Double)
        case finished
        /// Given up: its group cannot complete (or fault tolerance is off).
        case failed(reason: String)
    }

    /// One failed attempt of a group, for the study's fault report.
    public struct Failure: Equatable, Sendable {
        /// 1 for the group's first job, counting every job of every draw.
        public var attempt: Int
        /// The parameter draw the attempt ran (0 = the original draw).
        public var draw: Int
        public var simulations: [UInt32]
        public var reason: String
    }

    /// A group's history of faults.
    public struct GroupRecord: Equatable, Sendable {
        /// Jobs submitted for the group so far.
        public var jobs = 0
        /// Failed attempts with the current draw.
        public var failuresThisDraw = 0
        /// Current parameter draw (0 = the original one).
        public var draw = 0
        public var failures: [Failure] = []
        /// Why the server asked the launcher to cancel the group's job (no data in time): the
        /// reason its coming failure is reported with.
        public var cancelReason: String?
    }

    /// Rank 0's question about one simulation: which ranks answered the current round, and
    /// what the previous complete round found missing (progress tells data in flight from
    /// data that will never come).
    struct Probe: Equatable {
        /// The round in flight (0: none; the next one goes out at `nextAt`).
        var round: UInt32 = 0
        var answered: Bitset
        /// (field, step) blocks each rank missed in the current round.
        var missing: [UInt32]
        /// Total blocks missing in the last complete round.
        var previousMissing: UInt64?
        var nextAt: Double
    }

    /// The ranks' answers to a `holdingsQuery`: what it concluded.
    public struct HoldingsVerdict: Equatable, Sendable {
        /// Simulations now finished (every rank holds all of them).
        public var finished: [UInt32] = []
        /// Failed groups: their job ended, data is missing and none arrived for a round.
        public var outcomes: [Outcome] = []
    }

    /// What a group's failure leads to.
    public enum Outcome: Equatable, Sendable {
        /// Run the unfinished simulations again with the same parameters.
        case retry(group: UInt32, simulations: [UInt32], reason: String)
        /// Draw new parameters for `simulations` (draw number `draw`) and run them again.
        case redraw(group: UInt32, draw: Int, simulations: [UInt32], reason: String)
        /// The group cannot complete: its unfinished simulations are failed for good.
        case gaveUp(group: UInt32, simulations: [UInt32], reason: String)
        /// Fault tolerance is off: the study ends.
        case fatal(group: UInt32, simulations: [UInt32], reason: String)
    }

    /// How failures are handled (`launcher_config.fault_tolerance`, `crashes_before_redraw`,
    /// `max_redraws`, and whether a redraw takes the whole group: Sobol pick-freeze groups).
    public struct FaultPolicy: Equatable, Sendable {
        public var faultTolerance: Bool
        public var crashesBeforeRedraw: Int
        public var maxRedraws: Int
        public var redrawWholeGroup: Bool

        public init(faultTolerance: Bool = true, crashesBeforeRedraw: Int = 1, maxRedraws: Int = 2,
                    redrawWholeGroup: Bool = false) {
            self.faultTolerance = faultTolerance
            self.crashesBeforeRedraw = max(1, crashesBeforeRedraw)
            self.maxRedraws = max(0, maxRedraws)
            self.redrawWholeGroup = redrawWholeGroup
        }
    }

    public let simulationCount: Int
    public let groupSize: Int
    public let jobLimit: Int
    public let serverRanks: Int
    /// Seconds a simulation whose job ended waits at most for the ranks' answers (a backstop:
    /// answers normally come within milliseconds) or for more data while it still progresses.
    public let dataGrace: Double
    /// Seconds between two rounds of `holdingsQuery` about a simulation whose job ended: data
    /// that did not arrive in that time, while nothing else of it arrived, is missing.
    public let probeInterval: Double
    public let policy: FaultPolicy
    /// How data reaches the ranks: a rank that receives nothing of a simulation (whole-step
    /// routing) is not waited for.
    public let routing: DataRouting
    /// `nb_time_steps`, for which ranks receive steps under `routing`.
    public let nbTimeSteps: Int

    /// `study_options.offline`: nothing is streamed, so a simulation is finished as soon as its
    /// job exits 0 (Melissa's offline mode); failures are handled as usual.
    public var offline = false

    /// `client_config.persistent_jobs`: at most this many jobs run at once, each running
    /// simulations one after another as it asks for them (`nextSimulation`); nil: one job per
    /// group, as many as `job_limit` allows.
    public var persistentJobs: Int?
    /// Per job (named by the group it was submitted for, its host), the groups it was handed
    /// after its own: their fate follows the job's.
    public internal(set) var hosted: [UInt32: [UInt32]] = [:]
    /// The host of each handed-out group.
    var hostOf: [UInt32: UInt32] = [:]
    /// Simulations a job's request handed out as the job's own (each member of a group job asks
    /// for itself first).
    var servedOwn: Set<UInt32> = []

    public internal(set) var states: [SimulationState]
    public internal(set) var records: [UInt32: GroupRecord] = [:]
    var completeRanks: [UInt32: Bitset] = [:]
    var probes: [UInt32: Probe] = [:]
    var lastRound: UInt32 = 0
    var nextGroup = 0
    /// Failed groups waiting for a job slot to run again, oldest first.
    public internal(set) var retryQueue: [UInt32] = []
    /// Groups holding a job slot (submitted, job not ended).
    public internal(set) var activeGroups: Set<UInt32> = []
    public internal(set) var finishedCount = 0
    public internal(set) var failedCount = 0

    public init(simulationCount: Int, groupSize: Int, jobLimit: Int, serverRanks: Int, dataGrace: Double,
                probeInterval: Double = 0.5, policy: FaultPolicy = FaultPolicy(),
                routing: DataRouting = .cellBlocks, nbTimeSteps: Int = 1) {
        self.simulationCount = simulationCount
        self.routing = routing
        self.nbTimeSteps = nbTimeSteps
        self.groupSize = max(1, groupSize)
        self.jobLimit = max(1, jobLimit)
        self.serverRanks = serverRanks
        self.dataGrace = dataGrace
        self.probeInterval = probeInterval
        self.policy = policy
        states = Array(repeating: .pending, count: simulationCount)
    }

    /// Number of groups in the study (the last one may be smaller).
    public var groupCount: Int { (simulationCount + groupSize - 1) / groupSize }

    /// Simulation ids of group `g`.
    public func members(ofGroup g: UInt32) -> Range<Int> {
        let lo = Int(g) * groupSize
        return lo..<min(lo + groupSize, simulationCount)
    }

    /// The group simulation `sim` belongs to.
    public func group(of sim: UInt32) -> UInt32 { sim / UInt32(groupSize) }

    /// The members of `g` its next (or current) job runs: those submitted and not yet done.
    public func submittedMembers(ofGroup g: UInt32) -> [UInt32] {
        members(ofGroup: g).filter { states[$0] == .submitted }.map(UInt32.init)
    }

    /// True once every simulation finished or failed.
    public var isDone: Bool { finishedCount + failedCount == simulationCount }

    /// Simulations whose job is running.
    public var runningCount: Int { states.filter { $0 == .running }.count }

    /// Groups run again so far (same parameters), redrawn, and given up: the fault summary.
    public var faultCounts: (resubmitted: Int, redrawn: Int, givenUp: Int) {
        var resubmitted = 0, redrawn = 0
        for record in records.values {
            resubmitted += max(0, record.jobs - 1 - record.draw)
            redrawn += record.draw
        }
        let givenUp = Set(states.indices.filter { if case .failed = states[$0] { return true } else { return false } }
            .map { group(of: UInt32($0)) }).count
        return (resubmitted, redrawn, givenUp)
    }

    /// Takes the groups to submit while job slots are free: failed groups waiting to run
    /// again first, then new ones. Their simulations to run are now `submitted`.
    public mutating func groupsToSubmit() -> [UInt32] {
        var out: [UInt32] = []
        let slots = persistentJobs.map { min(jobLimit, $0) } ?? jobLimit
        while activeGroups.count < slots {
            let g: UInt32
            if !retryQueue.isEmpty {
                g = retryQueue.removeFirst()
            } else if nextGroup < groupCount {
                g = UInt32(nextGroup)
                nextGroup += 1
            } else {
                break
            }
            var any = false
            for s in members(ofGroup: g) where states[s] == .pending {
                states[s] = .submitted
                any = true
            }
            // A retried group whose late data completed it meanwhile needs no job.
            guard any else { continue }
            activeGroups.insert(g)
            records[g, default: GroupRecord()].jobs += 1
            out.append(g)
        }
        return out
    }

    /// What a job asking for its next simulation gets.
    public enum NextSimulation: Equatable, Sendable {
        /// Run this simulation next.
        case run(UInt32)
        /// Nothing left for this job: it should exit 0.
        case finished
        /// The request does not come from a running job of this study: refused with the reason.
        case refused(String)
    }

    /// The group whose job runs `sim`: its host when a persistent job was handed it, else its own.
    public func jobGroup(of sim: UInt32) -> UInt32 {
        let g = group(of: sim)
        return hostOf[g] ?? g
    }

    /// A job (started for simulation `jobSimulation`) asks what to run next: first its own
    /// simulation, then, with persistent jobs, the next group waiting for a job slot (failed
    /// groups first), which now runs inside this job and fails with it.
    public mutating func nextSimulation(jobOf jobSimulation: UInt32) -> NextSimulation {
        guard Int(jobSimulation) < simulationCount else {
            return .refused("simulation \(jobSimulation) is not in this study (0..<\(simulationCount))")
        }
        let host = group(of: jobSimulation)
        guard activeGroups.contains(host) else {
            return .refused("the job of simulation \(jobSimulation) is not running for this server (it ended, or the server restarted)")
        }
        if !servedOwn.contains(jobSimulation) {
            servedOwn.insert(jobSimulation)
            let s = Int(jobSimulation)
            if states[s] == .submitted || states[s] == .running {
                states[s] = .running
                return .run(jobSimulation)
            }
        }
        guard persistentJobs != nil else { return .finished }
        while true {
            let g: UInt32
            if !retryQueue.isEmpty {
                g = retryQueue.removeFirst()
            } else if nextGroup < groupCount {
                g = UInt32(nextGroup)
                nextGroup += 1
            } else {
                return .finished
            }
            let waiting = members(ofGroup: g).filter { states[$0] == .pending }
            // A retried group whose late data completed it meanwhile needs no run.
            guard let first = waiting.first else { continue }
            for s in waiting { states[s] = .running }
            records[g, default: GroupRecord()].jobs += 1
            hostOf[g] = host
            hosted[host, default: []].append(g)
            return .run(UInt32(first))
        }
    }

    /// Records that server rank `rank` holds all of simulation `sim`'s data.
    /// Returns true when this made the simulation finished.
    public mutating func rankCompleted(rank: Int, simulation sim: UInt32) -> Bool {
        let s = Int(sim)
        guard s < simulationCount, rank < serverRanks else { return false }
        // A pending simulation is waiting to run again: data of its failed job arriving late
        // can still complete it (the rerun's copies are then dropped as duplicates).
        switch states[s] {
        case .finished, .failed: return false
        default: break
        }
        var ranks = completeRanks[sim] ?? ranksWithoutData(sim)
        ranks.insert(rank)
        completeRanks[sim] = ranks
        // While a round of questions is out, its answers decide (a bit may be stale there).
        guard ranks.isFull, (probes[sim]?.round ?? 0) == 0 else { return false }
        finish(sim)
        return true
    }

    /// The ranks `sim` needs nothing from (complete from the start): none under cell blocks.
    func ranksWithoutData(_ sim: UInt32) -> Bitset {
        var ranks = Bitset(capacity: serverRanks)
        guard routing != .cellBlocks else { return ranks }
        for r in 0..<serverRanks where routing.stepCount(simulation: sim, rank: r, nbTimeSteps: nbTimeSteps,
                                                          serverCount: serverRanks) == 0 {
            ranks.insert(r)
        }
        return ranks
    }

    mutating func finish(_ sim: UInt32) {
        completeRanks[sim] = nil
        probes[sim] = nil
        states[Int(sim)] = .finished
        finishedCount += 1
    }

    /// Starts asking the ranks what they hold of `sims` (the first round goes out at once).
    mutating func probe(_ sims: [UInt32], now: Double) {
        for sim in sims {
            probes[sim] = Probe(answered: Bitset(capacity: serverRanks),
                                missing: Array(repeating: 0, count: serverRanks), nextAt: now)
        }
    }

    /// The next `holdingsQuery` to send to every rank: the simulations whose next round is
    /// due, under a new round number. Nil when none is due.
    public mutating func holdingsQuery(now: Double) -> (round: UInt32, simulations: [UInt32])? {
        let due = probes.filter { $0.value.round == 0 && $0.value.nextAt <= now }.keys.sorted()
        guard !due.isEmpty else { return nil }
        lastRound = lastRound == UInt32.max ? 1 : lastRound + 1
        let sims = Array(due.prefix(Limits.maxHoldings))
        for sim in sims {
            probes[sim]?.round = lastRound
            probes[sim]?.answered = Bitset(capacity: serverRanks)
        }
        return (lastRound, sims)
    }

    /// Applies rank `rank`'s answer to round `round`. Each answer is the rank's state (complete
    /// or not), so it sets or clears that rank's completion; when every rank answered, the
    /// simulation is finished, asked about again after `probeInterval` (its job ended and data
    /// is still arriving), or, its job having ended and nothing more arrived since the previous
    /// round, its group failed. Answers to another round than the one in flight are ignored.
    public mutating func holdingsReported(rank: Int, round: UInt32, holdings: [SimulationHolding],
                                          now: Double) -> HoldingsVerdict {
        var verdict = HoldingsVerdict()
        guard rank < serverRanks else { return verdict }
        var stale: [UInt32: [UInt32]] = [:]
        for h in holdings {
            let sim = h.simulationID
            guard var p = probes[sim], p.round == round, round != 0, !p.answered.contains(rank) else { continue }
            switch states[Int(sim)] {
            case .finished, .failed: probes[sim] = nil; continue
            default: break
            }
            p.answered.insert(rank)
            p.missing[rank] = h.missingBlocks
            var ranks = completeRanks[sim] ?? ranksWithoutData(sim)
            if h.missingBlocks == 0 { ranks.insert(rank) } else { ranks.remove(rank) }
            completeRanks[sim] = ranks
            guard p.answered.isFull else { probes[sim] = p; continue }
            if ranks.isFull {
                finish(sim)
                verdict.finished.append(sim)
                continue
            }
            guard case .awaitingData = states[Int(sim)] else {
                // A question after a redraw: the answers were all it needed.
                probes[sim] = nil
                continue
            }
            let total = p.missing.reduce(UInt64(0)) { $0 + UInt64($1) }
            if let before = p.previousMissing, total >= before {
                probes[sim] = p
                stale[group(of: sim), default: []].append(sim)
                continue
            }
            // Still arriving: ask again, and give it a whole grace period from now.
            p.previousMissing = total
            p.round = 0
            p.nextAt = now + probeInterval
            probes[sim] = p
            states[Int(sim)] = .awaitingData(deadline: now + dataGrace)
        }
        for g in stale.keys.sorted() {
            let sims = members(ofGroup: g).map(UInt32.init).filter {
                if case .awaitingData = states[Int($0)] { return true } else { return false }
            }
            let detail = (stale[g] ?? []).map { sim -> String in
                let missing = probes[sim]?.missing ?? []
                let where_ = missing.enumerated().filter { $0.element > 0 }
                    .map { "\($0.element) on server rank \($0.offset)" }.joined(separator: ", ")
                return "simulation \(sim) misses (field, time step) blocks: \(where_)"
            }.joined(separator: "; ")
            let why = "job exited 0 but the server ranks never received all the data: \(detail); nothing more came in \(Self.seconds(probeInterval))"
            verdict.outcomes.append(groupFailed(g, simulations: sims, reason: why))
        }
        return verdict
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\((value * 10).rounded() / 10) s"
    }

    /// Notes why the group's job is being cancelled, so its failure is reported with it.
    /// Returns false when the group holds no job slot (nothing to cancel).
    public mutating func cancelling(group g: UInt32, reason: String) -> Bool {
        guard activeGroups.contains(g), records[g]?.cancelReason == nil else { return false }
        records[g, default: GroupRecord()].cancelReason = reason
        return true
    }

    /// Applies a job state from the launcher; returns what the failure of the job's groups (its
    /// own, and those a persistent job was handed) leads to, if any.
    public mutating func jobChanged(group: UInt32, state: JobState, exitCode: Int32, reason: String,
                                    now: Double) -> [Outcome] {
        guard Int(group) < groupCount, activeGroups.contains(group) else { return [] }
        let groups = [group] + (hosted[group] ?? [])
        var unfinished: [UInt32: [UInt32]] = [:]
        for g in groups {
            for s in members(ofGroup: g) {
                switch (states[s], state) {
                case (.submitted, .running):
                    states[s] = .running
                case (.submitted, .terminated), (.running, .terminated):
                    if offline {
                        finish(UInt32(s))
                    } else {
                        states[s] = .awaitingData(deadline: now + dataGrace)
                        probe([UInt32(s)], now: now)
                    }
                case (.submitted, .failed), (.running, .failed), (.awaitingData, .failed):
                    unfinished[g, default: []].append(UInt32(s))
                default:
                    break
                }
            }
        }
        guard state == .terminated || state == .failed else { return [] }
        activeGroups.remove(group)
        for s in members(ofGroup: group) { servedOwn.remove(UInt32(s)) }
        for g in hosted[group] ?? [] { hostOf[g] = nil }
        hosted[group] = nil
        let why = records[group]?.cancelReason
            ?? (reason.isEmpty ? "job failed with exit code \(exitCode)" : "\(reason) (exit code \(exitCode))")
        records[group]?.cancelReason = nil
        return groups.compactMap { g in
            guard let sims = unfinished[g], !sims.isEmpty else { return nil }
            return groupFailed(g, simulations: sims, reason: g == group ? why : "\(why), in the persistent job of group \(group)")
        }
    }

    /// Simulations whose job ended but whose data did not all arrive within the grace period:
    /// their groups fail (and run again, as the fault policy says).
    public mutating func expireGracePeriods(now: Double) -> [Outcome] {
        var expired: [UInt32: [UInt32]] = [:]
        for s in 0..<simulationCount {
            if case let .awaitingData(deadline) = states[s], now >= deadline {
                expired[group(of: UInt32(s)), default: []].append(UInt32(s))
            }
        }
        return expired.keys.sorted().map { g in
            let sims = expired[g] ?? []
            let have = sims.map { completeRanks[$0]?.count ?? 0 }.min() ?? 0
            let why = "job exited 0 but only \(have) of \(serverRanks) server ranks received all the data of simulation(s) \(sims.map(String.init).joined(separator: ", ")) and not every rank answered within \(Self.seconds(dataGrace))"
            return groupFailed(g, simulations: sims, reason: why)
        }
    }

    /// One failed attempt of group `g` whose `simulations` did not finish.
    mutating func groupFailed(_ g: UInt32, simulations: [UInt32], reason: String) -> Outcome {
        var record = records[g] ?? GroupRecord()
        record.cancelReason = nil
        record.failuresThisDraw += 1
        record.failures.append(Failure(attempt: record.jobs, draw: record.draw, simulations: simulations, reason: reason))
        defer { records[g] = record }
        // What the ranks hold stays: a rerun only has to bring what is missing, and a rank
        // that already holds everything will never report the simulation again.
        for s in simulations { probes[s] = nil }
        guard policy.faultTolerance else {
            fail(simulations, reason: reason + " (launcher_config.fault_tolerance is false)")
            return .fatal(group: g, simulations: simulations, reason: reason)
        }
        if record.failuresThisDraw < policy.crashesBeforeRedraw {
            for s in simulations { states[Int(s)] = .pending }
            retryQueue.append(g)
            return .retry(group: g, simulations: simulations, reason: reason)
        }
        guard record.draw < policy.maxRedraws else {
            let why = "given up after \(record.failures.count) failed attempt(s) over \(record.draw + 1) parameter draw(s) "
                + "(crashes_before_redraw \(policy.crashesBeforeRedraw), max_redraws \(policy.maxRedraws)); last: \(reason)"
            fail(simulations, reason: why)
            return .gaveUp(group: g, simulations: simulations, reason: why)
        }
        record.draw += 1
        record.failuresThisDraw = 0
        // A pick-freeze group is one sample: every member takes the new draw, finished ones too.
        let redrawn = policy.redrawWholeGroup ? members(ofGroup: g).map(UInt32.init) : simulations
        for s in redrawn {
            if states[Int(s)] == .finished { finishedCount -= 1 }
            states[Int(s)] = .pending
        }
        if policy.redrawWholeGroup {
            // Ranks reopen what the old draw left unapplied (docs/FAULTS.md): which ranks still
            // hold each member is theirs to say, asked right after they heard of the redraw.
            for s in redrawn { completeRanks[s] = nil }
            probe(redrawn, now: -Double.infinity)
        }
        retryQueue.append(g)
        return .redraw(group: g, draw: record.draw, simulations: redrawn, reason: reason)
    }

    mutating func fail(_ simulations: [UInt32], reason: String) {
        for s in simulations {
            states[Int(s)] = .failed(reason: reason)
            failedCount += 1
        }
    }

    /// The earliest pending grace deadline or question round, for the poll timeout.
    public var nextDeadline: Double? {
        let grace = states.compactMap { if case let .awaitingData(d) = $0 { return d } else { return nil } }.min()
        let round = probes.values.filter { $0.round == 0 }.map(\.nextAt).min()
        switch (grace, round) {
        case let (g?, r?): return min(g, r)
        case let (g, r): return g ?? r
        }
    }
}
