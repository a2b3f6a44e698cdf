import Foundation
import XCTest
@testable import MelissaConfig

final class LoadAndPathTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "melissa-config-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ name: String, _ data: Data) throws -> String {
        let path = directory + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    private func loadFailure(_ path: String) -> ConfigLoadError? {
        do {
            _ = try StudyConfig.load(path: path)
            XCTFail("expected an error loading \(path)")
            return nil
        } catch {
            return error
        }
    }

    func testLoadResolvesRelativePathsAgainstTheConfigDirectory() throws {
        let path = try write("study.json", minimalConfig([("output_dir", "./runs/../out"),
                                                          ("client_config.executable_command", "bin/heatc")]))
        let config = try StudyConfig.load(path: path)
        XCTAssertEqual(config.outputDir, directory + "/out")
        XCTAssertEqual(config.clientConfig.executableCommand, directory + "/bin/heatc")
    }

    func testNormalizationFoldsParentComponents() {
        XCTAssertEqual(PathResolution.normalize("/work/main/Config/../studies/q"), "/work/main/studies/q")
        XCTAssertEqual(PathResolution.normalize("/a/./b//c/"), "/a/b/c")
        XCTAssertEqual(PathResolution.normalize("/.."), "/")
        XCTAssertEqual(PathResolution.normalize("../x/../y"), "../y")
        XCTAssertEqual(PathResolution.normalize("a/.."), ".")
    }

    func testLoadKeepsAbsolutePathsAndCommandNames() throws {
        let path = try write("study.json", minimalConfig([("output_dir", "/scratch/out"),
                                                          ("client_config.executable_command", "heatc")]))
        let config = try StudyConfig.load(path: path)
        XCTAssertEqual(config.outputDir, "/scratch/out")
        XCTAssertEqual(config.clientConfig.executableCommand, "heatc")
    }

    func testLoadWithRelativeConfigPathGivesAbsolutePaths() throws {
        _ = try write("study.json", minimalConfig([]))
        // A relative path to the file that does not change the process's current directory.
        let cwd = FileManager.default.currentDirectoryPath
        let depth = cwd.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + directory.dropFirst() + "/study.json"
        let config = try StudyConfig.load(path: relative)
        XCTAssertTrue(config.outputDir.hasPrefix("/"), config.outputDir)
        XCTAssertTrue(config.outputDir.hasSuffix(directory + "/out"), config.outputDir)
    }

    func testParseLeavesPathsAsWritten() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("client_config.executable_command", "./heatc")])))
        XCTAssertEqual(config.outputDir, "out")
        XCTAssertEqual(config.clientConfig.executableCommand, "./heatc")
    }

    func testResolvingPaths() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("client_config.executable_command", "./bin//heatc")])))
        let resolved = config.resolvingPaths(relativeTo: "/home/u/study/")
        XCTAssertEqual(resolved.outputDir, "/home/u/study/out")
        XCTAssertEqual(resolved.clientConfig.executableCommand, "/home/u/study/bin/heatc")
        XCTAssertEqual(resolved.canonicalJSON, config.canonicalJSON)
        XCTAssertEqual(resolved.studyOptions, config.studyOptions)
        XCTAssertEqual(config.resolvingPaths(relativeTo: "configs").outputDir, "configs/out")
        XCTAssertEqual(config.resolvingPaths(relativeTo: "").outputDir, "out")
    }

    func testDirectoryOfFile() {
        XCTAssertEqual(PathResolution.directory(of: "/a/b/c.json", currentDirectory: "/x"), "/a/b")
        XCTAssertEqual(PathResolution.directory(of: "c.json", currentDirectory: "/x"), "/x")
        XCTAssertEqual(PathResolution.directory(of: "./d/c.json", currentDirectory: "/x/"), "/x/d")
        XCTAssertEqual(PathResolution.directory(of: "/c.json", currentDirectory: "/x"), "/")
    }

    func testMissingFile() {
        let error = loadFailure(directory + "/nope.json")
        XCTAssertEqual(error, .unreadable(path: directory + "/nope.json", reason: "no such file"))
    }

    func testDirectoryInsteadOfFile() {
        XCTAssertEqual(loadFailure(directory), .unreadable(path: directory, reason: "is a directory"))
    }

    func testOversizedFileIsRefused() throws {
        let path = try write("big.json", Data(repeating: 0x20, count: StudyConfig.maximumFileSize + 10))
        XCTAssertEqual(loadFailure(path), .tooLarge(source: path, limit: StudyConfig.maximumFileSize))
    }

    func testErrorsNameTheFileAsGiven() throws {
        let path = try write("bad.json", minimalConfig([("launcher_config.job_limit", 0)]))
        let description = loadFailure(path)?.description ?? ""
        XCTAssertEqual(description, "\(path): launcher_config.job_limit: must be at least 1, got 0")
    }
}
