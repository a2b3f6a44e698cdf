import XCTest
import Glibc
import MelissaTransport

final class PollerTests: XCTestCase {
    func testOnlyReadyItemsReportTrue() throws {
        let context = try ZMQContext()
        let (pullA, pushA, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let (pullB, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let pipe = try Pipe()

        var poller = ZMQPoller()
        XCTAssertEqual(poller.add(pullA), 0)
        XCTAssertEqual(poller.add(pullB), 1)
        XCTAssertEqual(poller.add(fileDescriptor: pipe.readEnd), 2)

        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false, false, false])

        // Socket A only.
        try pushA.send([1])
        try waitReadable(pullA)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [true, false, false])
        // Level-triggered: still ready until read.
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [true, false, false])

        // Socket A and the pipe.
        pipe.writeByte()
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: Int(patientMilliseconds)), [true, false, true])

        // Drain A: only the pipe remains.
        XCTAssertEqual(try pullA.receiveMultipart(), [[1]])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false, false, true])

        // Drain the pipe: nothing remains.
        XCTAssertEqual(pipe.readByte(), 0x2a)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false, false, false])
        XCTAssertNil(try pullB.receiveMultipartIfReady())
    }

    func testZeroTimeoutOnNothingReadyReturnsAllFalse() throws {
        let context = try ZMQContext()
        let (pullA, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let (pullB, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let pipe = try Pipe()
        var poller = ZMQPoller()
        poller.add(pullA)
        poller.add(pullB)
        poller.add(fileDescriptor: pipe.readEnd)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false, false, false])
    }

    func testTimedPollWaitsThenReturnsAllFalse() throws {
        let context = try ZMQContext()
        let (pull, _, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        var poller = ZMQPoller()
        poller.add(pull)
        let clock = ContinuousClock()
        let start = clock.now
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 50), [false])
        XCTAssertGreaterThanOrEqual(clock.now - start, .milliseconds(40))
    }

    func testPollWakesUpWhenAMessageArrives() throws {
        let context = try ZMQContext()
        let (pull, push, _) = try makeConnectedPair(context, bind: .pull, connect: .push)
        let other = try Pipe()
        var poller = ZMQPoller()
        poller.add(fileDescriptor: other.readEnd)
        poller.add(pull)
        try push.send([5, 6])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: Int(patientMilliseconds)), [false, true])
        XCTAssertEqual(try pull.receiveMultipartIfReady(), [[5, 6]])
    }

    func testEmptyPollerReturnsEmptyResult() throws {
        var poller = ZMQPoller()
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [])
    }
}
