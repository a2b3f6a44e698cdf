import CZMQ
import Foundation
import Synchronization

/// A ZeroMQ authentication (ZAP, RFC 27) handler for one context: admits CURVE peers whose
/// public key is in `allowed` and refuses everyone else before any of their messages reach a
/// socket. Without a handler libzmq lets any CURVE client in, so every process that binds a
/// CURVE server socket runs one.
///
/// It answers on `inproc://zeromq.zap.01` from a thread of its own (a REP socket owned by
/// that thread alone); `start` returns once it is listening, `stop` joins it.
public final class ZAPHandler: Sendable {
    private struct State {
        var allowed: Set<[UInt8]>
        var refused = 0
        var admitted = 0
        var stopping = false
        var lastRefusal = ""
    }

    private let context: ZMQContext
    private let state: Mutex<State>
    private let finished = DispatchSemaphore(value: 0)

    /// Starts answering for `context`, admitting CURVE clients with one of `allowedPublicKeys` (Z85).
    public init(context: ZMQContext, allowedPublicKeys: [String]) throws(ZMQError) {
        self.context = context
        var keys = Set<[UInt8]>()
        for key in allowedPublicKeys {
            guard let bytes = CurveKeyPair.decode(key) else { throw ZMQError("ZAP handler", "not a Z85 CURVE key: \(key.prefix(8))...") }
            keys.insert(bytes)
        }
        state = Mutex(State(allowed: keys))
        let ready = DispatchSemaphore(value: 0)
        let bindError = Mutex<ZMQError?>(nil)
        let thread = Thread { [self] in
            let socket: ZMQSocket
            do throws(ZMQError) {
                socket = try context.socket(.rep)
                try socket.setTimeouts(receive: 100, linger: 0)
                try socket.bind("inproc://zeromq.zap.01")
            } catch {
                bindError.withLock { $0 = error }
                ready.signal()
                finished.signal()
                return
            }
            ready.signal()
            serve(socket)
            socket.close()
            finished.signal()
        }
        thread.name = "melissa-zap"
        thread.start()
        ready.wait()
        if let error = bindError.withLock({ $0 }) { throw error }
    }

    /// Peers refused so far, and the last refusal in words (for logs and tests).
    public var refusals: (count: Int, last: String) { state.withLock { ($0.refused, $0.lastRefusal) } }
    /// Peers admitted so far.
    public var admissions: Int { state.withLock { $0.admitted } }

    /// Stops answering and waits for the thread (within ~0.1 s).
    public func stop() {
        let already = state.withLock { state in
            defer { state.stopping = true }
            return state.stopping
        }
        if !already { finished.wait() }
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
    /// user id, metadata (RFC 27).
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        let requestID = frames.count > 1 ? frames[1] : []
        func reply(_ code: String, _ text: String) -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), [], []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return reply("500", "malformed ZAP request")
        }
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        guard mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 else {
            state.withLock {
                $0.refused += 1
                $0.lastRefusal = "\(mechanism) peer from \(address) (only CURVE with a study key is admitted)"
            }
            return reply("400", "CURVE with a study key required")
        }
        let key = frames[6]
        let admitted = state.withLock { state -> Bool in
            if state.allowed.contains(key) {
                state.admitted += 1
                return true
            }
            state.refused += 1
            state.lastRefusal = "CURVE peer from \(address) with an unknown key"
            return false
        }
        return admitted ? reply("200", "OK") : reply("400", "unknown key")
    }
}
