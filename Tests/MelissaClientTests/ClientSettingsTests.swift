import Foundation
import Glibc
import MelissaTransport
import XCTest
@testable import MelissaClient

final class ClientSettingsTests: XCTestCase {
    private let valid = ["MELISSA_SIMU_ID": "12", "MELISSA_SERVER_ADDRESS": "tcp://node-3.cluster:40000"]

    private func settings(_ changes: [String: String?]) throws(ClientError) -> ClientSettings {
        var env = valid
        for (key, value) in changes { env[key] = value }
        return try ClientSettings(environment: env)
    }

    /// Asserts that `changes` make the settings fail with an error naming `variable`.
    private func assertRejected(_ changes: [String: String?], naming variable: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        do throws(ClientError) {
            let s = try settings(changes)
            XCTFail("accepted \(changes): \(s)", file: file, line: line)
        } catch {
            switch error {
            case let .missingEnvironment(name, _), let .invalidEnvironment(name, _, _):
                XCTAssertEqual(name, variable, file: file, line: line)
            default:
                XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(error.description.contains(variable), error.description, file: file, line: line)
        }
    }

    func testValidEnvironment() throws {
        let s = try settings([:])
        XCTAssertEqual(s, ClientSettings(simulationID: 12, serverAddress: "tcp://node-3.cluster:40000",
                                         connectTimeout: 60, sendHighWaterMark: nil))
        XCTAssertEqual(try settings(["MELISSA_SIMU_ID": "0"]).simulationID, 0)
        XCTAssertEqual(try settings(["MELISSA_SIMU_ID": "4294967295"]).simulationID, UInt32.max)
        XCTAssertEqual(try settings(["MELISSA_CONNECT_TIMEOUT": "1"]).connectTimeout, 1)
        XCTAssertEqual(try settings(["MELISSA_CONNECT_TIMEOUT": "0.25"]).connectTimeout, 0.25)
        XCTAssertEqual(s.finalizeTimeout, 300)
        XCTAssertEqual(try settings(["MELISSA_FINALIZE_TIMEOUT": "2.5"]).finalizeTimeout, 2.5)
        XCTAssertEqual(try settings(["MELISSA_ZMQ_HWM": "100"]).sendHighWaterMark, 100)
        XCTAssertEqual(try settings(["MELISSA_ZMQ_HWM": "0"]).sendHighWaterMark, 0)
        XCTAssertEqual(try settings(["MELISSA_SERVER_ADDRESS": "ipc:///tmp/melissa.sock"]).serverAddress,
                       "ipc:///tmp/melissa.sock")
        XCTAssertEqual(try settings(["MELISSA_SERVER_ADDRESS": "tcp://127.0.0.1:1"]).serverAddress, "tcp://127.0.0.1:1")
    }

    func testTheStudysKeysAreReadWhenItHasThem() throws {
        let study = "/tmp/melissa-client-keys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: study, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: study) }
        XCTAssertNil(try settings(["MELISSA_STUDY_DIR": study]).credentials, "a study without keys/ connects without CURVE")
        let keys = try StudyKeys.create(in: study)
        let curve = try XCTUnwrap(try settings(["MELISSA_STUDY_DIR": study]).credentials)
        XCTAssertEqual(curve.keys, keys[.client])
        XCTAssertEqual(curve.serverPublicKey, keys[.server]?.publicKey)
        chmod(StudyKeys.path(.client, in: study), 0o644)
        assertRejected(["MELISSA_STUDY_DIR": study], naming: "MELISSA_STUDY_DIR")
    }

    func testOfflineNeedsNoServerAndRejectsGarbage() throws {
        XCTAssertFalse(try settings([:]).offline)
        XCTAssertFalse(try settings(["MELISSA_OFFLINE": "0"]).offline)
        let offline = try settings(["MELISSA_OFFLINE": "1", "MELISSA_SERVER_ADDRESS": nil])
        XCTAssertTrue(offline.offline)
        XCTAssertEqual(offline.serverAddress, "")
        assertRejected(["MELISSA_OFFLINE": "yes"], naming: "MELISSA_OFFLINE")
        // Online, the address is still required.
        assertRejected(["MELISSA_SERVER_ADDRESS": nil], naming: "MELISSA_SERVER_ADDRESS")
    }

    func testSimulationIDMissingOrGarbage() {
        assertRejected(["MELISSA_SIMU_ID": nil], naming: "MELISSA_SIMU_ID")
        for garbage in ["", "abc", "-1", "+3", " 3", "3 ", "1.5", "4294967296", "99999999999999999999", "0x10"] {
            assertRejected(["MELISSA_SIMU_ID": garbage], naming: "MELISSA_SIMU_ID")
        }
    }

    func testServerAddressMissingOrMalformed() {
        assertRejected(["MELISSA_SERVER_ADDRESS": nil], naming: "MELISSA_SERVER_ADDRESS")
        for garbage in ["", "localhost:5555", "tcp://host", "tcp://:5555", "tcp://host:0", "tcp://host:65536",
                        "tcp://host:port", "udp://host:5555", "ipc://", "tcp://host:55/x"] {
            assertRejected(["MELISSA_SERVER_ADDRESS": garbage], naming: "MELISSA_SERVER_ADDRESS")
        }
    }

    func testOptionalVariablesRejectGarbage() {
        for garbage in ["0", "-3", "abc", "inf", "nan"] {
            assertRejected(["MELISSA_CONNECT_TIMEOUT": garbage], naming: "MELISSA_CONNECT_TIMEOUT")
        }
        for garbage in ["0", "-3", "abc", "inf", "nan", "2000001"] {
            assertRejected(["MELISSA_FINALIZE_TIMEOUT": garbage], naming: "MELISSA_FINALIZE_TIMEOUT")
        }
        for garbage in ["-1", "lots", "1e3"] {
            assertRejected(["MELISSA_ZMQ_HWM": garbage], naming: "MELISSA_ZMQ_HWM")
        }
    }

    func testMissingVariableMessageIsActionable() {
        do throws(ClientError) {
            _ = try settings(["MELISSA_SIMU_ID": nil])
            XCTFail("accepted a missing MELISSA_SIMU_ID")
        } catch {
            XCTAssertEqual(error.description,
                           "environment variable MELISSA_SIMU_ID is not set (expected a non-negative integer below 2^32); "
                           + "simulations are normally started by the Melissa launcher, which sets it")
        }
    }

    func testProcessEnvironmentReadsEnviron() {
        setenv("MELISSA_CLIENT_TEST_VARIABLE", "a=b", 1)
        defer { unsetenv("MELISSA_CLIENT_TEST_VARIABLE") }
        let env = ProcessEnvironment.current()
        XCTAssertEqual(env["MELISSA_CLIENT_TEST_VARIABLE"], "a=b")
        XCTAssertEqual(env["PATH"], ProcessInfo.processInfo.environment["PATH"])
    }
}
