import CZMQ
import Glibc

/// A received (or to-be-sent) message owned by libzmq: reading it copies nothing.
public final class ZMQMessage {
    var msg = zmq_msg_t()

    /// An empty message, ready to receive into.
    public init() { zmq_msg_init(&msg) }

    /// A message with `size` bytes of uninitialised payload that the caller fills in place.
    public init(size: Int) throws(ZMQError) {
        guard zmq_msg_init_size(&msg, size) == 0 else { throw ZMQError("zmq_msg_init_size", "\(size) bytes") }
    }

    /// A message of `size` bytes the caller fills in place, its buffer from `pool` when the
    /// message is large enough to gain from reuse (`ZMQBufferPool.minimumSize`). Sending it
    /// copies nothing; libzmq returns the buffer to the pool when it is done with it.
    public init(size: Int, pool: ZMQBufferPool) throws(ZMQError) {
        guard size >= ZMQBufferPool.minimumSize else {
            guard zmq_msg_init_size(&msg, size) == 0 else { throw ZMQError("zmq_msg_init_size", "\(size) bytes") }
            return
        }
        guard let data = pool.take(size) else { throw ZMQError("posix_memalign", "\(size) bytes", code: ENOMEM) }
        // The message holds the pool until libzmq calls releaseToPool, so the pool outlives
        // every buffer it lent, whatever the order things are released in.
        let hint = Unmanaged.passRetained(pool).toOpaque()
        guard zmq_msg_init_data(&msg, data, size, releaseToPool, hint) == 0 else {
            let error = ZMQError("zmq_msg_init_data", "\(size) bytes")
            pool.giveBack(data)
            Unmanaged<ZMQBufferPool>.fromOpaque(hint).release()
            zmq_msg_init(&msg)
            throw error
        }
    }

    deinit { zmq_msg_close(&msg) }

    /// Payload size in bytes.
    public var count: Int { zmq_msg_size(&msg) }

    /// True when another frame of the same message follows.
    public var hasMore: Bool { zmq_msg_more(&msg) != 0 }

    /// Borrows the payload for reading; valid only inside `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(&msg), count: zmq_msg_size(&msg)))
    }

    /// Borrows the payload for writing before the message is sent.
    public func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: zmq_msg_data(&msg), count: zmq_msg_size(&msg)))
    }

    /// A metadata property of a received message (`Peer-Address`: the sender's IP address on a
    /// TCP connection; `User-Id`: the authenticated user), or nil when the transport has none.
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(&msg, name) else { return nil }
        return String(cString: value)
    }

    /// The payload as a new array (for small control frames).
    public var bytes: [UInt8] { withBytes { Array($0) } }
}
