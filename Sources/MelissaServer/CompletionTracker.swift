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
    /// Progress of one (simulation, field) on this rank.
    private struct FieldProgress {
        var seen: [UInt32: Bitset] = [:]
        var valuesPerStep: [UInt64]
        var completeSteps = 0
        init(steps: Int) { valuesPerStep = [UInt64](repeating: 0, count: steps) }
    }

    /// A reference, so a piece updates its simulation's state in place: copying it out of
    /// the dictionary and back would copy every per-step array on each message.
    private final class SimulationProgress {
        var fields: [FieldProgress?]
        var completeFields = 0
        init(nbFields: Int) { fields = Array(repeating: nil, count: nbFields) }
    }

    private let nbFields: Int
    private let nbTimeSteps: Int
    private var open: [UInt32: SimulationProgress] = [:]
    private var closedSimulations: Bitset

    /// A tracker for simulations 0..<simulationCount.
    public init(simulationCount: Int, nbFields: Int, nbTimeSteps: Int) {
        self.nbFields = nbFields
        self.nbTimeSteps = nbTimeSteps
        closedSimulations = Bitset(capacity: simulationCount)
    }

    /// Simulations with partial data on this rank.
    public var openSimulations: Int { open.count }

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
        if simulation.fields[f] == nil { simulation.fields[f] = FieldProgress(steps: nbTimeSteps) }
        // Optional chaining through the array element mutates it in place.
        if simulation.fields[f]?.seen[header.clientRank]?.contains(step) == true { return .duplicate }
        let received = (simulation.fields[f]?.valuesPerStep[step] ?? 0) + header.count
        // An empty block completes with its (empty) marker piece; others by value count.
        guard received <= blockSize, blockSize > 0 || header.count == 0 else { return .inconsistent }
        simulation.fields[f]?.seen[header.clientRank, default: Bitset(capacity: nbTimeSteps)].insert(step)
        simulation.fields[f]?.valuesPerStep[step] = received
        if received == blockSize {
            simulation.fields[f]?.completeSteps += 1
            if simulation.fields[f]?.completeSteps == nbTimeSteps { simulation.completeFields += 1 }
        }
        guard simulation.completeFields == nbFields else { return .accepted(simulationComplete: false) }
        open[sim] = nil
        closedSimulations.insert(Int(sim))
        return .accepted(simulationComplete: true)
    }

    /// Forgets a simulation's partial state and refuses its later data (failed job).
    public mutating func close(simulation: UInt32) {
        open[simulation] = nil
        if Int(simulation) < closedSimulations.capacity { closedSimulations.insert(Int(simulation)) }
    }
}
