import CZMQ
import Glibc
import Synchronization

/// Send buffers that outlive one message: `ZMQMessage(size:pool:)` hands libzmq a pooled
/// buffer without a copy, and libzmq gives it back from its I/O thread once the bytes are on
/// the socket. A fresh `malloc` per large message costs page faults on every send (and, above
/// glibc's mmap threshold, an `mmap` and a `munmap` with its TLB shootdown); a reused buffer
/// costs neither. Buffers are kept per exact size, since a client sends the same few sizes
/// every step. Thread-safe: the I/O thread returns buffers while the caller takes them.
public final class ZMQBufferPool: Sendable {
    /// Messages smaller than this use `zmq_msg_init_size`: small mallocs are cheap and a
    /// pooled message would cost two lock round trips and libzmq's own small allocation.
    public static let minimumSize = 8192

    /// Idle buffers by size (as addresses: the lock, not the type system, makes them safe),
    /// their total bytes, and how many buffers are lent to messages. One lock keeps the three
    /// consistent.
    private struct State {
        var idle: [Int: [UInt]] = [:]
        var idleBytes = 0
        var lent = 0
    }
    private let state = Mutex(State())
    /// Idle bytes kept for reuse; a buffer returned beyond this is freed, so a burst that
    /// queued many messages does not pin their memory for the rest of the run.
    public let maxIdleBytes: Int

    /// Room before the payload for the buffer's size, keeping the payload 16-byte aligned.
    static let prefix = 16

    /// A pool that keeps at most `maxIdleBytes` of idle buffers.
    public init(maxIdleBytes: Int = 64 << 20) { self.maxIdleBytes = maxIdleBytes }

    deinit {
        for (_, buffers) in state.withLock({ $0.idle }) {
            for address in buffers { free(UnsafeMutableRawPointer(bitPattern: address)) }
        }
    }

    /// A buffer with room for `size` payload bytes: a reused one, or a new allocation.
    func take(_ size: Int) -> UnsafeMutableRawPointer? {
        let reused = state.withLock { s -> UInt? in
            guard let address = s.idle[size]?.popLast() else { return nil }
            s.idleBytes -= size
            s.lent += 1
            return address
        }
        if let reused, let base = UnsafeMutableRawPointer(bitPattern: reused) { return base + Self.prefix }
        var base: UnsafeMutableRawPointer?
        guard posix_memalign(&base, 64, Self.prefix + size) == 0, let base else { return nil }
        base.storeBytes(of: size, as: Int.self)
        state.withLock { $0.lent += 1 }
        return base + Self.prefix
    }

    /// Returns a buffer `take` handed out: kept for reuse, or freed when enough are idle.
    func giveBack(_ payload: UnsafeMutableRawPointer) {
        let base = payload - Self.prefix
        let size = base.load(as: Int.self)
        let kept = state.withLock { s -> Bool in
            s.lent -= 1
            guard s.idleBytes + size <= maxIdleBytes else { return false }
            s.idleBytes += size
            s.idle[size, default: []].append(UInt(bitPattern: base))
            return true
        }
        if !kept { free(base) }
    }

    /// Bytes currently idle in the pool.
    public var idleByteCount: Int { state.withLock { $0.idleBytes } }
    /// Buffers lent to messages libzmq has not released yet.
    public var lentCount: Int { state.withLock { $0.lent } }
}

/// libzmq's free callback for pooled messages: runs on libzmq's I/O thread once the message
/// is sent (or dropped), gives the buffer back and releases the message's hold on the pool.
let releaseToPool: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { data, hint in
    guard let hint else { return }
    let pool = Unmanaged<ZMQBufferPool>.fromOpaque(hint).takeRetainedValue()
    if let data { pool.giveBack(data) }
}
