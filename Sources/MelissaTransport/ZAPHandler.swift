import CLinux
import CZMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A ZeroMQ authentication (ZAP, RFC 27) handler for one context: admits a peer only when the
/// socket's domain has a policy and the peer's CURVE key (or PLAIN password) is in it, and
/// refuses everyone else before any of their messages reach a socket. Without a handler libzmq
/// lets any CURVE client in, so every process that binds a server socket runs one.
///
/// It answers on `inproc://zeromq.zap.01` from a thread of its own; `init` returns once it is
/// listening, `stop` joins it. A POSIX thread rather than Foundation's `Thread`: this module is
/// on the client library's path, and importing Foundation would put ICU (tens of MB) into
/// every simulation that links libmelissa.so.
public final class ZAPHandler: Sendable {
    private struct Rule: Sendable {
        var keys: Set<[UInt8]>
        var password: [UInt8]?
    }

    private struct State {
        var refused = 0
        var admitted = 0
        var stopping = false
        var joined = false
        var lastRefusal = ""
    }

    private let context: ZMQContext
    /// Per domain name; fixed at start, so read without the lock.
    private let rules: [String: Rule]
    private let state = Mutex(State())
    /// The serving thread, joined once by `stop`.
    private let thread: pthread_t

    /// Starts answering for `context` with one policy per domain; a socket of a domain
    /// without a policy admits nobody.
    public init(context: ZMQContext, policies: [ZAPDomain: ZAPPolicy]) throws(ZMQError) {
        self.context = context
        var rules: [String: Rule] = [:]
        for (domain, policy) in policies {
            var keys = Set<[UInt8]>()
            for key in policy.curveKeys {
                guard let bytes = CurveKeyPair.decode(key) else { throw ZMQError("ZAP handler", "not a Z85 CURVE key: \(key.prefix(8))...") }
                keys.insert(bytes)
            }
            rules[domain.rawValue] = Rule(keys: keys, password: policy.plainPassword.map { Array($0.utf8) })
        }
        self.rules = rules
        // Bound here, so a bind error is thrown from init and the handler listens before init
        // returns. The socket then moves to the serving thread for good: pthread_create is a full
        // memory barrier, which is what libzmq asks of a socket changing threads.
        let socket = try context.socket(.rep)
        do throws(ZMQError) {
            try socket.setTimeouts(receive: 100, linger: 0)
            try socket.bind("inproc://zeromq.zap.01")
        } catch {
            socket.close()
            throw error
        }
        let body = ThreadBody(socket: socket)
        let box = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let body = Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue()
            _ = melissa_set_thread_name("melissa-zap")
            body.handler?.serve(body.socket)
            body.socket.close()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            socket.close()
            throw ZMQError("ZAP handler", "cannot start its thread (pthread_create: error \(status))")
        }
        self.thread = thread
        // The thread only dereferences the handler once init is complete (it was nil before).
        body.setHandler(self)
    }

    /// Peers refused so far, and the last refusal in words (for logs and tests).
    public var refusals: (count: Int, last: String) { state.withLock { ($0.refused, $0.lastRefusal) } }
    /// Peers admitted so far.
    public var admissions: Int { state.withLock { $0.admitted } }

    /// Stops answering and waits for the thread (within ~0.1 s).
    public func stop() {
        let join = state.withLock { state in
            defer { state.stopping = true; state.joined = true }
            return !state.joined
        }
        if join { pthread_join(thread, nil) }
    }

    private func serve(_ socket: ZMQSocket) {
        while !state.withLock({ $0.stopping }) {
            let frames: [[UInt8]]
            do { frames = try socket.receiveMultipart() } catch {
                if error.isTimeout { continue }
                return
            }
            let reply = answer(frames)
            for (index, frame) in reply.enumerated() {
                do { try socket.send(frame, more: index < reply.count - 1) } catch { break }
            }
        }
    }

    /// The reply frames for one ZAP request: version, request id, status code, status text,
    /// user id, metadata (RFC 27). Request frames: version, request id, domain, address,
    /// identity, mechanism, credentials (CURVE: the 32-byte key; PLAIN: user, password).
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        let requestID = frames.count > 1 ? frames[1] : []
        func reply(_ code: String, _ text: String) -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), [], []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return reply("500", "malformed ZAP request")
        }
        let domain = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        let verdict: String? = {
            guard let rule = rules[domain] else {
                return "\(mechanism) peer from \(address) on a socket of unknown domain \"\(domain.prefix(40))\""
            }
            switch mechanism {
            case "CURVE" where frames.count == 7 && frames[6].count == 32:
                return rule.keys.contains(frames[6]) ? nil : "CURVE peer from \(address) with an unknown key (\(domain) socket)"
            case "PLAIN" where frames.count == 8:
                guard let password = rule.password else {
                    return "PLAIN peer from \(address) (\(domain) sockets admit only CURVE with a study key)"
                }
                let right = frames[6] == Array(ZAPPolicy.plainUser.utf8) && Self.equalInConstantTime(frames[7], password)
                return right ? nil : "PLAIN peer from \(address) with a wrong user or password (\(domain) socket)"
            default:
                let accepted = rule.password == nil ? "CURVE with a study key" : "CURVE with a study key or PLAIN with the study's data password"
                return "\(mechanism.prefix(20)) peer from \(address) (\(domain) sockets admit only \(accepted))"
            }
        }()
        return state.withLock { state in
            if let verdict {
                state.refused += 1
                state.lastRefusal = verdict
                return reply("400", "refused")
            }
            state.admitted += 1
            return reply("200", "OK")
        }
    }

    /// Compares two byte strings in time that depends only on their lengths (a password check
    /// must not tell an attacker how many leading bytes were right).
    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// What the ZAP thread owns: its socket, and the handler once `init` finished.
private final class ThreadBody: @unchecked Sendable {
    // @unchecked: `socket` is used by the serving thread only; `handler` is written once under
    // the lock before the thread reads it.
    let socket: ZMQSocket
    private let published = Mutex<Bool>(false)
    private var storedHandler: ZAPHandler?

    init(socket: ZMQSocket) { self.socket = socket }

    func setHandler(_ handler: ZAPHandler) {
        published.withLock { ready in
            storedHandler = handler
            ready = true
        }
    }

    /// The handler, waiting (briefly) until `init` has published it.
    var handler: ZAPHandler? {
        while true {
            let value: ZAPHandler?? = published.withLock { ready in ready ? .some(storedHandler) : .none }
            if let value { return value }
            sched_yield()
        }
    }
}
