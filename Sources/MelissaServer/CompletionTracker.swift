import MelissaProtocol

/// What the tracker decided about one incoming data piece.
public enum PieceVerdict: Equatable, Sendable {
    /// New data: apply it. `simulationComplete` is true when it was the last piece this
    /// rank needed from that simulation.
    case accepted(simulationComplete: Bool)
    /// Same (simulation, field, client rank, time step) already seen: drop it.
    case duplicate
    /// The simulation already completed or was abandoned on this rank: drop it.
    case closed
    /// The piece would overfill the step (a client changed its decomposition): drop it.
    case inconsistent
}

/// Tracks, on one server rank, which time steps of which (simulation, field) block have
/// arrived, so duplicates are never applied and completion is exact.
///
/// Per (simulation, field) it keeps a bitset of time steps per client rank (duplicate
/// detection) and a count of values received per step (completion: a step is complete
/// when the rank's whole block arrived). State for a simulation is freed when it completes.
public struct CompletionTracker {
    /// Progress of one (simulation, field) on this rank. A reference, like
    /// `SimulationProgress`, so recording a piece updates it in place with one lookup.
    final class FieldProgress {
        var seen: [UInt32: Bitset] = [:]
        var valuesPerStep: [UInt64]
        var completeSteps = 0
        /// Steps known complete without per-client-rank detail (a reopened simulation):
        /// any piece for them is a duplicate.
        var sealed: Bitset?
        /// This rank's block size for the field (values of a complete step).
        var blockSize: UInt64 = 0
        init(steps: Int) { valuesPerStep = [UInt64](repeating: 0, count: steps) }
    }

    /// A reference, so a piece updates its simulation's state in place: copying it out of
    /// the dictionary and back would copy every per-step array on each message.
    final class SimulationProgress {
        var fields: [FieldProgress?]
        var completeFields = 0
        init(nbFields: Int) { fields = Array(repeating: nil, count: nbFields) }
    }

    let nbFields: Int
    let nbTimeSteps: Int
    var open: [UInt32: SimulationProgress] = [:]
    var closedSimulations: Bitset
    /// Which steps reach this rank: all of them (cell blocks), or those routed here whole.
    let routing: DataRouting
    let rank: Int
    let serverCount: Int

    /// A tracker for simulations 0..<simulationCount on server rank `rank` of `serverCount`,
    /// which receives the steps `routing` sends it.
    public init(simulationCount: Int, nbFields: Int, nbTimeSteps: Int, routing: DataRouting = .cellBlocks,
                rank: Int = 0, serverCount: Int = 1) {
        self.nbFields = nbFields
        self.nbTimeSteps = nbTimeSteps
        self.routing = routing
        self.rank = rank
        self.serverCount = serverCount
        closedSimulations = Bitset(capacity: simulationCount)
    }

    /// Steps of `sim` (per field) this rank receives: a field is complete after that many.
    func expectedSteps(_ sim: UInt32) -> Int {
        routing.stepCount(simulation: sim, rank: rank, nbTimeSteps: nbTimeSteps, serverCount: serverCount)
    }

    /// Simulations with partial data on this rank.
    public var openSimulations: Int { open.count }

    /// What `record` would decide for this piece, without recording it: the server asks before
    /// the flavor applies a piece and records it only after (commit after apply).
    public func classify(_ header: DataHeader, blockSize: UInt64) -> PieceVerdict {
        let sim = header.simulationID
        if closedSimulations.contains(Int(sim)) { return .closed }
        let f = Int(header.field)
        let step = Int(header.timeStep)
        let simulation = open[sim]
        let progress = simulation?.fields[f]
        if progress?.seen[header.clientRank]?.contains(step) == true { return .duplicate }
        if progress?.sealed?.contains(step) == true { return .duplicate }
        let received = (progress?.valuesPerStep[step] ?? 0) + header.count
        guard received <= blockSize, blockSize > 0 || header.count == 0 else { return .inconsistent }
        guard received == blockSize else { return .accepted(simulationComplete: false) }
        // This piece completes its step: the simulation completes when it was the last step of
        // the last incomplete field.
        let completeSteps = (progress?.completeSteps ?? 0) + 1
        let fieldCompletes = completeSteps == expectedSteps(sim)
        let completeFields = (simulation?.completeFields ?? 0) + (fieldCompletes ? 1 : 0)
        return .accepted(simulationComplete: completeFields == nbFields)
    }

    /// Records a piece of `header.count` values for a block of `blockSize` values.
    /// The caller has already checked ids, step range and that the slice lies in the block.
    public mutating func record(_ header: DataHeader, blockSize: UInt64) -> PieceVerdict {
        let sim = header.simulationID
        if closedSimulations.contains(Int(sim)) { return .closed }
        let simulation: SimulationProgress
        if let known = open[sim] { simulation = known } else {
            simulation = SimulationProgress(nbFields: nbFields)
            open[sim] = simulation
        }
        let f = Int(header.field)
        let step = Int(header.timeStep)
        let progress: FieldProgress
        if let known = simulation.fields[f] { progress = known } else {
            progress = FieldProgress(steps: nbTimeSteps)
            simulation.fields[f] = progress
        }
        if progress.seen[header.clientRank]?.contains(step) == true { return .duplicate }
        if progress.sealed?.contains(step) == true { return .duplicate }
        let received = progress.valuesPerStep[step] + header.count
        // An empty block completes with its (empty) marker piece; others by value count.
        guard received <= blockSize, blockSize > 0 || header.count == 0 else { return .inconsistent }
        progress.blockSize = blockSize
        progress.seen[header.clientRank, default: Bitset(capacity: nbTimeSteps)].insert(step)
        progress.valuesPerStep[step] = received
        if received == blockSize {
            progress.completeSteps += 1
            if progress.completeSteps == expectedSteps(sim) { simulation.completeFields += 1 }
        }
        guard simulation.completeFields == nbFields else { return .accepted(simulationComplete: false) }
        open[sim] = nil
        closedSimulations.insert(Int(sim))
        return .accepted(simulationComplete: true)
    }

    /// Accepts a simulation's data again for the (field, step)s in `forget`, which were
    /// received but never applied (held back, then discarded after a redraw); every other
    /// step stays as it was, so its resent pieces are still duplicates. A simulation that had
    /// completed on this rank is reopened with every step it had, minus `forget`. Returns
    /// true when the simulation is open on this rank afterwards.
    @discardableResult
    public mutating func reopen(simulation sim: UInt32, forget: [(field: Int, step: Int)]) -> Bool {
        let s = Int(sim)
        guard s < closedSimulations.capacity else { return false }
        let simulation: SimulationProgress
        if let known = open[sim] {
            simulation = known
        } else if closedSimulations.contains(s) {
            guard !forget.isEmpty else { return false }
            // Completed: every step routed here of every field had arrived. Rebuild that as sealed steps.
            simulation = SimulationProgress(nbFields: nbFields)
            for f in 0..<nbFields {
                let progress = FieldProgress(steps: nbTimeSteps)
                var all = Bitset(capacity: nbTimeSteps)
                for t in 0..<nbTimeSteps where routing.delivers(simulation: sim, step: UInt32(t), to: rank,
                                                                serverCount: serverCount) {
                    all.insert(t)
                }
                progress.sealed = all
                progress.completeSteps = expectedSteps(sim)
                simulation.fields[f] = progress
            }
            simulation.completeFields = nbFields
            closedSimulations.remove(s)
            open[sim] = simulation
        } else {
            return false
        }
        for (f, t) in forget where f < nbFields && t < nbTimeSteps {
            guard let progress = simulation.fields[f] else { continue }
            let wasComplete = progress.sealed?.contains(t) == true
                || (progress.seen.values.contains { $0.contains(t) } && progress.valuesPerStep[t] == progress.blockSize)
            for key in Array(progress.seen.keys) { progress.seen[key]?.remove(t) }
            progress.sealed?.remove(t)
            let fieldWasComplete = progress.completeSteps == expectedSteps(sim)
            if wasComplete { progress.completeSteps -= 1 }
            progress.valuesPerStep[t] = 0
            if fieldWasComplete && progress.completeSteps < expectedSteps(sim) { simulation.completeFields -= 1 }
        }
        return true
    }

    /// (field, time step) blocks of `sim` this rank still misses: 0 once it completed (or was
    /// closed), every block before its first piece. Answers rank 0's `holdingsQuery`.
    public func missingBlocks(simulation sim: UInt32) -> UInt32 {
        let expected = expectedSteps(sim)
        let all = UInt64(nbFields) * UInt64(expected)
        if Int(sim) < closedSimulations.capacity, closedSimulations.contains(Int(sim)) { return 0 }
        guard let simulation = open[sim] else { return UInt32(clamping: all) }
        var missing: UInt64 = 0
        for progress in simulation.fields {
            missing += UInt64(max(0, expected - (progress?.completeSteps ?? 0)))
        }
        return UInt32(clamping: missing)
    }

    /// Forgets a simulation's partial state and refuses its later data (failed job).
    public mutating func close(simulation: UInt32) {
        open[simulation] = nil
        if Int(simulation) < closedSimulations.capacity { closedSimulations.insert(Int(simulation)) }
    }
}
