import MelissaProtocol
import MelissaTransport

/// The launcher's ROUTER socket: the server's rank 0 connects to it with a DEALER.
final class ServerChannel {
    /// One frame set received, split into the peer's identity and its payload.
    enum Incoming {
        /// A well-formed control message from `identity`.
        case message(identity: [UInt8], ControlMessage)
        /// Something that could not be decoded; `problem` says why.
        case malformed(identity: [UInt8]?, problem: String)
    }

    let socket: ZMQSocket
    /// The address the server connects to (`tcp://<host>:<port bound>`).
    let endpoint: String

    /// Binds a ROUTER on `bindAddress` at `port`, or the next free port if it is taken, as a
    /// CURVE server with the launcher's `keys` (the context's ZAP handler decides who gets in);
    /// the server is told to connect to `host`.
    init(context: ZMQContext, bindAddress: String, host: String, port: Int, keys: CurveKeyPair) throws(ZMQError) {
        socket = try context.socket(.router)
        // Linger 0: at exit, unsent messages to a server that is gone must not block us.
        try socket.setTimeouts(linger: 0)
        try socket.becomeCurveServer(keys, domain: .control)
        let bound = try socket.bindFirstFree(address: bindAddress, port: port)
        endpoint = "tcp://\(host):\(bound)"
    }

    /// Every message waiting now; never blocks.
    func receiveAvailable() throws(ZMQError) -> [Incoming] {
        var incoming: [Incoming] = []
        while true {
            let frames: [[UInt8]]
            do { frames = try socket.receiveMultipart(dontWait: true) } catch {
                if error.isTimeout { return incoming }
                throw error
            }
            incoming.append(Self.interpret(frames))
        }
    }

    /// Turns ROUTER frames [identity, payload] into a message, or says what is wrong with them.
    static func interpret(_ frames: [[UInt8]]) -> Incoming {
        guard frames.count == 2 else {
            return .malformed(identity: frames.first, problem:
                "expected 2 frames (identity, payload), got \(frames.count)")
        }
        // withUnsafeBytes only rethrows untyped errors, so the typed one travels in a Result.
        let decoded: Result<ControlMessage, ProtocolError> = frames[1].withUnsafeBytes { buffer in
            do throws(ProtocolError) { return .success(try ControlMessage.decode(buffer)) } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case let .success(message): return .message(identity: frames[0], message)
        case let .failure(error): return .malformed(identity: frames[0], problem: error.description)
        }
    }

    /// Sends `message` to the peer `identity` without blocking; a peer that is gone just
    /// does not get it (ROUTER drops unroutable messages).
    func send(_ message: ControlMessage, to identity: [UInt8]) throws(ZMQError) {
        try socket.send(identity, more: true, dontWait: true)
        try socket.send(message.encode(), dontWait: true)
    }
}

extension ControlMessage {
    /// The message's kind as a word, for log lines ("jobRequest").
    var kindName: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .jobRequest: return "jobRequest"
        case .jobState: return "jobState"
        case .ping: return "ping"
        case .progress: return "progress"
        case .stop: return "stop"
        case .studyEnd: return "studyEnd"
        case .cancelJob: return "cancelJob"
        case .requestDone: return "requestDone"
        case .pong: return "pong"
        case .training: return "training"
        }
    }

    /// The message in a few words, for "its last message was ..." log lines.
    var summary: String {
        switch self {
        case let .jobRequest(_, request, group, members):
            return "jobRequest \(request) (group \(group), \(members.count) simulation\(members.count == 1 ? "" : "s"))"
        case let .cancelJob(_, request, group, _): return "cancelJob \(request) (group \(group))"
        case let .progress(finished, failed, total, _): return "progress (\(finished) finished, \(failed) failed of \(total))"
        case let .studyEnd(code, _, _, _): return "studyEnd (exit code \(code))"
        default: return kindName
        }
    }
}
