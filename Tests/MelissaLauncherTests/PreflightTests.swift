import Foundation
import Glibc
@testable import MelissaLauncher
import XCTest

/// The launcher's preflight on real files: what is an error under openmpi, a warning under the
/// batch schedulers, and what the messages name.
final class PreflightTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "preflight-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ name: String, mode: Int) throws -> String {
        let path = "\(directory)/\(name)"
        try "#!/bin/sh\nexit 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode_t(mode)), 0)
        return path
    }

    func testAnExecutableClientPasses() throws {
        let client = try file("sim", mode: 0o755)
        let preflight = Preflight(scheduler: "openmpi", searchPath: directory, templatesDirectory: nil)
        XCTAssertNil(preflight.checkClient(executableCommand: client, preprocessing: []))
        // A bare name found on PATH passes too.
        XCTAssertNil(preflight.checkClient(executableCommand: "sim", preprocessing: []))
    }

    func testMissingOrNotExecutableClientIsAnErrorUnderOpenMPI() throws {
        let preflight = Preflight(scheduler: "openmpi", searchPath: directory, templatesDirectory: nil)
        XCTAssertEqual(preflight.checkClient(executableCommand: "\(directory)/gone", preprocessing: []),
                       .error("client_config.executable_command is \"\(directory)/gone\", which does not exist"))
        let plain = try file("plain", mode: 0o640)
        XCTAssertEqual(preflight.checkClient(executableCommand: plain, preprocessing: []),
                       .error("client_config.executable_command is \"\(plain)\", which is not executable (mode 640; chmod +x it)"))
        XCTAssertEqual(preflight.checkClient(executableCommand: directory, preprocessing: []),
                       .error("client_config.executable_command is \"\(directory)\", which is a directory"))
    }

    func testBatchSchedulersOnlyWarn() throws {
        for scheduler in ["slurm", "oar"] {
            let preflight = Preflight(scheduler: scheduler, searchPath: directory, templatesDirectory: nil)
            guard case let .warning(text)? = preflight.checkClient(executableCommand: "/nodes/only/sim", preprocessing: []) else {
                return XCTFail("\(scheduler): expected a warning")
            }
            XCTAssertTrue(text.contains("does not exist on this machine; it must exist on the compute nodes"), text)
        }
    }

    func testBareNameNotOnPathNamesThePathAndPreprocessingMakesItAWarning() throws {
        let preflight = Preflight(scheduler: "openmpi", searchPath: "\(directory):/nonexistent", templatesDirectory: nil)
        XCTAssertEqual(preflight.checkClient(executableCommand: "nosuchsim", preprocessing: []),
                       .error("client_config.executable_command is \"nosuchsim\", which is not an executable file "
                              + "in any directory of PATH=\(directory):/nonexistent"))
        guard case let .warning(text)? = preflight.checkClient(executableCommand: "nosuchsim",
                                                                preprocessing: ["module load sim"]) else {
            return XCTFail("expected a warning when preprocessing commands may set PATH")
        }
        XCTAssertTrue(text.hasSuffix("(the client script's preprocessing_commands may provide it)"), text)
    }

    func testTemplateIsLookedUpWhereTheServerLooks() throws {
        let bin = "\(directory)/prefix/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let server = "\(bin)/melissa-server"
        let preflight = Preflight(scheduler: "openmpi", searchPath: nil, templatesDirectory: nil)
        guard case let .error(text)? = preflight.checkTemplate(serverProgram: server) else {
            return XCTFail("expected an error without any template")
        }
        XCTAssertTrue(text.contains("\(bin)/../share/melissa/ClientTemplates/client.sh"), text)
        let share = "\(directory)/prefix/share/melissa/ClientTemplates"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        try "exec true\n".write(toFile: "\(share)/client.sh", atomically: true, encoding: .utf8)
        XCTAssertNil(preflight.checkTemplate(serverProgram: server))
        // MELISSA_TEMPLATES_DIR is looked at first (and here is the only place with one).
        let elsewhere = Preflight(scheduler: "openmpi", searchPath: nil, templatesDirectory: share)
        XCTAssertNil(elsewhere.checkTemplate(serverProgram: "/nonexistent/bin/melissa-server"))
    }

    func testMissingServerProgramIsAnErrorUnderOpenMPIAndAWarningUnderSlurm() throws {
        let missing = "\(directory)/bin/melissa-server"
        XCTAssertEqual(Preflight(scheduler: "openmpi", searchPath: nil, templatesDirectory: nil)
                        .checkServer(path: missing, origin: "next to the launcher"),
                       .error("the server program \(missing) (next to the launcher) does not exist"))
        guard case .warning? = Preflight(scheduler: "slurm", searchPath: nil, templatesDirectory: nil)
                .checkServer(path: missing, origin: "next to the launcher") else {
            return XCTFail("expected a warning under slurm")
        }
    }
}
