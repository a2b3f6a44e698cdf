import CZMQ

/// A libzmq context; thread-safe, so one is shared by every socket of a process.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var terminated = false

    /// Creates a context with libzmq's defaults.
    public init() throws(ZMQError) {
        guard let h = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
        handle = h
    }

    deinit { terminate() }

    /// Terminates the context now: blocks until every socket of it is closed and their queued
    /// messages left (within each socket's linger). A process that ends with `exit` must call
    /// it, or messages still queued in libzmq's I/O thread are lost. Idempotent.
    public func terminate() {
        guard !terminated else { return }
        terminated = true
        // A signal can interrupt the term; retry rather than leak the context.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Opens a socket of `type` (ZMQ_PUSH, ZMQ_PULL, ...).
    public func socket(_ type: SocketType) throws(ZMQError) -> ZMQSocket {
        try ZMQSocket(context: self, type: type)
    }
}

/// The ZeroMQ socket types the project uses.
public enum SocketType: Sendable {
    case req, rep, dealer, router, push, pull, pair

    var raw: Int32 {
        switch self {
        case .req: return ZMQ_REQ
        case .rep: return ZMQ_REP
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        case .pair: return ZMQ_PAIR
        }
    }
}
