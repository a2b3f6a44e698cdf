import MelissaProtocol
import MelissaTransport

/// First byte of the handshake broadcast: rank 0 got a reply (the reply bytes follow),
/// or rank 0 failed before getting one (its error message follows).
enum BroadcastStatus: UInt8 {
    case reply = 0
    case failure = 1
}

extension MelissaClient {
    /// Runs the collective handshake: rank 0 asks server rank 0, every rank gets the same answer.
    ///
    /// Rank 0 broadcasts the raw reply bytes rather than its decoded view, so a refusal, a version
    /// mismatch or a malformed reply fails identically on every rank. A timeout or transport error
    /// on rank 0 is broadcast as text, so the other ranks fail too instead of waiting forever.
    func handshake(context: ZMQContext, rank: Int, size: Int) throws(ClientError) -> HandshakeReply {
        let request = HandshakeRequest(simulationID: settings.simulationID, clientCommSize: UInt32(clamping: size))
        let answer = try Self.askServerRankZero(request.encode(), what: "handshake", settings: settings,
                                                context: context, communicator: communicator, rank: rank)
        return try decodeReply(answer)
    }

    /// Rank 0 sends `request` to server rank 0 and every rank of `communicator` gets the same
    /// answer bytes (collective). Rank 0 broadcasts the raw reply rather than its decoded view,
    /// so a refusal, a version mismatch or a malformed reply fails identically on every rank; a
    /// timeout or transport error on rank 0 is broadcast as text, so the other ranks fail too
    /// instead of waiting forever.
    static func askServerRankZero(_ request: [UInt8], what: String, settings: ClientSettings, context: ZMQContext,
                                  communicator: Communicator, rank: Int) throws(ClientError) -> [UInt8] {
        var payload: [UInt8] = []
        var rootError: ClientError?
        if rank == 0 {
            do throws(ClientError) {
                payload = [BroadcastStatus.reply.rawValue] + (try requestReply(request, what: what, settings: settings,
                                                                               context: context))
            } catch {
                rootError = error
                payload = [BroadcastStatus.failure.rawValue] + Array(error.description.utf8)
            }
        }
        let received: [UInt8]
        do { received = try communicator.broadcast(payload, root: 0) } catch {
            throw .mpi(error, during: "broadcasting the \(what) reply from client rank 0")
        }
        if let rootError { throw rootError }
        guard let status = received.first.flatMap(BroadcastStatus.init(rawValue:)) else {
            throw .malformedBroadcast(byteCount: received.count)
        }
        let body = Array(received.dropFirst())
        switch status {
        case .failure:
            throw .handshakeFailedOnRankZero(message: String(decoding: body, as: UTF8.self))
        case .reply:
            return body
        }
    }

    /// Rank 0 only: one REQ round trip to server rank 0, bounded by the connect timeout.
    private static func requestReply(_ request: [UInt8], what: String, settings: ClientSettings,
                                     context: ZMQContext) throws(ClientError) -> [UInt8] {
        let address = settings.serverAddress
        let milliseconds = Int32(min(settings.connectTimeout * 1000, Double(Int32.max)).rounded(.up))
        let socket: ZMQSocket
        do throws(ZMQError) {
            socket = try context.socket(.req)
            // Linger 0: an unanswered request must not keep the process alive at context teardown.
            try socket.setTimeouts(send: milliseconds, receive: milliseconds, linger: 0)
            if let curve = settings.credentials { try socket.becomeCurveClient(curve.keys, serverPublicKey: curve.serverPublicKey) }
            try socket.connect(address)
            try socket.send(request)
        } catch {
            throw .transport(error, during: "sending the \(what) request to the Melissa server at \(address)")
        }
        // The REQ socket only serves this round trip; closing it now frees server rank 0's
        // connection slot for the rest of the run.
        defer { socket.close() }
        let message = ZMQMessage()
        do throws(ZMQError) {
            try socket.receive(into: message)
        } catch {
            if error.isTimeout { throw .serverTimeout(address: address, seconds: settings.connectTimeout) }
            throw .transport(error, during: "waiting for the \(what) reply of the Melissa server at \(address)")
        }
        return message.bytes
    }

    /// Turns reply bytes into a reply, or into the refusal / version error they carry.
    private func decodeReply(_ bytes: [UInt8]) throws(ClientError) -> HandshakeReply {
        let address = settings.serverAddress
        // Array.withUnsafeBytes only rethrows untyped errors, so the decode result travels as a Result.
        let decoded: Result<HandshakeOutcome, ProtocolError> = bytes.withUnsafeBytes { buffer in
            do throws(ProtocolError) { return .success(try HandshakeReply.decode(buffer)) } catch {
                return .failure(error)
            }
        }
        let outcome: HandshakeOutcome
        switch decoded {
        case let .success(value):
            outcome = value
        case let .failure(.versionMismatch(ours, theirs)):
            throw .versionMismatch(address: address, client: ours, server: theirs)
        case let .failure(error):
            throw .malformedReply(address: address, error)
        }
        switch outcome {
        case let .refused(refusal): throw .refused(address: address, reason: refusal.reason)
        case let .accepted(reply): return reply
        }
    }
}
