import XCTest
import MelissaTransport
import CZMQ

final class MessagingTests: XCTestCase {
    func testZeroCopyMessageRoundTrip() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let payload = pattern(100)

        let outgoing = try ZMQMessage(size: payload.count)
        XCTAssertEqual(outgoing.count, payload.count)
        outgoing.withMutableBytes { buffer in
            XCTAssertEqual(buffer.count, payload.count)
            buffer.copyBytes(from: payload)
        }
        XCTAssertEqual(outgoing.bytes, payload)
        try push.send(outgoing)
        XCTAssertEqual(outgoing.count, 0, "a sent message is empty afterwards")

        let incoming = ZMQMessage()
        XCTAssertEqual(incoming.count, 0)
        try pull.receive(into: incoming)
        XCTAssertEqual(incoming.count, payload.count)
        XCTAssertFalse(incoming.hasMore)
        XCTAssertEqual(incoming.bytes, payload)
        incoming.withBytes { XCTAssertEqual(Array($0), payload) }
    }

    /// Sizes around libzmq's inline ("very small message") limit of 33 bytes, where the
    /// payload lives inside zmq_msg_t itself, so a copy of the struct would dangle.
    func testSmallAndBoundarySizesRoundTrip() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let sizes = [0, 1, 8, 29, 32, 33, 34, 64, 255, 4096]
        for (i, size) in sizes.enumerated() {
            let payload = pattern(size, seed: UInt32(i + 3))
            let message = try ZMQMessage(size: size)
            message.withMutableBytes { $0.copyBytes(from: payload) }
            try push.send(message)
        }
        // One message object reused for every receive: each receive replaces the content.
        let incoming = ZMQMessage()
        for (i, size) in sizes.enumerated() {
            try pull.receive(into: incoming)
            XCTAssertEqual(incoming.count, size, "message \(i)")
            XCTAssertEqual(incoming.bytes, pattern(size, seed: UInt32(i + 3)), "message \(i)")
        }
    }

    func testOneMebibyteMessage() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let size = 1 << 20
        let payload = pattern(size, seed: 42)

        let outgoing = try ZMQMessage(size: size)
        outgoing.withMutableBytes { $0.copyBytes(from: payload) }
        try push.send(outgoing)

        let incoming = ZMQMessage()
        try pull.receive(into: incoming)
        XCTAssertEqual(incoming.count, size)
        let same = incoming.withBytes { $0.elementsEqual(payload) }
        XCTAssertTrue(same, "1 MiB payload differs after the round trip")
    }

    func testCopyingSendsFromArrayAndBuffer() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        try push.send([1, 2, 3])
        let raw: [UInt8] = [9, 8]
        try raw.withUnsafeBytes { buffer in try push.send(buffer) }
        try push.send([])
        XCTAssertEqual(try pull.receiveMultipart(), [[1, 2, 3]])
        XCTAssertEqual(try pull.receiveMultipart(), [[9, 8]])
        XCTAssertEqual(try pull.receiveMultipart(), [[]])
    }

    func testMultipartFramesArriveSeparately() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)

        try push.send(Array("head".utf8), more: true)
        try push.send([], more: true)                       // an empty middle frame
        let big = pattern(5000, seed: 7)
        let zeroCopy = try ZMQMessage(size: big.count)
        zeroCopy.withMutableBytes { $0.copyBytes(from: big) }
        try push.send(zeroCopy, more: true)                  // zero-copy frame in the middle
        try push.send(Array("tail".utf8))
        try push.send(Array("next message".utf8))

        let frames = try pull.receiveMultipart()
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(frames, [Array("head".utf8), [], big, Array("tail".utf8)])
        // The following message is not merged into the previous one.
        XCTAssertEqual(try pull.receiveMultipart(), [Array("next message".utf8)])
    }

    func testHasMoreOnIndividualFrames() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        try push.send([1], more: true)
        try push.send([2])
        let message = ZMQMessage()
        try pull.receive(into: message)
        XCTAssertEqual(message.bytes, [1])
        XCTAssertTrue(message.hasMore)
        try pull.receive(into: message)
        XCTAssertEqual(message.bytes, [2])
        XCTAssertFalse(message.hasMore)
    }

    func testReceiveMultipartIfReady() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)

        XCTAssertNil(try pull.receiveMultipartIfReady(), "nothing was sent yet")

        try push.send([0xAA], more: true)
        try push.send([0xBB, 0xCC])
        try waitReadable(pull)
        XCTAssertEqual(try pull.receiveMultipartIfReady(), [[0xAA], [0xBB, 0xCC]])
        XCTAssertNil(try pull.receiveMultipartIfReady(), "the only message was consumed")
    }

    func testReceiveDontWaitOnEmptySocketIsATimeout() throws {
        let context = try ZMQContext()
        let (pull, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let error = try requireZMQError {
            try pull.receive(into: ZMQMessage(), dontWait: true)
        }
        XCTAssertTrue(error.isTimeout, error.description)
    }

    func testReceiveTimeout() throws {
        let context = try ZMQContext()
        let (pull, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        try pull.setTimeouts(receive: 50)

        let message = ZMQMessage()
        let clock = ContinuousClock()
        let start = clock.now
        let error = try requireZMQError { try pull.receive(into: message) }
        let elapsed = clock.now - start
        XCTAssertTrue(error.isTimeout, error.description)
        XCTAssertFalse(error.isTerminated)
        XCTAssertFalse(error.isAddressInUse)
        XCTAssertEqual(error.call, "zmq_msg_recv")
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(40), "returned after \(elapsed)")

        // receiveMultipart reports the same timeout.
        let again = try requireZMQError { _ = try pull.receiveMultipart() }
        XCTAssertTrue(again.isTimeout, again.description)
    }

    func testSendTimeoutWithoutPeerKeepsTheMessage() throws {
        let context = try ZMQContext()
        let push = try makeSocket(context, .push)
        try push.setTimeouts(send: 50)
        // No bind or connect at all: a PUSH without peers cannot queue.
        let message = try ZMQMessage(size: 4)
        message.withMutableBytes { $0.copyBytes(from: [1, 2, 3, 4] as [UInt8]) }
        let error = try requireZMQError { try push.send(message) }
        XCTAssertTrue(error.isTimeout, error.description)
        XCTAssertEqual(message.bytes, [1, 2, 3, 4], "a message that was not sent keeps its payload")

        let nonBlocking = try requireZMQError {
            try push.send([1], dontWait: true)
        }
        XCTAssertTrue(nonBlocking.isTimeout, nonBlocking.description)
    }

    func testDealerRouterIdentityAndReply() throws {
        let context = try ZMQContext()
        let router = try makeSocket(context, .router)
        let endpoint = try router.bind("tcp://127.0.0.1:*")

        let named = try makeSocket(context, .dealer)
        let identity = Array("dealer-A".utf8)
        try named.setOption(ZMQ_ROUTING_ID, bytes: identity)
        try named.connect(endpoint)
        let anonymous = try makeSocket(context, .dealer)
        try anonymous.connect(endpoint)

        try named.send(Array("from A".utf8))
        let first = try router.receiveMultipart()
        XCTAssertEqual(first, [identity, Array("from A".utf8)])

        try anonymous.send(Array("from B".utf8), more: true)
        try anonymous.send([0])
        let second = try router.receiveMultipart()
        XCTAssertEqual(second.count, 3)
        XCTAssertEqual(Array(second.dropFirst()), [Array("from B".utf8), [0]])
        let anonymousIdentity = try XCTUnwrap(second.first)
        XCTAssertFalse(anonymousIdentity.isEmpty)
        XCTAssertNotEqual(anonymousIdentity, identity)

        // Replies are routed by identity, to the right dealer only.
        try router.send(anonymousIdentity, more: true)
        try router.send(Array("to B".utf8))
        try router.send(identity, more: true)
        try router.send(Array("to A".utf8), more: true)
        try router.send([1, 2])
        XCTAssertEqual(try named.receiveMultipart(), [Array("to A".utf8), [1, 2]])
        XCTAssertEqual(try anonymous.receiveMultipart(), [Array("to B".utf8)])
        XCTAssertNil(try named.receiveMultipartIfReady())
        XCTAssertNil(try anonymous.receiveMultipartIfReady())
    }

    func testRequestReplyLockstep() throws {
        let context = try ZMQContext()
        let (rep, req, _) = try makeConnectedPair(context, bind: .rep, connect: .req)
        try req.send(Array("ping".utf8))
        XCTAssertEqual(try rep.receiveMultipart(), [Array("ping".utf8)])
        try rep.send(Array("pong".utf8))
        XCTAssertEqual(try req.receiveMultipart(), [Array("pong".utf8)])

        // A REQ socket refuses a second request before the reply (proves the type mapping).
        try req.send([1])
        let error = try requireZMQError { try req.send([2]) }
        XCTAssertFalse(error.isTimeout, error.description)
        XCTAssertEqual(error.call, "zmq_send")
    }

    func testPairBothWays() throws {
        let context = try ZMQContext()
        let (a, b, _) = try makeConnectedPair(context, bind: .pair, connect: .pair)
        try b.send([1])
        XCTAssertEqual(try a.receiveMultipart(), [[1]])
        try a.send([2])
        XCTAssertEqual(try b.receiveMultipart(), [[2]])
    }

    func testSocketKeepsItsContextAlive() throws {
        func makeOrphans() throws -> (ZMQSocket, ZMQSocket) {
            let context = try ZMQContext()   // dropped at the end of this function
            let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
            return (pull, push)
        }
        let (pull, push) = try makeOrphans()
        try push.send([42])
        XCTAssertEqual(try pull.receiveMultipart(), [[42]])
        push.close()
        push.close()   // idempotent
    }
}
