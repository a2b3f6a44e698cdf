import CZMQ

/// A libzmq socket. Not thread-safe: one owner at a time, as libzmq requires.
public final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    /// Kept so the context outlives its sockets.
    let context: ZMQContext
    private var closed = false

    init(context: ZMQContext, type: SocketType) throws(ZMQError) {
        guard let h = zmq_socket(context.handle, type.raw) else { throw ZMQError("zmq_socket") }
        handle = h
        self.context = context
    }

    deinit { close() }

    /// Closes the socket; pending outgoing messages follow the linger setting.
    public func close() {
        if !closed { zmq_close(handle); closed = true }
    }

    // MARK: options

    /// How many not-yet-accepted connections a listening socket keeps (ZMQ_BACKLOG, default
    /// 100; the kernel caps it at net.core.somaxconn). Set before `bind`.
    public func setListenBacklog(_ connections: Int32) throws(ZMQError) {
        try setOption(ZMQ_BACKLOG, connections)
    }

    /// Sets an integer option (ZMQ_LINGER, ZMQ_SNDHWM, ...).
    public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError("zmq_setsockopt", "option \(option) = \(value)")
        }
    }

    /// Sets a bytes option (ZMQ_ROUTING_ID, CURVE keys, ...).
    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError("zmq_setsockopt", "option \(option)") }
    }

    /// Milliseconds a send or receive may block (-1 forever); linger on close.
    public func setTimeouts(send: Int32? = nil, receive: Int32? = nil, linger: Int32? = nil) throws(ZMQError) {
        if let send { try setOption(ZMQ_SNDTIMEO, send) }
        if let receive { try setOption(ZMQ_RCVTIMEO, receive) }
        if let linger { try setOption(ZMQ_LINGER, linger) }
    }

    /// High-water marks in messages (0 = unlimited).
    public func setHighWaterMarks(send: Int32? = nil, receive: Int32? = nil) throws(ZMQError) {
        if let send { try setOption(ZMQ_SNDHWM, send) }
        if let receive { try setOption(ZMQ_RCVHWM, receive) }
    }

    /// The endpoint last bound or connected (ZMQ_LAST_ENDPOINT), wildcard ports resolved; "" on failure.
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: addresses

    /// Binds to `endpoint` and returns the endpoint actually bound (wildcard ports resolved).
    @discardableResult
    public func bind(_ endpoint: String) throws(ZMQError) -> String {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("zmq_bind", endpoint) }
        return lastEndpoint
    }

    /// Binds `tcp://<address>:<port>`, trying the next port while the current one is taken.
    /// Binding is the check, so there is no window for another process to steal the port.
    /// Returns the bound port.
    public func bindFirstFree(address: String, port: Int, attempts: Int = 100) throws(ZMQError) -> Int {
        var candidate = port
        while true {
            if zmq_bind(handle, "tcp://\(address):\(candidate)") == 0 { return candidate }
            let code = zmq_errno()
            let error = ZMQError("zmq_bind", "tcp://\(address):\(candidate)", code: code)
            guard error.isAddressInUse, candidate < min(port + attempts - 1, 65535) else { throw error }
            candidate += 1
        }
    }

    /// Connects to `endpoint` (the peer need not be up yet).
    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("zmq_connect", endpoint) }
    }

    // MARK: sending

    /// Sends one frame copied from `bytes`; `more` marks a multi-frame message.
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, dontWait: Bool = false) throws(ZMQError) {
        var flags: Int32 = 0
        if more { flags |= ZMQ_SNDMORE }
        if dontWait { flags |= ZMQ_DONTWAIT }
        while zmq_send(handle, bytes.baseAddress, bytes.count, flags) < 0 {
            let e = ZMQError("zmq_send")
            if !e.isInterrupted { throw e }
        }
    }

    /// Sends one frame from an array.
    public func send(_ bytes: [UInt8], more: Bool = false, dontWait: Bool = false) throws(ZMQError) {
        var failure: ZMQError?
        bytes.withUnsafeBytes { buffer in
            do throws(ZMQError) { try send(buffer, more: more, dontWait: dontWait) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Hands a filled message to libzmq without copying it; the message is empty afterwards.
    public func send(_ message: ZMQMessage, more: Bool = false) throws(ZMQError) {
        let flags: Int32 = more ? ZMQ_SNDMORE : 0
        while zmq_msg_send(&message.msg, handle, flags) < 0 {
            let e = ZMQError("zmq_msg_send")
            if !e.isInterrupted { throw e }
        }
    }

    // MARK: receiving

    /// Receives one frame into `message`, replacing its content; no copy of the payload.
    /// Throws a timeout error (`isTimeout`) when the receive timeout expires.
    public func receive(into message: ZMQMessage, dontWait: Bool = false) throws(ZMQError) {
        let flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
        while zmq_msg_recv(&message.msg, handle, flags) < 0 {
            let e = ZMQError("zmq_msg_recv")
            if !e.isInterrupted { throw e }
        }
    }

    /// Receives every frame of one message as arrays (control traffic, not data).
    public func receiveMultipart(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        let message = ZMQMessage()
        repeat {
            try receive(into: message, dontWait: dontWait && frames.isEmpty)
            frames.append(message.bytes)
        } while message.hasMore
        return frames
    }

    /// Receives a waiting message without blocking; nil when none is waiting.
    public func receiveMultipartIfReady() throws(ZMQError) -> [[UInt8]]? {
        do {
            return try receiveMultipart(dontWait: true)
        } catch {
            if error.isTimeout { return nil }
            throw error
        }
    }
}
