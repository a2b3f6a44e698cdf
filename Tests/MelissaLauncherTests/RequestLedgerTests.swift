import MelissaProtocol
import XCTest
@testable import MelissaLauncher

/// The launcher's exactly-once bookkeeping and its data-rate meter.
final class RequestLedgerTests: XCTestCase {
    func testAnswersAreKeptPerSessionAndRequest() {
        var ledger = RequestLedger()
        let done = ControlMessage.requestDone(session: 7, request: 1, outcome: .accepted, detail: "queued")
        XCTAssertNil(ledger.answer(session: 7, request: 1))
        ledger.record(session: 7, request: 1, answer: done)
        XCTAssertEqual(ledger.answer(session: 7, request: 1), done)
        XCTAssertNil(ledger.answer(session: 7, request: 2))
        XCTAssertNil(ledger.answer(session: 8, request: 1), "another session's request 1 is another request")
        ledger.record(session: 8, request: 1, answer: .requestDone(session: 8, request: 1, outcome: .ignored, detail: ""))
        XCTAssertEqual(ledger.count, 2)
        // A restarted server has a new session: the old one can never speak again.
        ledger.keepOnly(session: 8)
        XCTAssertNil(ledger.answer(session: 7, request: 1))
        XCTAssertEqual(ledger.count, 1)
    }

    func testOnlyTheLastAnswersAreKept() {
        var ledger = RequestLedger(capacity: 3)
        for request: UInt64 in 1...10 {
            ledger.record(session: 1, request: request,
                          answer: .requestDone(session: 1, request: request, outcome: .accepted, detail: ""))
            XCTAssertLessThanOrEqual(ledger.count, 3)
        }
        XCTAssertEqual((1...10).filter {
            if case let .requestDone(_, _, outcome, _)? = ledger.answer(session: 1, request: UInt64($0)) { return outcome == .accepted }
            return false
        }, [8, 9, 10], "the stored answers are the last three")
        // Older requests are still known as settled: a repeat acts on nothing.
        for request: UInt64 in 1...7 {
            XCTAssertEqual(ledger.answer(session: 1, request: request),
                           .requestDone(session: 1, request: request, outcome: .duplicate,
                                        detail: "request \(request) was settled earlier"))
        }
        XCTAssertNil(ledger.answer(session: 1, request: 11), "a request never seen is new")
    }

    func testSettledRequestsAreKnownExactlyEvenWithGaps() {
        var ledger = RequestLedger(capacity: 1)
        for request: UInt64 in [1, 2, 4, 7] {
            ledger.record(session: 3, request: request,
                          answer: .requestDone(session: 3, request: request, outcome: .accepted, detail: ""))
        }
        XCTAssertEqual((1...8).filter { ledger.wasSettled(session: 3, request: UInt64($0)) }, [1, 2, 4, 7])
        XCTAssertNil(ledger.answer(session: 3, request: 3), "a gap is a request not settled yet: it must run")
        ledger.record(session: 3, request: 3, answer: .requestDone(session: 3, request: 3, outcome: .accepted, detail: ""))
        XCTAssertEqual((1...8).filter { ledger.wasSettled(session: 3, request: UInt64($0)) }, [1, 2, 3, 4, 7])
        XCTAssertFalse(ledger.wasSettled(session: 4, request: 1), "sessions do not share numbers")
        ledger.keepOnly(session: 4)
        XCTAssertFalse(ledger.wasSettled(session: 3, request: 1), "a forgotten session is forgotten whole")
    }

    func testTheRateCoversTheLastWindowAndRestartsWhenTheCountDrops() {
        var meter = RateMeter(window: 10)
        XCTAssertEqual(meter.record(bytes: 0, at: 100), 0)
        XCTAssertEqual(meter.record(bytes: 500, at: 100.5), 0, "less than a second of data: no rate yet")
        XCTAssertEqual(meter.record(bytes: 1_000, at: 101), 1_000, accuracy: 1e-9)
        // 20 s later at a new pace: only the last ~10 s count.
        var rate = 0.0
        for second in 1...20 { rate = meter.record(bytes: 1_000 + UInt64(second) * 5_000, at: 101 + Double(second)) }
        XCTAssertEqual(rate, 5_000, accuracy: 1e-9)
        // A restarted server counts from zero again: the meter starts over instead of going negative.
        XCTAssertEqual(meter.record(bytes: 10, at: 122), 0)
        XCTAssertEqual(meter.record(bytes: 2_010, at: 124), 1_000, accuracy: 1e-9)
    }
}
