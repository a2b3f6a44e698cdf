import Foundation
import Glibc
import XCTest

/// The `melissa-launcher` command line and set-up checks, run as a real process.
final class LauncherCLITests: XCTestCase {
    private var harness: LauncherHarness?

    override func setUpWithError() throws {
        harness = try LauncherHarness(label: "cli")
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    private func run(_ harness: LauncherHarness, _ arguments: [String]? = nil,
                     environment: [String: String]? = nil) throws -> (code: Int32?, out: String, err: String) {
        let launcher = try harness.start(arguments: arguments, environment: environment)
        let code = launcher.exitCode(timeout: 30)
        return (code, launcher.stdout, launcher.stderr)
    }

    func testHelpAndVersionExitZero() throws {
        let harness = try XCTUnwrap(harness)
        let help = try run(harness, ["--help"])
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.out.contains("usage: melissa-launcher <config.json>"), help.out)
        let version = try run(harness, ["--version"])
        XCTAssertEqual(version.code, 0)
        XCTAssertTrue(version.out.hasPrefix("melissa-launcher "), version.out)
    }

    func testUsageErrorsExitTwo() throws {
        let harness = try XCTUnwrap(harness)
        let none = try run(harness, [])
        XCTAssertEqual(none.code, 2)
        XCTAssertTrue(none.err.contains("missing the config file"), none.err)
        let two = try run(harness, ["a.json", "b.json"])
        XCTAssertEqual(two.code, 2)
        let unknown = try run(harness, ["--frobnicate", "a.json"])
        XCTAssertEqual(unknown.code, 2)
        XCTAssertTrue(unknown.err.contains("unknown option --frobnicate"), unknown.err)
    }

    func testBadConfigExitsTwoWithKeyPathAndCreatesNothing() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig(launcher: ["job_limit": 0, "scheduler": "slurm-ish"])
        let result = try run(harness)
        XCTAssertEqual(result.code, 2)
        XCTAssertTrue(result.err.contains("launcher_config.job_limit"), result.err)
        XCTAssertTrue(result.err.contains("launcher_config.scheduler"), result.err)
        XCTAssertTrue(result.err.contains("nothing was started"), result.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.studyDirectory))
        XCTAssertTrue(result.out.isEmpty, result.out)
    }

    func testMissingConfigFileExitsTwo() throws {
        let harness = try XCTUnwrap(harness)
        let result = try run(harness, [harness.directory + "/nope.json"])
        XCTAssertEqual(result.code, 2)
        XCTAssertTrue(result.err.contains("nope.json"), result.err)
    }

    func testNonEmptyOutputDirIsRefused() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        try FileManager.default.createDirectory(atPath: harness.studyDirectory, withIntermediateDirectories: true)
        try "old".write(toFile: harness.studyDirectory + "/results.npy", atomically: true, encoding: .utf8)
        let result = try run(harness)
        XCTAssertEqual(result.code, 2)
        XCTAssertTrue(result.err.contains("already holds a study; remove it or choose another output_dir"), result.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: harness.studyDirectory), ["results.npy"])
    }

    func testMissingServerExecutableExitsTwoAndCreatesNothing() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let result = try run(harness, environment: ["MELISSA_SERVER_EXECUTABLE": harness.directory + "/no-server"])
        XCTAssertEqual(result.code, 2)
        XCTAssertTrue(result.err.contains("MELISSA_SERVER_EXECUTABLE"), result.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.studyDirectory))
    }
}
