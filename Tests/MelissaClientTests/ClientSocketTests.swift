import Foundation
import MelissaProtocol
import MelissaTransport
import XCTest
@testable import MelissaClient

/// The Swift client against a fake server over real TCP sockets, as a 1-rank MPI singleton.
final class ClientSocketTests: XCTestCase {
    /// Collects the client's diagnostics.
    private let log = LockedBox<[String]>([])

    private func makeClient(_ server: FakeServer, simulationID: UInt32 = 7, timeout: Double = 10,
                            finalizeTimeout: Double = ClientSettings.defaultFinalizeTimeout) throws -> MelissaClient {
        let log = self.log
        return try MelissaClient(
            communicator: try TestMPI.world(),
            settings: ClientSettings(simulationID: simulationID, serverAddress: server.handshakeEndpoint,
                                     connectTimeout: timeout, finalizeTimeout: finalizeTimeout),
            diagnostics: { message in log.set(log.get() + [message]) })
    }

    private func header(step: UInt32, field: UInt32 = 0, global: UInt64, offset: UInt64, count: UInt64,
                        simulationID: UInt32 = 7) -> DataHeader {
        DataHeader(simulationID: simulationID, timeStep: step, field: field, clientRank: 0,
                   globalSize: global, offset: offset, count: count)
    }

    func testStreamsThreeStepsSplitOverTwoServerRanks() throws {
        let server = try FakeServer(serverRanks: 2, answer: .reply(fieldNames: ["pressure", "temperature"], nbTimeSteps: 3))
        defer { server.shutDown() }
        let client = try makeClient(server, simulationID: 7)
        try client.register(field: "temperature", localSize: 10)
        XCTAssertEqual(try server.request(), HandshakeRequest(simulationID: 7, clientCommSize: 1))
        XCTAssertEqual(client.serverReply?.dataEndpoints, server.dataEndpoints)
        for step in 0..<3 {
            let values = (0..<10).map { Double(step * 100 + $0) + 0.5 }
            try values.withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "temperature", values: buffer) }
        }
        try client.finalize()

        // Field index 1 ("temperature"); global 10 cut into [0,5) and [5,10).
        for rank in 0..<2 {
            let messages = try server.drain(rank: rank)
            XCTAssertEqual(messages.count, 3, "server rank \(rank)")
            for (step, message) in messages.enumerated() {
                let offset = UInt64(rank * 5)
                XCTAssertEqual(message.header, header(step: UInt32(step), field: 1, global: 10, offset: offset, count: 5))
                XCTAssertEqual(message.values, (0..<5).map { Double(step * 100 + rank * 5 + $0) + 0.5 })
            }
        }
        XCTAssertEqual(log.get(), [])
    }

    /// Found by the chaos harness: a simulation whose server died hung in melissa_finalize
    /// forever (zmq_ctx_term with linger -1). The flush wait is bounded and says so.
    func testFinalizeGivesUpOnADeadServerAfterItsTimeoutAndSaysSo() throws {
        // The data endpoint refuses connections (port 1): the steps stay queued, deterministically.
        let reply = HandshakeReply(nbTimeSteps: 2, verbosity: 0, fieldNames: ["temperature"],
                                   dataEndpoints: ["tcp://127.0.0.1:1"]).encode()
        let server = try FakeServer(serverRanks: 1, answer: .bytes(reply))
        defer { server.shutDown() }
        let client = try makeClient(server, finalizeTimeout: 0.3)
        try client.register(field: "temperature", localSize: 4)
        _ = try server.request()
        for _ in 0..<2 {
            try [1.0, 2, 3, 4].withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "temperature", values: buffer) }
        }
        try client.finalize()
        XCTAssertTrue(log.get().contains { $0.contains("melissa_finalize waited 0.3 s (MELISSA_FINALIZE_TIMEOUT)") }, "\(log.get())")
    }

    func testGlobalSizeBelowServerCountSendsHeaderOnlyNotices() throws {
        let server = try FakeServer(serverRanks: 3, answer: .reply(fieldNames: ["x"], nbTimeSteps: 2))
        defer { server.shutDown() }
        let client = try makeClient(server)
        try client.register(field: "x", localSize: 1)
        for step in 0..<2 {
            try [Double(step)].withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "x", values: buffer) }
        }
        try client.finalize()
        // Blocks: [0,1) [1,1) [1,1): ranks 1 and 2 get count-0 messages at offset 1, every step.
        let first = try server.drain(rank: 0)
        XCTAssertEqual(first.map(\.header), [header(step: 0, global: 1, offset: 0, count: 1),
                                             header(step: 1, global: 1, offset: 0, count: 1)])
        XCTAssertEqual(first.map(\.values), [[0], [1]])
        for rank in 1..<3 {
            let messages = try server.drain(rank: rank)
            XCTAssertEqual(messages.map(\.header), [header(step: 0, global: 1, offset: 1, count: 0),
                                                    header(step: 1, global: 1, offset: 1, count: 0)], "rank \(rank)")
            XCTAssertEqual(messages.map(\.values), [[], []])
        }
    }

    func testWholeStepRoutingSendsEachStepWholeToTheRankTheHandshakeSays() throws {
        for (routing, rankOfStep) in [(DataRouting.stepRoundRobin, { (step: Int) in step % 3 }),
                                      (.simulationRoundRobin, { (_: Int) in 7 % 3 })] {
            let server = try FakeServer(serverRanks: 3, answer: .reply(fieldNames: ["x"], nbTimeSteps: 4), routing: routing)
            defer { server.shutDown() }
            let client = try makeClient(server, simulationID: 7)
            try client.register(field: "x", localSize: 6)
            XCTAssertEqual(client.serverReply?.routing, routing)
            for step in 0..<4 {
                let values = (0..<6).map { Double(step * 10 + $0) }
                try values.withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "x", values: buffer) }
            }
            try client.finalize()
            for rank in 0..<3 {
                let messages = try server.drain(rank: rank)
                let steps = (0..<4).filter { rankOfStep($0) == rank }
                XCTAssertEqual(messages.map(\.header), steps.map { header(step: UInt32($0), global: 6, offset: 0, count: 6) },
                               "\(routing), server rank \(rank)")
                XCTAssertEqual(messages.map(\.values), steps.map { step in (0..<6).map { Double(step * 10 + $0) } })
            }
        }
    }

    func testRefusalCarriesTheServerReason() throws {
        let server = try FakeServer(serverRanks: 1, answer: .refusal("simulation 7 is unknown to this study"))
        defer { server.shutDown() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.register(field: "x", localSize: 4)) { error in
            guard case let .refused(address, reason)? = error as? ClientError else { return XCTFail("\(error)") }
            XCTAssertEqual(address, server.handshakeEndpoint)
            XCTAssertEqual(reason, "simulation 7 is unknown to this study")
            XCTAssertTrue("\(error)".contains("refused this simulation: simulation 7 is unknown"), "\(error)")
        }
        // The failure sticks: a retry rethrows it rather than starting a new collective handshake.
        XCTAssertThrowsError(try client.register(field: "y", localSize: 4)) { error in
            guard case .refused? = error as? ClientError else { return XCTFail("\(error)") }
        }
    }

    func testAPlainDataServerNeedsTheStudysDataPassword() throws {
        let reply = HandshakeReply(nbTimeSteps: 1, verbosity: 0, dataMechanism: .plain, fieldNames: ["x"],
                                   dataEndpoints: ["tcp://127.0.0.1:9"]).encode()
        // No study keys at all.
        let server = try FakeServer(serverRanks: 1, answer: .bytes(reply))
        defer { server.shutDown() }
        XCTAssertThrowsError(try makeClient(server).register(field: "x", localSize: 4)) { error in
            guard case .dataPasswordUnavailable? = error as? ClientError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("server_config.data_encryption is false"), "\(error)")
            XCTAssertTrue("\(error)".contains("MELISSA_STUDY_DIR"), "\(error)")
        }
        // Keys, but a password file others can read: the error carries the reader's path and fix.
        let serverKeys = try CurveKeyPair.generate()
        let other = try FakeServer(serverRanks: 1, answer: .bytes(reply), handshakeKeys: serverKeys)
        defer { other.shutDown() }
        let path = "/tmp/study/keys/data.password"
        let credentials = ClientCredentials(keys: try CurveKeyPair.generate(), serverPublicKey: serverKeys.publicKey,
                                dataPassword: .failure(.insecure(path: path, mode: 0o644, expected: 0o600)))
        let client = try MelissaClient(
            communicator: try TestMPI.world(),
            settings: ClientSettings(simulationID: 7, serverAddress: other.handshakeEndpoint, connectTimeout: 10, credentials: credentials),
            diagnostics: { _ in })
        XCTAssertThrowsError(try client.register(field: "x", localSize: 4)) { error in
            guard case .dataPasswordUnavailable? = error as? ClientError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("chmod 600 \(path)"), "\(error)")
        }
    }

    func testVersionMismatchNamesBothVersions() throws {
        var bytes = HandshakeReply(nbTimeSteps: 1, verbosity: 0, fieldNames: ["x"], dataEndpoints: ["tcp://127.0.0.1:9"]).encode()
        bytes[4] = 7 // u16 version after the 4-byte magic: version 7
        bytes[5] = 0
        let server = try FakeServer(serverRanks: 1, answer: .bytes(bytes))
        defer { server.shutDown() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.register(field: "x", localSize: 4)) { error in
            guard case let .versionMismatch(_, ours, theirs)? = error as? ClientError else { return XCTFail("\(error)") }
            XCTAssertEqual(ours, handshakeProtocolVersion)
            XCTAssertEqual(theirs, 7)
            XCTAssertTrue("\(error)".contains("this client library speaks version 3, the server speaks version 7"), "\(error)")
        }
    }

    func testMalformedReplyIsReported() throws {
        let server = try FakeServer(serverRanks: 1, answer: .bytes(Array("hello".utf8)))
        defer { server.shutDown() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.register(field: "x", localSize: 4)) { error in
            guard case .malformedReply? = error as? ClientError else { return XCTFail("\(error)") }
        }
    }

    func testNoAnswerTimesOutWithAClearMessage() throws {
        let server = try FakeServer(serverRanks: 1, answer: .silence)
        defer { server.shutDown() }
        let client = try makeClient(server, timeout: 1)
        let start = Date()
        XCTAssertThrowsError(try client.register(field: "x", localSize: 4)) { error in
            guard case .serverTimeout? = error as? ClientError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix("no answer from the Melissa server at \(server.handshakeEndpoint) after 1 s"),
                          "\(error)")
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 5)
    }

    func testUnknownFieldIsIgnoredWithOneWarning() throws {
        let server = try FakeServer(serverRanks: 1, answer: .reply(fieldNames: ["a", "b"], nbTimeSteps: 1))
        defer { server.shutDown() }
        let client = try makeClient(server)
        try client.register(field: "x", localSize: 2)
        try client.register(field: "b", localSize: 2)
        XCTAssertEqual(log.get(), ["warning: field 'x' is not in the study's field_names [a, b]; its data is not sent"])
        for _ in 0..<2 {
            try [1.0, 2.0].withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "x", values: buffer) }
        }
        try [3.0, 4.0].withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "b", values: buffer) }
        try client.finalize()
        let messages = try server.drain(rank: 0)
        XCTAssertEqual(messages.map(\.header), [header(step: 0, field: 1, global: 2, offset: 0, count: 2)])
        XCTAssertEqual(messages.map(\.values), [[3, 4]])
        XCTAssertEqual(log.get().count, 1, "\(log.get())")
    }

    func testMisuseIsReportedWithContext() throws {
        let server = try FakeServer(serverRanks: 1, answer: .reply(fieldNames: ["a"], nbTimeSteps: 1))
        defer { server.shutDown() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.register(field: "a", localSize: -1)) { error in
            guard case .invalidLocalSize(field: "a", size: -1, _)? = error as? ClientError else { return XCTFail("\(error)") }
        }
        try client.register(field: "a", localSize: 3)
        XCTAssertThrowsError(try client.register(field: "a", localSize: 3)) { error in
            guard case .duplicateRegistration(field: "a")? = error as? ClientError else { return XCTFail("\(error)") }
        }
        try [1.0].withUnsafeBufferPointer { buffer in
            XCTAssertThrowsError(try client.send(field: "b", values: buffer)) { error in
                guard case .unregisteredField(field: "b", registered: ["a"])? = error as? ClientError else {
                    return XCTFail("\(error)")
                }
            }
            XCTAssertThrowsError(try client.send(field: "a", values: buffer)) { error in
                guard case .wrongValueCount(field: "a", expected: 3, got: 1)? = error as? ClientError else {
                    return XCTFail("\(error)")
                }
            }
        }
        XCTAssertEqual(client.nextTimeStep(of: "a"), 0, "a refused send does not consume a step")
    }

    func testExtraStepsAreSentWithOneWarningAndMissingStepsAreReported() throws {
        let server = try FakeServer(serverRanks: 1, answer: .reply(fieldNames: ["a", "b"], nbTimeSteps: 2))
        defer { server.shutDown() }
        let client = try makeClient(server)
        try client.register(field: "a", localSize: 1)
        try client.register(field: "b", localSize: 1)
        for step in 0..<4 {
            try [Double(step)].withUnsafeBufferPointer { buffer throws(ClientError) in try client.send(field: "a", values: buffer) }
        }
        try client.finalize()
        XCTAssertEqual(try server.drain(rank: 0).map(\.header.timeStep), [0, 1, 2, 3])
        XCTAssertEqual(log.get(), [
            "warning: field 'a' sent time step 2 but the study expects 2 steps (0...1); the server drops the extra ones",
            "warning: field 'b' sent 0 of the study's 2 time steps; the server will not count this simulation as complete",
        ])
    }

    func testFinalizeIsIdempotentAndEndsTheClient() throws {
        let server = try FakeServer(serverRanks: 2, answer: .reply(fieldNames: ["a"], nbTimeSteps: 0))
        defer { server.shutDown() }
        let client = try makeClient(server)
        try client.register(field: "a", localSize: 4)
        try client.finalize()
        try client.finalize()
        try [1.0, 2, 3, 4].withUnsafeBufferPointer { buffer in
            XCTAssertThrowsError(try client.send(field: "a", values: buffer)) { error in
                guard case .finalized? = error as? ClientError else { return XCTFail("\(error)") }
                XCTAssertEqual("\(error)", "melissa_send called after melissa_finalize")
            }
        }
        XCTAssertThrowsError(try client.register(field: "b", localSize: 1))
    }

    func testEnvironmentErrorsNameTheVariable() throws {
        let world = try TestMPI.world()
        XCTAssertThrowsError(try MelissaClient(communicator: world,
                                               environment: ["MELISSA_SERVER_ADDRESS": "tcp://127.0.0.1:5555"])) { error in
            guard case .missingEnvironment(variable: "MELISSA_SIMU_ID", _)? = error as? ClientError else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try MelissaClient(communicator: world,
                                               environment: ["MELISSA_SIMU_ID": "sim-3",
                                                             "MELISSA_SERVER_ADDRESS": "tcp://127.0.0.1:5555"])) { error in
            guard case .invalidEnvironment(variable: "MELISSA_SIMU_ID", value: "sim-3", _)? = error as? ClientError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue("\(error)".contains("MELISSA_SIMU_ID='sim-3'"), "\(error)")
        }
    }
}
