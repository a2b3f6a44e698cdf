import Foundation
import Glibc
import XCTest
@testable import MelissaTransport

/// Study keys and the ZAP handler on real sockets: only a peer holding a study key gets a
/// message through; a peer with fresh keys of its own, or without CURVE, delivers nothing.
final class CurveSecurityTests: XCTestCase {
    private var study = ""

    override func setUpWithError() throws {
        study = try makeStudyDirectory("curve-tests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: study)
    }

    func testKeysAreCreatedPrivateAndReadBack() throws {
        let created = try StudyKeys.create(in: study)
        XCTAssertEqual(Set(created.keys), Set(KeyRole.allCases))
        XCTAssertEqual(fileMode(StudyKeys.directory(in: study)), 0o700)
        for role in KeyRole.allCases {
            XCTAssertEqual(fileMode(StudyKeys.path(role, in: study)), 0o600, role.rawValue)
            XCTAssertEqual(try StudyKeys.load(role, in: study), created[role])
        }
        XCTAssertEqual(Set(created.values.map(\.publicKey)).count, 3, "every role has its own pair")
        // A resumed study keeps its keys.
        XCTAssertEqual(try StudyKeys.create(in: study), created)
    }

    /// The key file format of docs/SECURITY.md, both ways: what `create` writes, and a file
    /// written by hand in that format is read.
    func testKeyFileFormatIsTheDocumentedOne() throws {
        let created = try StudyKeys.create(in: study)
        let server = try XCTUnwrap(created[.server])
        XCTAssertEqual(try String(contentsOfFile: StudyKeys.path(.server, in: study), encoding: .utf8),
                       "# melissa CURVE key pair of the server; keep it private (mode 0600)\n"
                       + "public=\(server.publicKey)\nsecret=\(server.secretKey)\n")
        let client = try CurveKeyPair.generate()
        let file = StudyKeys.path(.client, in: study)
        try "# any comment\nsecret=\(client.secretKey)\npublic=\(client.publicKey)\n"
            .write(toFile: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(try StudyKeys.load(.client, in: study), client)
    }

    func testKeysOthersCanReadAreRefusedWithThePathAndTheFix() throws {
        try StudyKeys.create(in: study)
        let file = StudyKeys.path(.client, in: study)
        chmod(file, 0o644)
        XCTAssertThrowsError(try StudyKeys.load(.client, in: study)) { error in
            XCTAssertEqual(error as? StudyKeysError, .insecure(path: file, mode: 0o644, expected: 0o600))
            XCTAssertTrue("\(error)".contains("chmod 600 \(file)"), "\(error)")
        }
        chmod(file, 0o600)
        chmod(StudyKeys.directory(in: study), 0o755)
        XCTAssertThrowsError(try StudyKeys.load(.client, in: study)) { error in
            XCTAssertEqual(error as? StudyKeysError, .insecure(path: StudyKeys.directory(in: study), mode: 0o755, expected: 0o700))
        }
        XCTAssertThrowsError(try StudyKeys.create(in: study), "a resumed study with open keys must be refused too")
    }

    func testMissingAndMalformedKeyFilesAreNamed() throws {
        XCTAssertThrowsError(try StudyKeys.load(.server, in: study)) { error in
            XCTAssertEqual(error as? StudyKeysError, .missing(path: StudyKeys.directory(in: study)))
        }
        try StudyKeys.create(in: study)
        let file = StudyKeys.path(.server, in: study)
        try "public=abc\nsecret=def\n".write(toFile: file, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try StudyKeys.load(.server, in: study)) { error in
            guard case .malformed(file, _)? = error as? StudyKeysError else { return XCTFail("\(error)") }
        }
        XCTAssertNil(CurveKeyPair(publicKey: String(repeating: "a", count: 39), secretKey: String(repeating: "a", count: 40)))
        XCTAssertNil(CurveKeyPair.decode(String(repeating: "~", count: 40)), "~ is not in the Z85 alphabet")
    }

    /// A CURVE REP server with the ZAP handler admitting only the study's client key.
    private func server(_ context: ZMQContext, keys: [KeyRole: CurveKeyPair]) throws -> (ZMQSocket, String, ZAPHandler) {
        let zap = try ZAPHandler(context: context, policies: [.handshake: ZAPPolicy(curveKeys: [try XCTUnwrap(keys[.client]).publicKey])])
        let rep = try makeSocket(context, .rep, receiveTimeout: 1500)
        try rep.becomeCurveServer(try XCTUnwrap(keys[.server]), domain: .handshake)
        let endpoint = try rep.bind("tcp://127.0.0.1:*")
        return (rep, endpoint, zap)
    }

    func testTheStudysClientKeyIsAdmitted() throws {
        let keys = try StudyKeys.create(in: study)
        let context = try ZMQContext()
        let (rep, endpoint, zap) = try server(context, keys: keys)
        defer { zap.stop() }
        let req = try makeSocket(context, .req)
        try req.becomeCurveClient(try XCTUnwrap(keys[.client]), serverPublicKey: try XCTUnwrap(keys[.server]).publicKey)
        try req.connect(endpoint)
        try req.send(Array("hello".utf8))
        XCTAssertEqual(try rep.receiveMultipart(), [Array("hello".utf8)])
        try rep.send(Array("welcome".utf8))
        XCTAssertEqual(try req.receiveMultipart(), [Array("welcome".utf8)])
        XCTAssertEqual(zap.admissions, 1)
        XCTAssertEqual(zap.refusals.count, 0)
        req.close(); rep.close()
    }

    func testAPeerWithFreshKeysOrWithoutCurveDeliversNothing() throws {
        let keys = try StudyKeys.create(in: study)
        let context = try ZMQContext()
        let (rep, endpoint, zap) = try server(context, keys: keys)
        defer { zap.stop() }

        // Knows the server's public key (it is no secret) but has keys of its own.
        let stranger = try makeSocket(context, .req)
        try stranger.becomeCurveClient(try CurveKeyPair.generate(), serverPublicKey: try XCTUnwrap(keys[.server]).publicKey)
        try stranger.connect(endpoint)
        try? stranger.send(Array("let me in".utf8), dontWait: true)
        // No CURVE at all.
        let plain = try makeSocket(context, .req)
        try plain.connect(endpoint)
        try? plain.send(Array("hello?".utf8), dontWait: true)

        assertNothingArrives(rep, "nothing from either peer may arrive")
        XCTAssertGreaterThanOrEqual(zap.refusals.count, 1)
        XCTAssertTrue(zap.refusals.last.contains("unknown key"), zap.refusals.last)
        XCTAssertEqual(zap.admissions, 0)
        stranger.close(); plain.close(); rep.close()
    }

    func testMalformedZAPRequestsAreAnsweredNotCrashed() throws {
        let context = try ZMQContext()
        let keys = try StudyKeys.create(in: study)
        let zap = try ZAPHandler(context: context, policies: [.handshake: ZAPPolicy(curveKeys: [try XCTUnwrap(keys[.client]).publicKey])])
        defer { zap.stop() }
        XCTAssertEqual(zap.answer([Array("2.0".utf8)])[2], Array("500".utf8))
        let plainRequest: [[UInt8]] = [Array("1.0".utf8), [7], Array("handshake".utf8), Array("127.0.0.1".utf8), [], Array("NULL".utf8)]
        XCTAssertEqual(zap.answer(plainRequest)[2], Array("400".utf8))
        XCTAssertEqual(zap.answer(plainRequest)[1], [7], "the reply carries the request id")
        let curve = plainRequest.dropLast() + [Array("CURVE".utf8), CurveKeyPair.decode(try XCTUnwrap(keys[.client]).publicKey) ?? []]
        XCTAssertEqual(zap.answer(Array(curve))[2], Array("200".utf8))
        XCTAssertEqual(zap.answer(Array(curve) + [[0]])[2], Array("400".utf8), "an extra credential frame is malformed")
        XCTAssertThrowsError(try ZAPHandler(context: try ZMQContext(), policies: [.data: ZAPPolicy(curveKeys: ["not a key"])]))
    }
}
