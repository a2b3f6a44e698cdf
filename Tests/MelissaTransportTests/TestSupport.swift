import XCTest
import Glibc
import MelissaTransport

/// Generous limit for anything that should happen "right away" on loopback, so a bug
/// fails the test instead of hanging it.
let patientMilliseconds: Int32 = 5000

/// Opens a socket that never blocks forever: bounded send/receive, no linger (so the
/// context's zmq_ctx_term cannot hang on a queued message when the test ends).
func makeSocket(_ context: ZMQContext, _ type: SocketType,
                receiveTimeout: Int32 = patientMilliseconds) throws -> ZMQSocket {
    let socket = try context.socket(type)
    try socket.setTimeouts(send: patientMilliseconds, receive: receiveTimeout, linger: 0)
    return socket
}

/// Binds `bindType` on an ephemeral loopback port and connects `connectType` to it.
func makeConnectedPair(_ context: ZMQContext, bind bindType: SocketType, connect connectType: SocketType)
    throws -> (bound: ZMQSocket, connected: ZMQSocket, endpoint: String)
{
    let bound = try makeSocket(context, bindType)
    let endpoint = try bound.bind("tcp://127.0.0.1:*")
    let connected = try makeSocket(context, connectType)
    try connected.connect(endpoint)
    return (bound, connected, endpoint)
}

/// The port of a resolved `tcp://host:port` endpoint.
func port(of endpoint: String) -> Int? {
    guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
    return Int(endpoint[endpoint.index(after: colon)...])
}

/// Thrown when a call that had to fail succeeded (the failure is already recorded).
struct UnexpectedSuccess: Error {}

/// Runs `body`, which must fail with a ZMQError, and returns that error.
func requireZMQError(_ body: () throws -> Void,
                     file: StaticString = #filePath, line: UInt = #line) throws -> ZMQError {
    do {
        try body()
    } catch let error as ZMQError {
        return error
    } catch {
        XCTFail("expected a ZMQError, got \(error)", file: file, line: line)
        throw error
    }
    XCTFail("expected a ZMQError, got success", file: file, line: line)
    throw UnexpectedSuccess()
}

/// Waits until `socket` has a message (bounded), so non-blocking reads can be tested.
func waitReadable(_ socket: ZMQSocket, file: StaticString = #filePath, line: UInt = #line) throws {
    var poller = ZMQPoller()
    poller.add(socket)
    let ready = try poller.poll(timeoutMilliseconds: Int(patientMilliseconds))
    XCTAssertEqual(ready, [true], "socket did not become readable in \(patientMilliseconds) ms", file: file, line: line)
}

/// A deterministic, non-periodic-looking byte pattern.
func pattern(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed &* 2_654_435_761 | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 17; state ^= state << 5
        return UInt8(truncatingIfNeeded: state)
    }
}

/// A pipe whose ends are closed when the object goes away.
final class Pipe {
    let readEnd: Int32
    let writeEnd: Int32
    init() throws {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { throw XCTSkip("pipe() failed: errno \(errno)") }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
    deinit { Glibc.close(readEnd); Glibc.close(writeEnd) }
    func writeByte(_ byte: UInt8 = 0x2a) {
        var b = byte
        precondition(Glibc.write(writeEnd, &b, 1) == 1)
    }
    func readByte() -> UInt8? {
        var b: UInt8 = 0
        return Glibc.read(readEnd, &b, 1) == 1 ? b : nil
    }
}

/// A fresh study directory for key tests (`/tmp/melissa-<label>-<pid>-<random>`).
func makeStudyDirectory(_ label: String) throws -> String {
    let path = "/tmp/melissa-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The permission bits of `path` (fails the test when it cannot be read).
func fileMode(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> UInt32 {
    var info = stat()
    XCTAssertEqual(stat(path, &info), 0, path, file: file, line: line)
    return UInt32(info.st_mode) & 0o777
}

/// Fails unless nothing arrives on `socket` within its receive timeout (a refused peer's
/// messages must never be delivered).
func assertNothingArrives(_ socket: ZMQSocket, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try socket.receiveMultipart(), message, file: file, line: line) { error in
        XCTAssertTrue((error as? ZMQError)?.isTimeout ?? false, "\(error)", file: file, line: line)
    }
}
