import CZMQ

/// Waits on several sockets and plain file descriptors at once (one zmq_poll call).
public struct ZMQPoller {
    private var items: [zmq_pollitem_t] = []
    /// Keeps registered sockets alive: items hold their raw handles.
    private var sockets: [ZMQSocket] = []

    public init() {}

    /// Registers a socket for input; returns its index in `poll`'s result.
    @discardableResult
    public mutating func add(_ socket: ZMQSocket) -> Int {
        sockets.append(socket)
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Registers a file descriptor (a signalfd, a timerfd) for input.
    @discardableResult
    public mutating func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever) and returns which items are readable.
    /// A signal interrupting the wait returns an all-false result rather than an error.
    public mutating func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
        let n = items.count
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32(n), timeoutMilliseconds) }
        if rc < 0 {
            let e = ZMQError("zmq_poll")
            if e.isInterrupted { return Array(repeating: false, count: n) }
            throw e
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
