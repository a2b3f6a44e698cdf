/// Client rank 0's first request to server rank 0: who it is and how many ranks it has.
public struct HandshakeRequest: Equatable, Sendable {
    public static let kind: UInt16 = 1
    /// The simulation id from `MELISSA_SIMU_ID`.
    public var simulationID: UInt32
    /// Size of the client's MPI communicator.
    public var clientCommSize: UInt32

    public init(simulationID: UInt32, clientCommSize: UInt32) {
        self.simulationID = simulationID
        self.clientCommSize = clientCommSize
    }

    /// The 16-byte request.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.raw(Magic.handshake.bytes); w.u16(handshakeProtocolVersion); w.u16(Self.kind)
        w.u32(simulationID); w.u32(clientCommSize)
        return w.bytes
    }

    /// Decodes a request, refusing other versions with both version numbers.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> HandshakeRequest {
        var r = ByteReader(buffer, message: "handshake request")
        let kind = try r.header(magic: .handshake)
        guard kind == Self.kind else { throw .unknownKind(channel: "handshake request", kind: kind) }
        let request = HandshakeRequest(simulationID: try r.u32(), clientCommSize: try r.u32())
        try r.end()
        return request
    }

    /// Reads only the version field of a handshake, so a server can name a
    /// mismatching client's version in its refusal.
    public static func peekVersion(_ buffer: UnsafeRawBufferPointer) -> UInt16? {
        guard buffer.count >= 6, Array(buffer[0..<4]) == Magic.handshake.bytes else { return nil }
        return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
    }
}

/// How client ranks authenticate to the data sockets (`server_config.data_encryption`).
public enum DataMechanism: UInt32, Sendable {
    /// CURVE with the study's client key: authenticated and encrypted.
    case curve = 1
    /// PLAIN with the study's data password: authenticated, not encrypted.
    case plain = 2
}

/// Server rank 0's reply: the layout of the server and the study settings a client needs.
public struct HandshakeReply: Equatable, Sendable {
    public static let kind: UInt16 = 2
    /// Number of server ranks M; the global field is cut into M blocks.
    public var serverCommSize: UInt32 { UInt32(dataEndpoints.count) }
    /// Time steps each simulation must send per field.
    public var nbTimeSteps: UInt32
    /// Verbosity the client library should log at (0...3).
    public var verbosity: UInt32
    /// How every client rank must authenticate to the data sockets.
    public var dataMechanism: DataMechanism
    /// How clients split their data over the server ranks (the flavor's choice).
    public var routing: DataRouting
    /// The study's field names; a field's index here is its id on the wire.
    public var fieldNames: [String]
    /// One ZeroMQ endpoint per server rank, in rank order.
    public var dataEndpoints: [String]

    public init(nbTimeSteps: UInt32, verbosity: UInt32, dataMechanism: DataMechanism = .curve,
                routing: DataRouting = .cellBlocks, fieldNames: [String], dataEndpoints: [String]) {
        self.nbTimeSteps = nbTimeSteps
        self.verbosity = verbosity
        self.dataMechanism = dataMechanism
        self.routing = routing
        self.fieldNames = fieldNames
        self.dataEndpoints = dataEndpoints
    }

    /// The encoded reply.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.raw(Magic.handshake.bytes); w.u16(handshakeProtocolVersion); w.u16(Self.kind)
        w.u32(serverCommSize); w.u32(nbTimeSteps); w.u32(verbosity); w.u32(dataMechanism.rawValue)
        w.u32(routing.rawValue)
        w.u32(UInt32(fieldNames.count))
        for name in fieldNames { w.string(name) }
        for endpoint in dataEndpoints { w.string(endpoint) }
        return w.bytes
    }

    /// Decodes a reply or a refusal; a refusal becomes `HandshakeOutcome.refused`.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> HandshakeOutcome {
        var r = ByteReader(buffer, message: "handshake reply")
        let kind = try r.header(magic: .handshake)
        switch kind {
        case Self.kind:
            let m = try r.u32()
            guard m >= 1 else { throw .invalidValue(what: "server comm size", detail: "0, must be at least 1") }
            guard m <= UInt32(Limits.maxServerRanks) else {
                throw .oversized(what: "server comm size", value: UInt64(m), limit: UInt64(Limits.maxServerRanks))
            }
            let steps = try r.u32()
            let verbosity = try r.u32()
            let mechanismCode = try r.u32()
            guard let mechanism = DataMechanism(rawValue: mechanismCode) else {
                throw .invalidValue(what: "data mechanism", detail: "\(mechanismCode), must be 1 (CURVE) or 2 (PLAIN)")
            }
            let routingCode = try r.u32()
            guard let routing = DataRouting(rawValue: routingCode) else {
                throw .invalidValue(what: "data routing",
                                    detail: "\(routingCode), must be 0 (cell blocks), 1 (steps round robin) or 2 (simulations round robin)")
            }
            let nFields = try r.u32()
            guard nFields <= UInt32(Limits.maxFields) else {
                throw .oversized(what: "field count", value: UInt64(nFields), limit: UInt64(Limits.maxFields))
            }
            var names: [String] = []
            for _ in 0..<nFields { names.append(try r.string("field name")) }
            var endpoints: [String] = []
            for _ in 0..<m { endpoints.append(try r.string("data endpoint")) }
            try r.end()
            return .accepted(HandshakeReply(nbTimeSteps: steps, verbosity: verbosity, dataMechanism: mechanism,
                                            routing: routing, fieldNames: names, dataEndpoints: endpoints))
        case HandshakeRefusal.kind:
            let reason = try r.string("refusal reason")
            try r.end()
            return .refused(HandshakeRefusal(reason: reason))
        default:
            throw .unknownKind(channel: "handshake reply", kind: kind)
        }
    }
}

/// Server rank 0's refusal of a handshake, with the reason the client prints.
public struct HandshakeRefusal: Equatable, Sendable {
    public static let kind: UInt16 = 3
    /// Human-readable reason (e.g. both protocol versions).
    public var reason: String

    public init(reason: String) { self.reason = reason }

    /// The encoded refusal. It carries the server's version so an old client can still read it.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + reason.utf8.count)
        w.raw(Magic.handshake.bytes); w.u16(handshakeProtocolVersion); w.u16(Self.kind)
        w.string(reason)
        return w.bytes
    }
}

/// What a client learns from the server's answer to its handshake.
public enum HandshakeOutcome: Equatable, Sendable {
    case accepted(HandshakeReply)
    case refused(HandshakeRefusal)
}
