import Foundation
import XCTest
@testable import MelissaConfig

final class ErrorFormatTests: XCTestCase {
    func testAllIssuesAreReportedTogetherSortedByPath() {
        let data = minimalConfig([
            ("server_config.data_port", 0),
            ("launcher_config.job_limt", 3),
            ("study_options.nb_parameters", 12),
            ("study_options.l_bounds", [0, 5]),
            ("study_options.u_bounds", [1, 2]),
            ("client_config.executable_command", nil),
            ("output_dir", true),
        ])
        guard let error = parseFailure(data) else { return }
        XCTAssertEqual(error.issues.map(\.keyPath), [
            "client_config.executable_command",
            "launcher_config.job_limt",
            "output_dir",
            "server_config.data_port",
            "study_options.l_bounds",
            "study_options.u_bounds",
        ])
        let lines = error.description.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines[1], "config.json: launcher_config.job_limt: unknown key; did you mean 'job_limit'?")
        XCTAssertEqual(lines[2], "config.json: output_dir: expected a non-empty string, got a boolean (true)")
    }

    func testSeveralProblemsInOneArrayAreAllReported() {
        let names = ["u", "", "u", String(repeating: "n", count: 256)]
        guard let error = parseFailure(minimalConfig([("study_options.field_names", names)])) else { return }
        XCTAssertEqual(error.issues.map(\.keyPath), ["study_options.field_names[1]", "study_options.field_names[2]",
                                                     "study_options.field_names[3]"])
    }

    func testIndicesSortNumerically() {
        let issues = ["a[10]", "a[2]", "b", "a", "a[1].x", "a.b"].map { ConfigIssue(keyPath: $0, message: "m") }
        let error = ConfigError(source: "f", issues: issues)
        XCTAssertEqual(error.issues.map(\.keyPath), ["a", "a.b", "a[1].x", "a[2]", "a[10]", "b"])
    }

    func testBoundsOrderingErrorsAtEveryIndex() {
        let data = minimalConfig([("study_options.nb_parameters", 11),
                                  ("study_options.l_bounds", Array(repeating: 1, count: 11)),
                                  ("study_options.u_bounds", Array(repeating: 0, count: 11))])
        guard let error = parseFailure(data) else { return }
        XCTAssertEqual(error.issues.count, 11)
        XCTAssertEqual(error.issues.last?.keyPath, "study_options.u_bounds[10]")
    }

    func testTopLevelIssueHasNoKeyPathInDescription() {
        guard let error = parseFailure(Data("[]".utf8), source: "study.json") else { return }
        XCTAssertEqual(error.description, "study.json: the top level must be a JSON object, got an array")
    }

    func testIssueAndErrorDescriptions() {
        let error = ConfigError(source: "c.json", issues: [ConfigIssue(keyPath: "a.b", message: "bad")])
        XCTAssertEqual(error.description, "c.json: a.b: bad")
        XCTAssertEqual(ConfigLoadError.invalid(error).description, "c.json: a.b: bad")
        XCTAssertEqual(ConfigLoadError.invalidJSON(source: "c.json", line: 12, column: 5, message: "oops").description,
                       "c.json:12:5: invalid JSON: oops")
        XCTAssertEqual(ConfigLoadError.unreadable(path: "c.json", reason: "no such file").description,
                       "c.json: cannot read config: no such file")
        XCTAssertEqual(ConfigLoadError.exitCode, 2)
    }

    func testDebugDescriptionOffsetParsing() {
        let parsed = StudyConfig.offsetAndMessage(fromDebugDescription: "Invalid value around character 16.")
        XCTAssertEqual(parsed?.0, 16)
        XCTAssertEqual(parsed?.1, "invalid value")
        XCTAssertNil(StudyConfig.offsetAndMessage(fromDebugDescription: "Unexpected end of file during JSON parse."))
    }
}
