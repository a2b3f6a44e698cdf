import Foundation
import Glibc
import XCTest
@testable import MelissaMonitor

/// A real server on 127.0.0.1, port 0, spoken to over real HTTP on the loopback.
final class MonitorServerTests: XCTestCase {
    private let token = "s3cret-token_with~chars"
    private var board: StatusBoard!
    private var server: MonitorServer!
    private var port = 0

    private let endpoints = ["/", "/status.json", "/metrics"]

    override func setUpWithError() throws {
        board = StatusBoard(Fixtures.status)
        server = try MonitorServer(board: board, port: 0, token: token)
        port = try server.start()
        XCTAssertGreaterThan(port, 0)
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func get(_ target: String, method: String = "GET", headers: [(String, String)] = []) throws -> HTTPReply {
        try RawHTTP.request(port: port, method: method, target: target, headers: headers)
    }

    private func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    // MARK: Authentication

    func testMissingTokenIs401Everywhere() throws {
        for target in endpoints + ["/nope", "/status.json?x=1"] {
            let reply = try get(target)
            XCTAssertEqual(reply.status, 401, target)
            XCTAssertEqual(reply.header("WWW-Authenticate")?.hasPrefix("Bearer"), true, target)
            XCTAssertEqual(reply.header("Cache-Control"), "no-store", target)
            XCTAssertTrue(reply.text.hasPrefix("401"), target)
            XCTAssertFalse(reply.text.contains("finished"), "401 leaked status: \(target)")
        }
    }

    func testWrongTokenIs401Everywhere() throws {
        let wrong = [String(token.dropLast()), token + "x", token.uppercased(), "", " "]
        for target in endpoints + ["/nope"] {
            for candidate in wrong {
                XCTAssertEqual(try get(target, headers: bearer(candidate)).status, 401, "\(target) header \(candidate)")
                let query = candidate.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                XCTAssertEqual(try get(target + "?token=" + query).status, 401, "\(target) query \(candidate)")
            }
            // The token under another scheme, or bare, is not a Bearer token.
            XCTAssertEqual(try get(target, headers: [("Authorization", "Basic \(token)")]).status, 401, target)
            XCTAssertEqual(try get(target, headers: [("Authorization", token)]).status, 401, target)
            // Another parameter holding the token is not the token parameter.
            XCTAssertEqual(try get(target + "?tok=" + token).status, 401, target)
        }
    }

    /// Authentication comes before method and path checks: nothing is revealed without it.
    func testUnauthenticatedWrongMethodIs401Not405() throws {
        XCTAssertEqual(try get("/status.json", method: "POST").status, 401)
        XCTAssertEqual(try get("/nope", method: "DELETE").status, 401)
    }

    func testHeaderTokenAndQueryTokenBothWork() throws {
        for target in endpoints {
            let byHeader = try get(target, headers: bearer(token))
            XCTAssertEqual(byHeader.status, 200, target)
            XCTAssertEqual(byHeader.header("Cache-Control"), "no-store", target)
            XCTAssertFalse(byHeader.body.isEmpty, target)
            let byQuery = try get(target + "?token=" + token)
            XCTAssertEqual(byQuery.status, 200, target)
            XCTAssertEqual(byQuery.header("Cache-Control"), "no-store", target)
            // The query value is percent-decoded, as a browser's encodeURIComponent needs.
            XCTAssertEqual(try get(target + "?a=b&token=s3cret%2Dtoken%5Fwith%7Echars").status, 200, target)
            // The scheme is case-insensitive (RFC 7235).
            XCTAssertEqual(try get(target, headers: [("Authorization", "bearer \(token)")]).status, 200, target)
        }
    }

    func testOneValidTokenIsEnoughEvenNextToAWrongOne() throws {
        XCTAssertEqual(try get("/metrics?token=wrong", headers: bearer(token)).status, 200)
        XCTAssertEqual(try get("/metrics?token=" + token, headers: bearer("wrong")).status, 200)
    }

    // MARK: Routes

    func testJSONIsTheBoardAndFollowsUpdates() throws {
        let first = try get("/status.json", headers: bearer(token))
        XCTAssertEqual(first.header("Content-Type"), "application/json")
        XCTAssertEqual(try JSONDecoder().decode(StudyStatus.self, from: Data(first.body)), Fixtures.status)
        XCTAssertEqual(first.body, StatusJSON.render(Fixtures.status))

        board.update { status in
            status.state = "stopping"
            status.simulations.finished = 9
            status.jobs[1].reason = Fixtures.hostileReason
            status.record(sample: .init(t: 120, bytesReceived: 1_048_576, finished: 9))
        }
        var expected = Fixtures.status
        expected.state = "stopping"
        expected.simulations.finished = 9
        expected.jobs[1].reason = Fixtures.hostileReason
        expected.history.append(.init(t: 120, bytesReceived: 1_048_576, finished: 9))
        let second = try get("/status.json?token=" + token)
        XCTAssertEqual(try JSONDecoder().decode(StudyStatus.self, from: Data(second.body)), expected)
    }

    func testMetricsParseAndCarryTheBoardsNumbers() throws {
        let reply = try get("/metrics", headers: bearer(token))
        XCTAssertEqual(reply.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        let metrics = try PrometheusExposition(parsing: reply.text)
        XCTAssertEqual(metrics.value("melissa_simulations", ["state": "finished"]), 4)
        XCTAssertEqual(metrics.value("melissa_simulations_total"), 10)
        XCTAssertEqual(metrics.value("melissa_bytes_received_total"), 1_048_576)
        XCTAssertEqual(metrics.value("melissa_server_restarts_total"), 1)

        board.update { $0.simulations.finished = 7; $0.bytesReceived = 5_000_000_000; $0.server.restarts = 2 }
        let updated = try PrometheusExposition(parsing: try get("/metrics", headers: bearer(token)).text)
        XCTAssertEqual(updated.value("melissa_simulations", ["state": "finished"]), 7)
        XCTAssertEqual(updated.value("melissa_bytes_received_total"), 5_000_000_000)
        XCTAssertEqual(updated.value("melissa_server_restarts_total"), 2)
    }

    func testPageEscapesTheHostileReasonAndCarriesItsNonceInTheCSP() throws {
        board.update { $0.jobs[1].reason = Fixtures.hostileReason }
        let reply = try get("/?token=" + token)
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.header("Content-Type"), "text/html; charset=utf-8")
        let page = reply.text
        XCTAssertFalse(page.contains("<script>alert(1)</script>"))
        XCTAssertTrue(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;single&#39;</td>"))
        XCTAssertTrue(page.contains(#"const TOKEN = "s3cret-token_with~chars";"#))

        let csp = try XCTUnwrap(reply.header("Content-Security-Policy"))
        XCTAssertTrue(csp.contains("default-src 'none'"), csp)
        let nonce = try XCTUnwrap(csp.components(separatedBy: "'nonce-").dropFirst().first?.prefix { $0 != "'" })
        XCTAssertEqual(nonce.count, 32)
        XCTAssertTrue(page.contains("<script nonce=\"\(nonce)\">"))
        // A fresh nonce for every page.
        let again = try XCTUnwrap(get("/?token=" + token).header("Content-Security-Policy"))
        XCTAssertNotEqual(again, csp)
    }

    func testUnknownPathWithTokenIs404() throws {
        for target in ["/nope", "/status.json/", "/index.html", "/metrics/x"] {
            let reply = try get(target, headers: bearer(token))
            XCTAssertEqual(reply.status, 404, target)
            XCTAssertEqual(reply.header("Cache-Control"), "no-store", target)
        }
    }

    func testOtherMethodsAre405() throws {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let reply = try get("/status.json", method: method, headers: bearer(token))
            XCTAssertEqual(reply.status, 405, method)
            XCTAssertEqual(reply.header("Allow"), "GET, HEAD", method)
            XCTAssertEqual(reply.header("Cache-Control"), "no-store", method)
        }
    }

    func testHeadHasTheHeadersButNoBody() throws {
        let get = try get("/status.json", headers: bearer(token))
        let head = try RawHTTP.request(port: port, method: "HEAD", target: "/status.json", headers: bearer(token))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), get.header("Content-Length"))
        XCTAssertEqual(head.header("Cache-Control"), "no-store")
        XCTAssertTrue(head.body.isEmpty)
        XCTAssertEqual(try RawHTTP.request(port: port, method: "HEAD", target: "/metrics").status, 401)
    }

    // MARK: Lifecycle

    func testSecondServerOnTheSamePortFailsNamingThePort() throws {
        let second = try MonitorServer(board: board, port: port, token: token)
        XCTAssertThrowsError(try second.start()) { error in
            guard case MonitorError.bindFailed(let host, let failedPort, let reason) = error else {
                return XCTFail("expected bindFailed, got \(error)")
            }
            XCTAssertEqual(host, "127.0.0.1")
            XCTAssertEqual(failedPort, port)
            XCTAssertFalse(reason.isEmpty)
            XCTAssertTrue("\(error)".contains("127.0.0.1:\(port)"), "\(error)")
        }
        // The first server is unaffected.
        XCTAssertEqual(try get("/metrics", headers: bearer(token)).status, 200)
        // A failed server cannot be retried.
        XCTAssertThrowsError(try second.start()) { XCTAssertEqual($0 as? MonitorError, .alreadyStarted) }
        second.stop()
    }

    func testStopClosesTheSocketAndIsIdempotent() throws {
        XCTAssertEqual(try get("/metrics", headers: bearer(token)).status, 200)
        server.stop()
        XCTAssertThrowsError(try RawHTTP.connect(port: port)) {
            XCTAssertEqual($0 as? RawHTTPError, .connect(errno: ECONNREFUSED))
        }
        server.stop()
        XCTAssertThrowsError(try server.start()) { XCTAssertEqual($0 as? MonitorError, .alreadyStarted) }
    }

    /// An idle keep-alive connection must not keep stop() from closing the listener.
    func testStopWithAnOpenIdleConnection() throws {
        let idle = try RawHTTP.connect(port: port)
        defer { close(idle) }
        server.stop()
        XCTAssertThrowsError(try RawHTTP.connect(port: port)) {
            XCTAssertEqual($0 as? RawHTTPError, .connect(errno: ECONNREFUSED))
        }
    }

    func testStartTwiceIsRefused() {
        XCTAssertThrowsError(try server.start()) { XCTAssertEqual($0 as? MonitorError, .alreadyStarted) }
    }

    func testEmptyTokenIsRefused() {
        XCTAssertThrowsError(try MonitorServer(board: board, port: 0, token: "")) {
            XCTAssertEqual($0 as? MonitorError, .emptyToken)
        }
    }

    func testStopBeforeStartIsANoOp() throws {
        let idle = try MonitorServer(board: board, port: 0, token: token)
        idle.stop()
        idle.stop()
        XCTAssertThrowsError(try idle.start()) { XCTAssertEqual($0 as? MonitorError, .alreadyStarted) }
    }

    func testTwoServersOnPortZeroGetDifferentPorts() throws {
        let other = try MonitorServer(board: board, port: 0, token: "other")
        let otherPort = try other.start()
        defer { other.stop() }
        XCTAssertNotEqual(otherPort, port)
        XCTAssertEqual(try RawHTTP.request(port: otherPort, target: "/metrics?token=other").status, 200)
        XCTAssertEqual(try RawHTTP.request(port: otherPort, target: "/metrics?token=" + token).status, 401)
    }
}
