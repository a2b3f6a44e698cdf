import Foundation
import MelissaProtocol
import MelissaTransport
import XCTest

/// Moves a non-Sendable value into another thread that becomes its only user.
/// @unchecked: the creator never touches the value again after handing it over.
struct Handover<Value>: @unchecked Sendable {
    let value: Value
}

/// A stand-in for a Melissa server inside the test process: server rank 0's REP socket,
/// answered once from a background thread, and one PULL socket per server rank.
final class FakeServer {
    /// What server rank 0 answers to the handshake request.
    enum Answer {
        /// A reply built from the data endpoints.
        case reply(fieldNames: [String], nbTimeSteps: UInt32, verbosity: UInt32 = 0)
        case refusal(String)
        /// Raw bytes (malformed or other-version replies).
        case bytes([UInt8])
        /// Read the request, never answer.
        case silence
    }

    let context: ZMQContext
    let handshakeEndpoint: String
    let dataEndpoints: [String]
    private let pulls: [ZMQSocket]
    private let requestBox = LockedBox<[UInt8]?>(nil)
    private let done = DispatchSemaphore(value: 0)
    private var isShutDown = false

    /// `handshakeKeys` makes the REP socket a CURVE server with them (no ZAP handler: any
    /// CURVE client is admitted), for clients that hold study keys.
    init(serverRanks: Int, answer: Answer, routing: DataRouting = .cellBlocks, handshakeKeys: CurveKeyPair? = nil) throws {
        context = try ZMQContext()
        var pulls: [ZMQSocket] = []
        for _ in 0..<serverRanks {
            let pull = try context.socket(.pull)
            try pull.setTimeouts(linger: 0)
            pulls.append(pull)
        }
        self.pulls = pulls
        dataEndpoints = try pulls.map { try $0.bind("tcp://127.0.0.1:*") }
        let rep = try context.socket(.rep)
        try rep.setTimeouts(receive: 30_000, linger: 0)
        if let handshakeKeys { try rep.becomeCurveServer(handshakeKeys, domain: .handshake) }
        handshakeEndpoint = try rep.bind("tcp://127.0.0.1:*")

        let replyBytes: [UInt8]?
        switch answer {
        case let .reply(names, steps, verbosity):
            replyBytes = HandshakeReply(nbTimeSteps: steps, verbosity: verbosity, routing: routing, fieldNames: names,
                                        dataEndpoints: dataEndpoints).encode()
        case let .refusal(reason): replyBytes = HandshakeRefusal(reason: reason).encode()
        case let .bytes(bytes): replyBytes = bytes
        case .silence: replyBytes = nil
        }
        let socket = Handover(value: rep)
        let box = requestBox
        let done = self.done
        Thread.detachNewThread {
            defer { socket.value.close(); done.signal() }
            let message = ZMQMessage()
            guard (try? socket.value.receive(into: message)) != nil else { return }
            box.set(message.bytes)
            if let replyBytes { try? socket.value.send(replyBytes) }
        }
    }

    /// Waits for the answering thread, then closes everything. Idempotent.
    func shutDown() {
        guard !isShutDown else { return }
        isShutDown = true
        _ = done.wait(timeout: .now() + 35)
        for pull in pulls { pull.close() }
    }

    deinit { shutDown() }

    /// The handshake request server rank 0 received, decoded.
    func request(timeout: TimeInterval = 10) throws -> HandshakeRequest {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let bytes = requestBox.get() {
                return try bytes.withUnsafeBytes { try HandshakeRequest.decode($0) }
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw FakeServerError.noRequest
    }

    /// The next data message of server rank `rank`, or nil after `timeoutMilliseconds`.
    func receive(rank: Int, timeoutMilliseconds: Int32 = 5000) throws -> DataMessage? {
        try pulls[rank].setTimeouts(receive: timeoutMilliseconds)
        let message = ZMQMessage()
        do throws(ZMQError) {
            try pulls[rank].receive(into: message)
        } catch {
            if error.isTimeout { return nil }
            throw error
        }
        return try message.withBytes { buffer in
            let header = try DataHeader.decode(buffer)
            let values = (0..<Int(header.count)).map { i in
                Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: DataHeader.size + 8 * i,
                                                                             as: UInt64.self)))
            }
            return DataMessage(header: header, values: values)
        }
    }

    /// Every message of server rank `rank` until none arrives for `quietMilliseconds`.
    func drain(rank: Int, quietMilliseconds: Int32 = 500) throws -> [DataMessage] {
        var out: [DataMessage] = []
        while let message = try receive(rank: rank, timeoutMilliseconds: quietMilliseconds) { out.append(message) }
        return out
    }
}

/// One received data message.
struct DataMessage: Equatable {
    var header: DataHeader
    var values: [Double]
}

enum FakeServerError: Error { case noRequest }

/// A value shared between the test thread and the fake server's thread.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
}

/// MPI for in-process tests: a singleton MPI_Init (no mpirun), once per test process.
enum TestMPI {
    /// Initialises MPI if needed and returns MPI_COMM_WORLD; skips the test when MPI was
    /// already finalized by another suite in the same process.
    static func world() throws -> Communicator {
        guard ready else { throw XCTSkip("MPI could not be initialised (or was finalized) in this test process") }
        return Communicator.world
    }

    private static let ready: Bool = {
        guard (try? MPIRuntime.initializeIfNeeded()) != nil else { return false }
        return true
    }()
}
