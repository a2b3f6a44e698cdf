import XCTest
import MelissaTransport

final class BindTests: XCTestCase {
    func testBindWildcardReturnsResolvedEndpoint() throws {
        let context = try ZMQContext()
        let socket = try makeSocket(context, .pull)
        let endpoint = try socket.bind("tcp://127.0.0.1:*")
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let p = try XCTUnwrap(port(of: endpoint), endpoint)
        XCTAssertGreaterThan(p, 0)
        XCTAssertEqual(socket.lastEndpoint, endpoint)
    }

    func testBindFailureNamesTheEndpoint() throws {
        let context = try ZMQContext()
        let socket = try makeSocket(context, .pull)
        let error = try requireZMQError {
            try socket.bind("tcp://127.0.0.1:notaport")
        }
        XCTAssertEqual(error.call, "zmq_bind")
        XCTAssertEqual(error.context, "tcp://127.0.0.1:notaport")
        XCTAssertTrue(error.description.contains("tcp://127.0.0.1:notaport"), error.description)
        XCTAssertFalse(error.isAddressInUse)
        XCTAssertFalse(error.isTimeout)
    }

    func testConnectToUnknownTransportThrows() throws {
        let context = try ZMQContext()
        let socket = try makeSocket(context, .push)
        let error = try requireZMQError { try socket.connect("nosuch://x") }
        XCTAssertEqual(error.call, "zmq_connect")
        XCTAssertTrue(error.description.contains("nosuch://x"), error.description)
    }

    func testBindFirstFreeSkipsATakenPortAndIsReachable() throws {
        let context = try ZMQContext()
        let occupier = try makeSocket(context, .pull)
        let taken = try XCTUnwrap(port(of: try occupier.bind("tcp://127.0.0.1:*")))

        let pull = try makeSocket(context, .pull)
        let chosen = try pull.bindFirstFree(address: "127.0.0.1", port: taken)
        XCTAssertNotEqual(chosen, taken)
        XCTAssertGreaterThan(chosen, taken)
        XCTAssertLessThan(chosen, taken + 100, "default attempts is 100")
        XCTAssertEqual(pull.lastEndpoint, "tcp://127.0.0.1:\(chosen)")

        let push = try makeSocket(context, .push)
        try push.connect("tcp://127.0.0.1:\(chosen)")
        try push.send(Array("hello".utf8))
        XCTAssertEqual(try pull.receiveMultipart(), [Array("hello".utf8)])

        // The occupier still owns its port and is unaffected.
        let push2 = try makeSocket(context, .push)
        try push2.connect("tcp://127.0.0.1:\(taken)")
        try push2.send([7])
        XCTAssertEqual(try occupier.receiveMultipart(), [[7]])
    }

    func testBindFirstFreeWithOneAttemptOnATakenPortThrowsAddressInUse() throws {
        let context = try ZMQContext()
        let occupier = try makeSocket(context, .pull)
        let taken = try XCTUnwrap(port(of: try occupier.bind("tcp://127.0.0.1:*")))

        let socket = try makeSocket(context, .pull)
        let error = try requireZMQError {
            _ = try socket.bindFirstFree(address: "127.0.0.1", port: taken, attempts: 1)
        }
        XCTAssertTrue(error.isAddressInUse, error.description)
        XCTAssertFalse(error.isTimeout)
        XCTAssertEqual(error.call, "zmq_bind")
        XCTAssertEqual(error.context, "tcp://127.0.0.1:\(taken)")
        XCTAssertTrue(error.description.contains("tcp://127.0.0.1:\(taken)"), error.description)

        // The failed attempt leaves the socket usable.
        let endpoint = try socket.bind("tcp://127.0.0.1:*")
        XCTAssertNotNil(port(of: endpoint))
    }

    func testBindFirstFreeTriesExactlyAttemptsPorts() throws {
        let context = try ZMQContext()
        let first = try makeSocket(context, .pull)
        let taken = try XCTUnwrap(port(of: try first.bind("tcp://127.0.0.1:*")))
        let second = try makeSocket(context, .pull)
        do {
            try second.bind("tcp://127.0.0.1:\(taken + 1)")
        } catch {
            throw XCTSkip("port \(taken + 1) is busy on this machine: \(error)")
        }
        let socket = try makeSocket(context, .pull)
        // Two attempts: taken and taken + 1, both busy; the error names the last one tried.
        let error = try requireZMQError {
            _ = try socket.bindFirstFree(address: "127.0.0.1", port: taken, attempts: 2)
        }
        XCTAssertTrue(error.isAddressInUse, error.description)
        XCTAssertEqual(error.context, "tcp://127.0.0.1:\(taken + 1)")

        // Three attempts reach taken + 2 (when nobody else holds it).
        let third = try makeSocket(context, .pull)
        let chosen: Int
        do {
            chosen = try third.bindFirstFree(address: "127.0.0.1", port: taken, attempts: 3)
        } catch {
            // Only a busy taken + 2 excuses the failure; an earlier give-up is a bug.
            if error.isAddressInUse && error.context == "tcp://127.0.0.1:\(taken + 2)" {
                throw XCTSkip("port \(taken + 2) is busy on this machine")
            }
            XCTFail("bindFirstFree(attempts: 3) gave up early: \(error)")
            return
        }
        XCTAssertEqual(chosen, taken + 2)
    }
}
