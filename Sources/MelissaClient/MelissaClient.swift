import MelissaProtocol
import MelissaTransport

/// A simulation's link to a Melissa server: registers fields, then streams one message per
/// (time step, server rank) straight from the simulation's buffers. One per process.
///
/// Not thread-safe: call it from one thread, like the MPI calls around it.
public final class MelissaClient {
    /// The settings read from the environment.
    public let settings: ClientSettings
    /// This process's rank in the client communicator.
    public let rank: Int
    /// Number of ranks in the client communicator.
    public let size: Int
    /// The server's handshake reply, once the first `register` succeeded.
    public private(set) var serverReply: HandshakeReply?

    let communicator: Communicator
    private let diagnostics: (String) -> Void
    private var context: ZMQContext?
    /// One PUSH socket per server rank, indexed by server rank.
    private var dataSockets: [ZMQSocket] = []
    /// Reused buffers for large data messages (no page faults per send once warm).
    private let bufferPool = ZMQBufferPool()
    private var fields: [String: FieldStream] = [:]
    /// Registration order, for stable messages.
    private var fieldOrder: [String] = []
    /// A failed handshake is final: later calls rethrow it instead of retrying a collective
    /// that some ranks may not re-enter.
    private var handshakeError: ClientError?
    private var isFinalized = false

    /// Reads the `MELISSA_*` variables from `environment` and the rank layout of `communicator`.
    /// `diagnostics` receives warnings (stderr by default); nothing is sent before `register`.
    public convenience init(communicator: Communicator,
                            environment: [String: String] = ProcessEnvironment.current(),
                            diagnostics: @escaping (String) -> Void = Diagnostics.standardError) throws(ClientError) {
        try self.init(communicator: communicator, settings: try ClientSettings(environment: environment),
                      diagnostics: diagnostics)
    }

    /// Uses explicit settings instead of the environment.
    public init(communicator: Communicator, settings: ClientSettings,
                diagnostics: @escaping (String) -> Void = Diagnostics.standardError) throws(ClientError) {
        // Values are memcpy'd onto the wire as they are in memory; the protocol says little-endian.
        guard UInt16(1).littleEndian == 1 else { throw .bigEndianHost }
        self.communicator = communicator
        self.settings = settings
        self.diagnostics = diagnostics
        do {
            rank = try communicator.rank()
            size = try communicator.size()
        } catch {
            throw .mpi(error, during: "reading the client communicator's rank and size")
        }
    }

    deinit { try? finalize() }

    /// Names of the registered fields, in registration order.
    public var registeredFields: [String] { fieldOrder }

    /// The local size `field` was registered with, or nil if it was not.
    public func localSize(of field: String) -> Int? { fields[field]?.plan.localSize }

    /// The time step the next `send` of `field` will carry, or nil if it was not registered.
    public func nextTimeStep(of field: String) -> UInt32? { fields[field]?.nextStep }

    /// The redistribution plan of `field` on this rank, or nil if it was not registered.
    public func plan(of field: String) -> RedistributionPlan? { fields[field]?.plan }

    // MARK: melissa_init

    /// Registers `field` with `localSize` values on this rank (melissa_init). Collective over the
    /// communicator: every rank calls it with the same fields in the same order. The first call
    /// also does the handshake with the server and connects the data sockets.
    public func register(field name: String, localSize: Int) throws(ClientError) {
        guard !isFinalized else { throw .finalized(operation: "melissa_init") }
        guard fields[name] == nil else { throw .duplicateRegistration(field: name) }
        guard localSize >= 0, UInt64(localSize) <= Limits.maxValuesPerMessage else {
            throw .invalidLocalSize(field: name, size: localSize, limit: Limits.maxValuesPerMessage)
        }
        // Offline: no handshake, no sockets; sends check their arguments and go nowhere.
        let reply = settings.offline ? nil : try connectIfNeeded()
        let globalSize: Int64
        let offset: Int64
        do {
            globalSize = try communicator.allreduceSum(Int64(localSize))
            offset = try communicator.exclusiveScanSum(Int64(localSize))
        } catch {
            throw .mpi(error, during: "summing the local sizes of field '\(name)'")
        }
        let index = reply?.fieldNames.firstIndex(of: name).map { UInt32($0) }
        if let reply, index == nil && rank == 0 {
            diagnostics("warning: field '\(name)' is not in the study's field_names "
                        + "[\(reply.fieldNames.joined(separator: ", "))]; its data is not sent")
        }
        let plan = RedistributionPlan(globalSize: UInt64(globalSize), localOffset: UInt64(offset),
                                      localSize: localSize, serverCount: max(1, dataSockets.count), clientRank: rank)
        fields[name] = FieldStream(name: name, index: index, plan: plan)
        fieldOrder.append(name)
    }

    private func connectIfNeeded() throws(ClientError) -> HandshakeReply {
        if let serverReply { return serverReply }
        if let handshakeError { throw handshakeError }
        do throws(ClientError) {
            let context: ZMQContext
            do { context = try ZMQContext() } catch { throw .transport(error, during: "creating the ZeroMQ context") }
            let reply = try handshake(context: context, rank: rank, size: size)
            dataSockets = try openDataSockets(context: context, endpoints: reply.dataEndpoints,
                                              mechanism: reply.dataMechanism)
            self.context = context
            serverReply = reply
            if reply.verbosity >= 2 && rank == 0 {
                diagnostics("simulation \(settings.simulationID) connected to \(settings.serverAddress): "
                            + "\(reply.dataEndpoints.count) server rank(s), \(reply.nbTimeSteps) time steps, "
                            + "fields [\(reply.fieldNames.joined(separator: ", "))]")
            }
            return reply
        } catch {
            handshakeError = error
            throw error
        }
    }

    private func openDataSockets(context: ZMQContext, endpoints: [String],
                                 mechanism: DataMechanism) throws(ClientError) -> [ZMQSocket] {
        // PLAIN (data_encryption off): the study's password, checked by every server rank.
        var password: String?
        if mechanism == .plain {
            switch settings.credentials?.dataPassword {
            case let .success(value)?: password = value
            case let .failure(error)?: throw .dataPasswordUnavailable(reason: error.description)
            case nil: throw .dataPasswordUnavailable(reason: "MELISSA_STUDY_DIR is unset or has no keys directory")
            }
        }
        var sockets: [ZMQSocket] = []
        for (serverRank, endpoint) in endpoints.enumerated() {
            do throws(ZMQError) {
                let socket = try context.socket(.push)
                // Linger -1 while the study runs; finalize bounds it (MELISSA_FINALIZE_TIMEOUT).
                try socket.setTimeouts(linger: -1)
                // Options apply to pipes created later, so they go before connect.
                if let hwm = settings.sendHighWaterMark { try socket.setHighWaterMarks(send: hwm) }
                if let password {
                    try socket.becomePlainClient(password: password)
                } else if let curve = settings.credentials {
                    try socket.becomeCurveClient(curve.keys, serverPublicKey: curve.serverPublicKey)
                }
                try socket.connect(endpoint)
                sockets.append(socket)
            } catch {
                throw .transport(error, during: "connecting to server rank \(serverRank)'s data endpoint \(endpoint)")
            }
        }
        return sockets
    }

    // MARK: melissa_send

    /// Sends the next time step of `field` (melissa_send): `values` must hold the registered local
    /// size. Sends of a field the study does not know are ignored (a warning was printed at register).
    public func send(field name: String, values: UnsafeBufferPointer<Double>) throws(ClientError) {
        guard !isFinalized else { throw .finalized(operation: "melissa_send") }
        guard let stream = fields[name] else { throw .unregisteredField(field: name, registered: fieldOrder) }
        let plan = stream.plan
        guard values.count == plan.localSize else {
            throw .wrongValueCount(field: name, expected: plan.localSize, got: values.count)
        }
        guard let index = stream.index else { return }
        guard stream.nextStep < UInt32.max else { throw .timeStepOverflow(field: name) }
        let step = stream.nextStep
        stream.nextStep += 1
        if let steps = serverReply?.nbTimeSteps, step >= steps, !stream.warnedExtraSteps {
            // Sent anyway: the server drops and counts extra steps, which is the better diagnostic.
            stream.warnedExtraSteps = true
            if rank == 0 {
                diagnostics("warning: field '\(name)' sent time step \(step) but the study expects "
                            + "\(steps) steps (0...\(Int(steps) - 1)); the server drops the extra ones")
            }
        }
        var header = DataHeader(simulationID: settings.simulationID, timeStep: step, field: index,
                                clientRank: UInt32(rank), globalSize: plan.globalSize, offset: 0, count: 0)
        let routing = serverReply?.routing ?? .cellBlocks
        if let target = routing.wholeStepRank(simulation: settings.simulationID, step: step, serverCount: dataSockets.count) {
            // Whole steps: this rank's whole slice to the one server rank the step goes to; an
            // empty field still tells that rank the step happened (client rank 0 only).
            if plan.localSize > 0 {
                header.offset = plan.localOffset
                header.count = UInt64(plan.localSize)
                try ship(header, payload: UnsafeRawBufferPointer(values), to: target, field: name)
            } else if plan.globalSize == 0 && rank == 0 {
                try ship(header, payload: UnsafeRawBufferPointer(start: nil, count: 0), to: target, field: name)
            }
            return
        }
        for piece in plan.pieces {
            header.offset = piece.globalOffset
            header.count = UInt64(piece.count)
            let slice = UnsafeBufferPointer(rebasing: values[piece.localStart..<(piece.localStart + piece.count)])
            try ship(header, payload: UnsafeRawBufferPointer(slice), to: piece.serverRank, field: name)
        }
        for notice in plan.emptyBlockNotices {
            header.offset = notice.globalOffset
            header.count = 0
            try ship(header, payload: UnsafeRawBufferPointer(start: nil, count: 0), to: notice.serverRank, field: name)
        }
    }

    /// Builds one zmq message (header then values, filled in place) and hands it to libzmq
    /// without a copy: copying the values into it is the only copy of a send, and large
    /// messages reuse pooled buffers instead of allocating.
    private func ship(_ header: DataHeader, payload: UnsafeRawBufferPointer, to serverRank: Int,
                      field: String) throws(ClientError) {
        let message: ZMQMessage
        do { message = try ZMQMessage(size: DataHeader.size + payload.count, pool: bufferPool) } catch {
            throw .transport(error, during: "allocating a \(DataHeader.size + payload.count)-byte message for field '\(field)'")
        }
        message.withMutableBytes { buffer in
            // Never nil: the message holds at least the 48-byte header.
            guard let base = buffer.baseAddress else { return }
            header.write(to: base)
            if let source = payload.baseAddress, !payload.isEmpty {
                (base + DataHeader.size).copyMemory(from: source, byteCount: payload.count)
            }
        }
        do { try dataSockets[serverRank].send(message) } catch {
            throw .transport(error, during: "sending time step \(header.timeStep) of field '\(field)' to server rank \(serverRank)")
        }
    }

    // MARK: melissa_finalize

    /// Flushes and closes everything (melissa_finalize): blocks until every queued message is handed
    /// to the network, for at most `finalizeTimeout` seconds (a dead server must not hang the
    /// simulation; the server runs a simulation whose data is incomplete again). Idempotent;
    /// `deinit` calls it too.
    public func finalize() throws(ClientError) {
        if isFinalized { return }
        isFinalized = true
        if let steps = serverReply?.nbTimeSteps, rank == 0 {
            for name in fieldOrder {
                guard let stream = fields[name], stream.index != nil, stream.nextStep < steps else { continue }
                diagnostics("warning: field '\(name)' sent \(stream.nextStep) of the study's \(steps) time steps; "
                            + "the server will not count this simulation as complete")
            }
        }
        // The linger set now counts from this close: the last steps get the whole timeout.
        let lingerMillis = Int32(min(settings.finalizeTimeout * 1000, Double(Int32.max)))
        for socket in dataSockets {
            try? socket.setTimeouts(linger: lingerMillis)
            socket.close()
        }
        let queued = !dataSockets.isEmpty
        dataSockets = []
        // Dropping the last reference runs zmq_ctx_term, which waits for the sockets to flush
        // their queues. That wait is the point of finalize.
        let start = Self.monotonicSeconds()
        context = nil
        if queued, Self.monotonicSeconds() - start >= settings.finalizeTimeout * 0.99 {
            diagnostics("warning: melissa_finalize waited \(settings.finalizeTimeout) s (MELISSA_FINALIZE_TIMEOUT) and the "
                        + "server did not take every queued time step; the rest was dropped (is the server still running? "
                        + "it runs a simulation whose data is incomplete again)")
        }
    }
}
