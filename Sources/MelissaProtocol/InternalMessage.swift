/// Server rank <-> server rank 0 coordination inside one server job (PUSH -> PULL).
public enum InternalMessage: Equatable, Sendable {
    /// Rank -> rank 0: this rank holds every time step of every field of a simulation.
    case simulationComplete(rank: UInt32, simulationID: UInt32)
    /// Rank 0 -> rank: a simulation will never complete (its job failed); forget its partial state.
    case simulationAbandoned(simulationID: UInt32)
    /// Rank 0 -> rank: leave the poll loop and write results.
    case stop

    public var kind: UInt16 {
        switch self {
        case .simulationComplete: return 1
        case .simulationAbandoned: return 2
        case .stop: return 3
        }
    }

    /// The encoded frame.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.raw(Magic.internalRank.bytes); w.u16(protocolVersion); w.u16(kind)
        switch self {
        case let .simulationComplete(rank, sim): w.u32(rank); w.u32(sim)
        case let .simulationAbandoned(sim): w.u32(sim)
        case .stop: break
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
        default: throw .unknownKind(channel: "internal", kind: kind)
        }
        try r.end()
        return message
    }
}
