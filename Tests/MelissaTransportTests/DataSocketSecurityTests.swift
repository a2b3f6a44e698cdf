import Foundation
import Glibc
import XCTest
@testable import MelissaTransport

/// The data password and the ZAP domains on real sockets: with `data_encryption` off a data
/// socket admits PLAIN peers with the study's password and nobody else, and each channel's
/// socket admits only that channel's keys.
final class DataSocketSecurityTests: XCTestCase {
    private var study = ""

    override func setUpWithError() throws {
        study = try makeStudyDirectory("data-security-tests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: study)
    }

    func testTheDataPasswordIsPrivateRandomAndInTheDocumentedFormat() throws {
        try StudyKeys.create(in: study)
        let file = StudyKeys.dataPasswordPath(in: study)
        XCTAssertEqual(fileMode(file), 0o600)
        let password = try StudyKeys.loadDataPassword(in: study)
        XCTAssertEqual(password.count, 64)
        XCTAssertTrue(password.allSatisfy(\.isHexDigit), password)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8),
                       "# melissa data-socket password (PLAIN, used when data_encryption is off); keep it private (mode 0600)\n"
                       + "password=\(password)\n")
        let other = study + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try StudyKeys.create(in: other)
        XCTAssertNotEqual(try StudyKeys.loadDataPassword(in: other), password, "every study draws its own")

        // A file written by hand in that format is read; a short or spaced one is refused by name.
        try "# mine\npassword=correct-horse-battery\n".write(toFile: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(try StudyKeys.loadDataPassword(in: study), "correct-horse-battery")
        for bad in ["password=short\n", "password=has a space in it\n", "secret=abcdefghijklmnopq\n"] {
            try bad.write(toFile: file, atomically: false, encoding: .utf8)
            XCTAssertThrowsError(try StudyKeys.loadDataPassword(in: study), bad) { error in
                guard case .malformed(file, _)? = error as? StudyKeysError else { return XCTFail("\(error)") }
            }
        }
        chmod(file, 0o640)
        XCTAssertThrowsError(try StudyKeys.loadDataPassword(in: study)) { error in
            XCTAssertEqual(error as? StudyKeysError, .insecure(path: file, mode: 0o640, expected: 0o600))
        }
    }

    func testAStudyBegunWithoutADataPasswordGetsOneAndKeepsItsKeys() throws {
        let keys = try StudyKeys.create(in: study)
        let file = StudyKeys.dataPasswordPath(in: study)
        XCTAssertEqual(unlink(file), 0)
        XCTAssertThrowsError(try StudyKeys.loadDataPassword(in: study)) { error in
            XCTAssertEqual(error as? StudyKeysError, .missing(path: file))
        }
        XCTAssertEqual(try StudyKeys.create(in: study), keys, "a resume keeps the CURVE keys")
        XCTAssertEqual(fileMode(file), 0o600)
        let password = try StudyKeys.loadDataPassword(in: study)
        XCTAssertEqual(try StudyKeys.create(in: study), keys)
        XCTAssertEqual(try StudyKeys.loadDataPassword(in: study), password, "and an existing password is kept")
    }

    func testAPlainDataSocketAdmitsOnlyTheStudysPassword() throws {
        let keys = try StudyKeys.create(in: study)
        let password = try StudyKeys.loadDataPassword(in: study)
        let context = try ZMQContext()
        let clientKey = try XCTUnwrap(keys[.client])
        let zap = try ZAPHandler(context: context, policies: [.data: ZAPPolicy(curveKeys: [clientKey.publicKey], plainPassword: password)])
        defer { zap.stop() }
        let pull = try makeSocket(context, .pull, receiveTimeout: 1500)
        try pull.becomePlainServer(domain: .data)
        let endpoint = try pull.bind("tcp://127.0.0.1:*")

        let wrong = try makeSocket(context, .push)
        try wrong.becomePlainClient(password: String(password.reversed()))
        try wrong.connect(endpoint)
        try? wrong.send(Array("wrong password".utf8), dontWait: true)
        let none = try makeSocket(context, .push)
        try none.connect(endpoint)
        try? none.send(Array("no mechanism".utf8), dontWait: true)
        // A CURVE peer with the study's client key speaks another mechanism than this socket.
        let curve = try makeSocket(context, .push)
        try curve.becomeCurveClient(clientKey, serverPublicKey: try XCTUnwrap(keys[.server]).publicKey)
        try curve.connect(endpoint)
        try? curve.send(Array("curve".utf8), dontWait: true)
        assertNothingArrives(pull, "no peer without the password may deliver")
        XCTAssertGreaterThanOrEqual(zap.refusals.count, 1)
        XCTAssertEqual(zap.admissions, 0)

        let right = try makeSocket(context, .push)
        try right.becomePlainClient(password: password)
        try right.connect(endpoint)
        try right.send(Array("step 0".utf8))
        XCTAssertEqual(try pull.receiveMultipart(), [Array("step 0".utf8)])
        XCTAssertEqual(zap.admissions, 1)
        assertNothingArrives(pull, "the refused peers' messages never arrive, not even later")
        for socket in [wrong, none, curve, right, pull] { socket.close() }
    }

    func testEachChannelAdmitsOnlyItsOwnKeys() throws {
        let keys = try StudyKeys.create(in: study)
        let password = try StudyKeys.loadDataPassword(in: study)
        let server = try XCTUnwrap(keys[.server]), client = try XCTUnwrap(keys[.client])
        let context = try ZMQContext()
        let zap = try ZAPHandler(context: context, policies: [
            .handshake: ZAPPolicy(curveKeys: [client.publicKey]),
            .data: ZAPPolicy(curveKeys: [client.publicKey], plainPassword: password),
            .internal: ZAPPolicy(curveKeys: [server.publicKey]),
        ])
        defer { zap.stop() }
        let internalPull = try makeSocket(context, .pull, receiveTimeout: 1500)
        try internalPull.becomeCurveServer(server, domain: .internal)
        let endpoint = try internalPull.bind("tcp://127.0.0.1:*")

        // The client key opens the data and handshake sockets, never the internal one.
        let clientPush = try makeSocket(context, .push)
        try clientPush.becomeCurveClient(client, serverPublicKey: server.publicKey)
        try clientPush.connect(endpoint)
        try? clientPush.send(Array("converged".utf8), dontWait: true)
        assertNothingArrives(internalPull, "a client key must not reach the server-internal socket")
        XCTAssertTrue(zap.refusals.last.contains("unknown key (internal socket)"), zap.refusals.last)

        let rank = try makeSocket(context, .push)
        try rank.becomeCurveClient(server, serverPublicKey: server.publicKey)
        try rank.connect(endpoint)
        try rank.send(Array("rank 1".utf8))
        XCTAssertEqual(try internalPull.receiveMultipart(), [Array("rank 1".utf8)])

        // Request level: the password opens only the data domain; unknown domains admit nobody.
        func request(_ domain: String, _ mechanism: String, _ credentials: [[UInt8]]) -> String {
            let frames = [Array("1.0".utf8), [1], Array(domain.utf8), Array("10.0.0.9".utf8), [], Array(mechanism.utf8)] + credentials
            return String(decoding: zap.answer(frames)[2], as: UTF8.self)
        }
        let plain = [Array(ZAPPolicy.plainUser.utf8), Array(password.utf8)]
        XCTAssertEqual(request("data", "PLAIN", plain), "200")
        XCTAssertEqual(request("data", "PLAIN", [Array("root".utf8), Array(password.utf8)]), "400", "the user is checked too")
        XCTAssertEqual(request("data", "PLAIN", [plain[0], Array(password.dropLast().utf8)]), "400")
        XCTAssertEqual(request("handshake", "PLAIN", plain), "400", "the handshake is CURVE only")
        XCTAssertEqual(request("internal", "PLAIN", plain), "400")
        XCTAssertEqual(request("control", "CURVE", [CurveKeyPair.decode(server.publicKey) ?? []]), "400",
                       "a domain without a policy admits nobody")
        XCTAssertEqual(request("data", "CURVE", [CurveKeyPair.decode(client.publicKey) ?? []]), "200")
        XCTAssertEqual(request("internal", "CURVE", [CurveKeyPair.decode(client.publicKey) ?? []]), "400")
        XCTAssertTrue(zap.refusals.last.contains("10.0.0.9"), zap.refusals.last)
        for socket in [clientPush, rank, internalPull] { socket.close() }
    }

    func testPasswordComparisonNeedsEveryByte() {
        let a = Array("0123456789abcdef".utf8)
        XCTAssertTrue(ZAPHandler.equalInConstantTime(a, a))
        XCTAssertFalse(ZAPHandler.equalInConstantTime(a, Array(a.dropLast())))
        for index in a.indices {
            var b = a
            b[index] ^= 1
            XCTAssertFalse(ZAPHandler.equalInConstantTime(a, b), "byte \(index)")
        }
    }
}
