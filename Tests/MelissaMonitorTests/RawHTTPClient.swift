import Foundation
import Glibc

/// One HTTP response as read off the wire.
struct HTTPReply {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The first header named `name` (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Failures of the test client, with the errno where there is one.
enum RawHTTPError: Error, Equatable {
    case socket(errno: Int32)
    case connect(errno: Int32)
    case io(errno: Int32)
    case malformed(String)
}

/// A deliberately small HTTP/1.1 client over a plain loopback TCP socket.
///
/// Raw sockets rather than URLSession: the tests control every byte sent (methods, odd
/// headers, no token at all) and see exactly what the server answered, with no client-side
/// caching, redirects or connection pooling in between.
enum RawHTTP {
    /// A TCP socket connected to 127.0.0.1:`port`, with 10 s send/receive timeouts so a broken
    /// server fails the test instead of hanging it.
    static func connect(port: Int) throws(RawHTTPError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno: errno) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let error = errno
            close(fd)
            throw .connect(errno: error)
        }
        return fd
    }

    /// Sends one request with `Connection: close` and reads the whole response.
    static func request(port: Int, method: String = "GET", target: String,
                        headers: [(String, String)] = []) throws(RawHTTPError) -> HTTPReply {
        let fd = try connect(port: port)
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw .io(errno: errno) }
            sent += n
        }
        // Read until the peer closes (we asked for Connection: close), or until the announced
        // body is complete, whichever comes first.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let reply = try? parse(received, head: method == "HEAD"), reply.complete { return reply.reply }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw .io(errno: errno) }
            received += buffer[0..<n]
        }
        return try parse(received, head: method == "HEAD").reply
    }

    /// Parses a response; `complete` when the body has all Content-Length bytes.
    static func parse(_ data: [UInt8], head: Bool) throws(RawHTTPError) -> (reply: HTTPReply, complete: Bool) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0...max(0, data.count - 4)).first(where: { data.count >= 4 && Array(data[$0..<$0 + 4]) == separator })
        else { throw .malformed("no end of headers") }
        let lines = String(decoding: data[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1])
        else { throw .malformed("status line: \(lines[0])") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header: \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let body = Array(data[(end + 4)...])
        var reply = HTTPReply(status: status, headers: headers, body: body)
        if head { reply.body = []; return (reply, true) }
        guard let length = reply.header("Content-Length").flatMap({ Int($0) }) else { return (reply, false) }
        if body.count >= length { reply.body = Array(body.prefix(length)); return (reply, true) }
        return (reply, false)
    }
}
