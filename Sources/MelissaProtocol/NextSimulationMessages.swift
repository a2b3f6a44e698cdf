/// A persistent client job asks server rank 0 for its next simulation (kind 4 on the handshake
/// channel, client rank 0 → server rank 0): `melissa_fetch_next_parameters`.
public struct NextSimulationRequest: Equatable, Sendable {
    public static let kind: UInt16 = 4
    /// The value of `MELISSA_SIMU_ID` the job was started with: it names the job.
    public var jobSimulationID: UInt32
    /// The simulation this process ran last, or `NextSimulationRequest.none` on its first call.
    public var previousSimulationID: UInt32

    /// "No simulation": the first request's `previousSimulationID`, and a reply with nothing left.
    public static let none = UInt32.max

    public init(jobSimulationID: UInt32, previousSimulationID: UInt32 = NextSimulationRequest.none) {
        self.jobSimulationID = jobSimulationID
        self.previousSimulationID = previousSimulationID
    }

    /// The 16-byte request.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.raw(Magic.handshake.bytes); w.u16(handshakeProtocolVersion); w.u16(Self.kind)
        w.u32(jobSimulationID); w.u32(previousSimulationID)
        return w.bytes
    }

    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> NextSimulationRequest {
        var r = ByteReader(buffer, message: "next-simulation request")
        let kind = try r.header(magic: .handshake)
        guard kind == Self.kind else { throw .unknownKind(channel: "next-simulation request", kind: kind) }
        let request = NextSimulationRequest(jobSimulationID: try r.u32(), previousSimulationID: try r.u32())
        try r.end()
        return request
    }

    /// The kind of a handshake-channel request (1: handshake, 4: next simulation), read without
    /// decoding, so server rank 0 can pick the decoder. Nil when the frame is too short or not `MLSH`.
    public static func peekKind(_ buffer: UnsafeRawBufferPointer) -> UInt16? {
        guard buffer.count >= 8, Array(buffer[0..<4]) == Magic.handshake.bytes else { return nil }
        return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
    }
}

/// Server rank 0's answer to a `NextSimulationRequest` (kind 5): the simulation the job runs
/// next and its parameters, or `NextSimulationRequest.none` when the study has nothing left for it.
public struct NextSimulationReply: Equatable, Sendable {
    public static let kind: UInt16 = 5
    public var simulationID: UInt32
    /// The simulation's input parameters (empty with `none`).
    public var parameters: [Double]

    public init(simulationID: UInt32, parameters: [Double]) {
        self.simulationID = simulationID
        self.parameters = parameters
    }

    /// The reply that tells a job the study has nothing more for it: it should exit 0.
    public static let finished = NextSimulationReply(simulationID: NextSimulationRequest.none, parameters: [])

    /// 16 + 8 × parameters bytes.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + 8 * parameters.count)
        w.raw(Magic.handshake.bytes); w.u16(handshakeProtocolVersion); w.u16(Self.kind)
        w.u32(simulationID); w.u32(UInt32(parameters.count))
        for value in parameters { w.f64(value) }
        return w.bytes
    }

    /// Decodes a reply or a refusal (`HandshakeRefusal`, kind 3).
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> NextSimulationOutcome {
        var r = ByteReader(buffer, message: "next-simulation reply")
        let kind = try r.header(magic: .handshake)
        switch kind {
        case Self.kind:
            let simulation = try r.u32()
            let count = try r.u32()
            guard count <= UInt32(Limits.maxParameters) else {
                throw .oversized(what: "parameter count", value: UInt64(count), limit: UInt64(Limits.maxParameters))
            }
            guard simulation != NextSimulationRequest.none || count == 0 else {
                throw .invalidValue(what: "parameter count", detail: "\(count) with no simulation, must be 0")
            }
            var parameters: [Double] = []
            parameters.reserveCapacity(Int(count))
            for _ in 0..<count { parameters.append(try r.f64()) }
            try r.end()
            return .next(NextSimulationReply(simulationID: simulation, parameters: parameters))
        case HandshakeRefusal.kind:
            let reason = try r.string("refusal reason")
            try r.end()
            return .refused(HandshakeRefusal(reason: reason))
        default:
            throw .unknownKind(channel: "next-simulation reply", kind: kind)
        }
    }
}

/// What a persistent job learns from its request.
public enum NextSimulationOutcome: Equatable, Sendable {
    case next(NextSimulationReply)
    case refused(HandshakeRefusal)
}
