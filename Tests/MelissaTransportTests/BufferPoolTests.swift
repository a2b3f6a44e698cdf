import XCTest
import MelissaTransport

final class BufferPoolTests: XCTestCase {
    /// Fills a pooled message of `size` bytes with a pattern starting at `seed`.
    private func pooledMessage(size: Int, seed: UInt8, pool: ZMQBufferPool) throws -> ZMQMessage {
        let message = try ZMQMessage(size: size, pool: pool)
        message.withMutableBytes { bytes in
            for i in 0..<bytes.count { bytes[i] = seed &+ UInt8(truncatingIfNeeded: i) }
        }
        return message
    }

    func testPooledMessagesArriveIntactAndTheirBuffersComeBack() throws {
        let pool = ZMQBufferPool()
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let size = 3 * ZMQBufferPool.minimumSize + 5
        for seed in 0..<20 {
            try push.send(try pooledMessage(size: size, seed: UInt8(seed), pool: pool))
        }
        let received = ZMQMessage()
        for seed in 0..<20 {
            try pull.receive(into: received)
            XCTAssertEqual(received.count, size)
            let intact = received.withBytes { bytes in
                (0..<bytes.count).allSatisfy { bytes[$0] == UInt8(seed) &+ UInt8(truncatingIfNeeded: $0) }
            }
            XCTAssertTrue(intact, "message \(seed) arrived altered")
        }
        // libzmq gives a buffer back from its I/O thread once it is done with the message (it
        // may hold the last one until its next write); closing the socket ends that.
        push.close()
        let deadline = Date().addingTimeInterval(5)
        while pool.lentCount > 0, Date() < deadline { usleep(1000) }
        XCTAssertEqual(pool.lentCount, 0, "every buffer came back to the pool")
        // Every buffer is idle now, whole; how many there are depends on how many libzmq had
        // returned while later sends ran (reuse itself: testIdleBuffersAreBoundedAndReused).
        XCTAssertGreaterThan(pool.idleByteCount, 0)
        XCTAssertLessThanOrEqual(pool.idleByteCount, 20 * size)
        XCTAssertEqual(pool.idleByteCount % size, 0)
    }

    func testIdleBuffersAreBoundedAndReused() throws {
        let size = 2 * ZMQBufferPool.minimumSize
        let pool = ZMQBufferPool(maxIdleBytes: 3 * size)
        // Messages never sent give their buffer back when closed, as libzmq frees them.
        var held = try (0..<5).map { try pooledMessage(size: size, seed: UInt8($0), pool: pool) }
        XCTAssertEqual(pool.idleByteCount, 0)
        XCTAssertEqual(pool.lentCount, 5)
        held.removeAll()
        XCTAssertEqual(pool.lentCount, 0)
        XCTAssertEqual(pool.idleByteCount, 3 * size, "only maxIdleBytes are kept, the rest freed")
        let again = try pooledMessage(size: size, seed: 9, pool: pool)
        XCTAssertEqual(pool.idleByteCount, 2 * size, "a new message takes an idle buffer")
        XCTAssertEqual(again.count, size)
    }

    func testSmallMessagesBypassThePool() throws {
        let pool = ZMQBufferPool()
        var message: ZMQMessage? = try pooledMessage(size: 100, seed: 1, pool: pool)
        XCTAssertEqual(message?.count, 100)
        message = nil
        XCTAssertEqual(pool.idleByteCount, 0)
    }

    func testThePoolOutlivesItsLastReferenceWhileAMessageHoldsABuffer() throws {
        var pool: ZMQBufferPool? = ZMQBufferPool()
        weak let weakPool = pool
        var message: ZMQMessage? = try XCTUnwrap(pool.map { try pooledMessage(size: ZMQBufferPool.minimumSize, seed: 3, pool: $0) })
        pool = nil
        XCTAssertNotNil(weakPool, "the message keeps the pool alive")
        message = nil
        XCTAssertNil(weakPool, "the pool goes with the last message")
        _ = message
    }
}
