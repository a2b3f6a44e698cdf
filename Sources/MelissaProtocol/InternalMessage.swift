/// What one server rank holds of one simulation, as it answers rank 0's `holdingsQuery`.
public struct SimulationHolding: Equatable, Sendable {
    public var simulationID: UInt32
    /// (field, time step) blocks of this rank's share still missing; 0 when the simulation is
    /// complete on this rank (or closed: abandoned simulations count as complete).
    public var missingBlocks: UInt32

    public init(simulationID: UInt32, missingBlocks: UInt32) {
        self.simulationID = simulationID
        self.missingBlocks = missingBlocks
    }
}

/// Server rank <-> server rank 0 coordination inside one server job (PUSH -> PULL).
public enum InternalMessage: Equatable, Sendable {
    /// Rank -> rank 0: this rank holds every time step of every field of a simulation.
    case simulationComplete(rank: UInt32, simulationID: UInt32)
    /// Rank 0 -> rank: a simulation will never complete (its job failed); forget its partial state.
    case simulationAbandoned(simulationID: UInt32)
    /// Rank 0 -> rank: leave the poll loop and write results.
    case stop
    /// Rank -> rank 0: whether this rank's statistics meet the flavor's convergence test
    /// (e.g. every Sobol interval narrower than `sobol_convergence_width`).
    case converged(rank: UInt32, converged: Bool)
    /// Rank -> rank 0: no data from a simulation this rank is waiting for since
    /// `study_options.simulation_timeout` seconds (its job may hang).
    case simulationStalled(rank: UInt32, simulationID: UInt32)
    /// Rank 0 -> rank: a group's parameters were drawn again (draw number `draw`, 1 for the
    /// first redraw) for `simulations` (the whole group, or its failed members): data held back
    /// from an earlier draw and not yet applied must go, and each rank redraws the same values.
    case groupRedrawn(groupID: UInt32, draw: UInt32, simulations: [UInt32])
    /// Rank 0 -> rank: write checkpoint number `sequence` now (then keep going, or stop
    /// when `thenStop`).
    case checkpoint(sequence: UInt64, thenStop: Bool)
    /// Rank 0 -> rank: say what you hold of these simulations (round `round`), once every data
    /// message already queued on your data socket is taken.
    case holdingsQuery(round: UInt32, simulations: [UInt32])
    /// Rank -> rank 0: the answer to `holdingsQuery` round `round`, one entry per simulation asked.
    case holdingsReport(rank: UInt32, round: UInt32, holdings: [SimulationHolding])
    /// Rank -> rank 0: this rank finished writing checkpoint `sequence` (`written` false: the
    /// write failed and its previous checkpoint stays). Rank 0 asks for the next checkpoint only
    /// once every rank answered, so no rank is ever two checkpoints ahead of another.
    case checkpointWritten(rank: UInt32, sequence: UInt64, written: Bool)

    public var kind: UInt16 {
        switch self {
        case .simulationComplete: return 1
        case .simulationAbandoned: return 2
        case .stop: return 3
        case .converged: return 4
        case .simulationStalled: return 5
        case .groupRedrawn: return 6
        case .checkpoint: return 7
        case .holdingsQuery: return 8
        case .holdingsReport: return 9
        case .checkpointWritten: return 10
        }
    }

    /// The encoded frame.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.raw(Magic.internalRank.bytes); w.u16(internalProtocolVersion); w.u16(kind)
        switch self {
        case let .simulationComplete(rank, sim): w.u32(rank); w.u32(sim)
        case let .simulationAbandoned(sim): w.u32(sim)
        case .stop: break
        case let .converged(rank, flag): w.u32(rank); w.u8(flag ? 1 : 0)
        case let .simulationStalled(rank, sim): w.u32(rank); w.u32(sim)
        case let .groupRedrawn(group, draw, sims):
            w.u32(group); w.u32(draw); w.u32(UInt32(sims.count))
            for sim in sims { w.u32(sim) }
        case let .checkpoint(sequence, thenStop): w.u64(sequence); w.u8(thenStop ? 1 : 0)
        case let .holdingsQuery(round, sims):
            w.u32(round); w.u32(UInt32(sims.count))
            for sim in sims { w.u32(sim) }
        case let .holdingsReport(rank, round, holdings):
            w.u32(rank); w.u32(round); w.u32(UInt32(holdings.count))
            for h in holdings { w.u32(h.simulationID); w.u32(h.missingBlocks) }
        case let .checkpointWritten(rank, sequence, written): w.u32(rank); w.u64(sequence); w.u8(written ? 1 : 0)
        }
        return w.bytes
    }

    /// Decodes one frame.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> InternalMessage {
        var r = ByteReader(buffer, message: "internal message")
        let kind = try r.header(magic: .internalRank)
        let message: InternalMessage
        switch kind {
        case 1: message = .simulationComplete(rank: try r.u32(), simulationID: try r.u32())
        case 2: message = .simulationAbandoned(simulationID: try r.u32())
        case 3: message = .stop
        case 4:
            let rank = try r.u32()
            let flag = try r.u8()
            guard flag <= 1 else { throw .invalidValue(what: "converged flag", detail: "must be 0 or 1, got \(flag)") }
            message = .converged(rank: rank, converged: flag == 1)
        case 5: message = .simulationStalled(rank: try r.u32(), simulationID: try r.u32())
        case 6:
            let group = try r.u32()
            let draw = try r.u32()
            message = .groupRedrawn(groupID: group, draw: draw,
                                    simulations: try simulationList(&r, what: "redrawn simulation count"))
        case 7:
            let sequence = try r.u64()
            let flag = try r.u8()
            guard flag <= 1 else { throw .invalidValue(what: "checkpoint stop flag", detail: "must be 0 or 1, got \(flag)") }
            message = .checkpoint(sequence: sequence, thenStop: flag == 1)
        case 8:
            let round = try r.u32()
            message = .holdingsQuery(round: round,
                                     simulations: try simulationList(&r, what: "holdings query simulation count"))
        case 9:
            let rank = try r.u32()
            let round = try r.u32()
            let n = try listLength(&r, what: "holdings report entry count")
            var holdings: [SimulationHolding] = []
            holdings.reserveCapacity(n)
            for _ in 0..<n { holdings.append(SimulationHolding(simulationID: try r.u32(), missingBlocks: try r.u32())) }
            message = .holdingsReport(rank: rank, round: round, holdings: holdings)
        case 10:
            let rank = try r.u32()
            let sequence = try r.u64()
            let flag = try r.u8()
            guard flag <= 1 else { throw .invalidValue(what: "checkpoint written flag", detail: "must be 0 or 1, got \(flag)") }
            message = .checkpointWritten(rank: rank, sequence: sequence, written: flag == 1)
        default: throw .unknownKind(channel: "internal", kind: kind)
        }
        try r.end()
        return message
    }

    /// A list length, checked against `Limits.maxHoldings` before anything is allocated.
    /// A u32 count (at most `maxHoldings`) followed by that many u32 simulation ids.
    private static func simulationList(_ r: inout ByteReader, what: String) throws(ProtocolError) -> [UInt32] {
        let n = try listLength(&r, what: what)
        var sims: [UInt32] = []
        sims.reserveCapacity(n)
        for _ in 0..<n { sims.append(try r.u32()) }
        return sims
    }

    private static func listLength(_ r: inout ByteReader, what: String) throws(ProtocolError) -> Int {
        let n = try r.u32()
        guard n <= UInt32(Limits.maxHoldings) else {
            throw .oversized(what: what, value: UInt64(n), limit: UInt64(Limits.maxHoldings))
        }
        return Int(n)
    }
}
