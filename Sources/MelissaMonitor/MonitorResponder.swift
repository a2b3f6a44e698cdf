import Hummingbird
import HTTPTypes

/// Answers every monitor request: token check first, then method, then the three routes.
///
/// A plain `HTTPResponder` rather than Hummingbird's `Router`: with three fixed paths the whole
/// policy (401 before 405 before 404, headers on every response, HEAD) fits in one readable
/// function, and nothing can reach a route without passing the token check.
struct MonitorResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let board: StatusBoard
    /// The token as given, for embedding in the page.
    let token: String
    /// Its UTF-8 bytes, for comparison.
    let tokenBytes: [UInt8]

    init(board: StatusBoard, token: String) {
        self.board = board
        self.token = token
        self.tokenBytes = Array(token.utf8)
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        var response = route(request)
        // Status is live and the page carries the token: nothing may be cached, by browsers or proxies.
        response.headers[.cacheControl] = "no-store"
        response.headers[.xContentTypeOptions] = "nosniff"
        if request.method == .head {
            // Same status and headers (Content-Length included), no body.
            response = response.createHeadResponse()
        }
        return response
    }

    /// The response for `request`, before the headers every response gets.
    func route(_ request: Request) -> Response {
        // Checked before anything else so that an unauthenticated client learns nothing,
        // not even which paths or methods exist.
        guard isAuthorized(request) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"melissa-monitor\""
            return text(.unauthorized, "401 unauthorized: send 'Authorization: Bearer <token>' or '?token=<token>'\n",
                        headers: headers)
        }
        guard request.method == .get || request.method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            return text(.methodNotAllowed, "405 method not allowed: the monitor is read-only (GET, HEAD)\n", headers: headers)
        }
        switch request.uri.path {
        case "/":
            let nonce = Self.makeNonce()
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            // Only the page's own nonce-tagged style and script run; it may fetch from this
            // origin only; it loads nothing else and cannot be framed.
            headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'nonce-\(nonce)'; "
                + "style-src 'nonce-\(nonce)'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                + "frame-ancestors 'none'"
            let page = StatusPage.render(board.snapshot(), token: token, nonce: nonce)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
        case "/status.json":
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let json = StatusJSON.render(board.snapshot())
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
        case "/metrics":
            var headers = HTTPFields()
            headers[.contentType] = PrometheusMetrics.contentType
            let metrics = PrometheusMetrics.render(board.snapshot())
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics)))
        default:
            return text(.notFound, "404 not found: the monitor serves /, /status.json and /metrics\n")
        }
    }

    /// Whether the request carries the token, as a Bearer header or a `token` query parameter.
    func isAuthorized(_ request: Request) -> Bool {
        var authorized = false
        for field in request.headers[values: .authorization] {
            // RFC 7235: the scheme is case-insensitive; one or more spaces before the credentials.
            let parts = field.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer",
               TokenComparison.equal(Array(parts[1].utf8), tokenBytes) {
                authorized = true
            }
        }
        // The query form exists for the browser page, which cannot set headers on a navigation.
        for value in request.uri.queryParameters[values: "token"]
        where TokenComparison.equal(Array(value.utf8), tokenBytes) {
            authorized = true
        }
        return authorized
    }

    /// A short plain-text response.
    private func text(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// 128 random bits as hex, for the page's Content-Security-Policy nonce.
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

/// Token comparison whose running time does not depend on where the candidate differs.
enum TokenComparison {
    /// True when `candidate` equals `expected`; always reads all of `expected`, never exits early.
    ///
    /// The time depends only on the two lengths: the expected length is fixed for the server's
    /// life and the candidate's is the attacker's own, so timing reveals no token bytes.
    static func equal(_ candidate: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(candidate.count == expected.count ? 0 : 1)
        for index in expected.indices {
            let byte = index < candidate.count ? candidate[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0 && !expected.isEmpty
    }
}
