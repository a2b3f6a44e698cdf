import Foundation
import XCTest
@testable import MelissaConfig

/// One rejected config: the key path that must be reported and words the message must contain.
private struct BadCase {
    let name: String
    let data: Data
    let keyPath: String
    let mentions: [String]

    init(_ name: String, _ edits: [(String, Any?)], path: String, mentions: [String]) {
        self.name = name
        self.data = minimalConfig(edits)
        self.keyPath = path
        self.mentions = mentions
    }

    init(_ name: String, text: String, path: String, mentions: [String]) {
        self.name = name
        self.data = Data(text.utf8)
        self.keyPath = path
        self.mentions = mentions
    }
}

private let badCases: [BadCase] = [
    BadCase("unknown top-level key with suggestion", [("output_dri", "x")],
            path: "output_dri", mentions: ["unknown key", "did you mean 'output_dir'?"]),
    BadCase("unknown nested key with suggestion", [("launcher_config.job_limt", 3)],
            path: "launcher_config.job_limt", mentions: ["did you mean 'job_limit'?"]),
    BadCase("unknown key far from any valid key", [("sa_config.sobol_indices", true)],
            path: "sa_config.sobol_indices", mentions: ["unknown key", "mean, variance"]),
    BadCase("key in the wrong section", [("study_options.job_limit", 3)],
            path: "study_options.job_limit", mentions: ["belongs in launcher_config"]),
    BadCase("string for integer", [("study_options.nb_time_steps", "10")],
            path: "study_options.nb_time_steps", mentions: ["expected an integer", "got a string (\"10\")"]),
    BadCase("boolean for integer", [("launcher_config.job_limit", true)],
            path: "launcher_config.job_limit", mentions: ["expected an integer", "got a boolean (true)"]),
    BadCase("fraction for integer", [("study_options.seed", 2.5)],
            path: "study_options.seed", mentions: ["expected an integer", "fractional part (2.5)"]),
    BadCase("integer for string", [("output_dir", 5)],
            path: "output_dir", mentions: ["expected a non-empty string", "got a number (5)"]),
    BadCase("number for boolean", [("launcher_config.fault_tolerance", 1)],
            path: "launcher_config.fault_tolerance", mentions: ["expected a boolean", "got a number (1)"]),
    BadCase("string for number", [("launcher_config.timer_delay", "1s")],
            path: "launcher_config.timer_delay", mentions: ["expected a number", "got a string"]),
    BadCase("array for object", [("client_config", ["heatc"])],
            path: "client_config", mentions: ["expected an object", "got an array"]),
    BadCase("string for array", [("launcher_config.scheduler_arg_client", "-n 2")],
            path: "launcher_config.scheduler_arg_client", mentions: ["expected an array of strings", "got a string"]),
    BadCase("number inside string array", [("client_config.command_default_args", ["--n", 2])],
            path: "client_config.command_default_args[1]", mentions: ["expected a string", "got a number (2)"]),
    BadCase("null for optional key", [("study_options.seed", NSNull())],
            path: "study_options.seed", mentions: ["got null", "omit the key"]),
    BadCase("verbosity out of range", [("launcher_config.verbosity", 7)],
            path: "launcher_config.verbosity", mentions: ["between 0 and 3", "got 7"]),
    BadCase("port out of range", [("server_config.connection_port", 70000)],
            path: "server_config.connection_port", mentions: ["between 1 and 65535", "got 70000"]),
    BadCase("zero sweep size", [("study_options.parameter_sweep_size", 0)],
            path: "study_options.parameter_sweep_size", mentions: ["at least 1", "got 0"]),
    BadCase("negative seed", [("study_options.seed", -1)],
            path: "study_options.seed", mentions: ["at least 0", "got -1"]),
    BadCase("too many time steps", [("study_options.nb_time_steps", 10_000_001)],
            path: "study_options.nb_time_steps", mentions: ["between 1 and 10000000"]),
    BadCase("zero timeout", [("study_options.simulation_timeout", 0)],
            path: "study_options.simulation_timeout", mentions: ["greater than 0", "got 0"]),
    BadCase("duration too long", [("launcher_config.server_timeout", 2e6)],
            path: "launcher_config.server_timeout", mentions: ["at most 1000000", "got 2000000"]),
    BadCase("integer too large for Int", [("launcher_config.job_limit", NSDecimalNumber(string: "99999999999999999999"))],
            path: "launcher_config.job_limit", mentions: ["at least 1", "99999999999999999999"]),
    BadCase("group larger than sweep", [("study_options.group_size", 5)],
            path: "study_options.group_size", mentions: ["must not exceed parameter_sweep_size (4)", "got 5"]),
    BadCase("empty field_names", [("study_options.field_names", [String]())],
            path: "study_options.field_names", mentions: ["at least one field name"]),
    BadCase("empty field name", [("study_options.field_names", ["u", ""])],
            path: "study_options.field_names[1]", mentions: ["must not be empty"]),
    BadCase("duplicate field names", [("study_options.field_names", ["u", "v", "u"])],
            path: "study_options.field_names[2]", mentions: ["duplicate field name \"u\"", "field_names[0]"]),
    BadCase("field name too long", [("study_options.field_names", [String(repeating: "é", count: 128)])],
            path: "study_options.field_names[0]", mentions: ["256 bytes", "at most 255"]),
    BadCase("l_bounds length mismatch", [("study_options.l_bounds", [0])],
            path: "study_options.l_bounds", mentions: ["has 1 value", "nb_parameters is 2"]),
    BadCase("l not below u", [("study_options.l_bounds", [0, 3]), ("study_options.u_bounds", [1, 3])],
            path: "study_options.u_bounds[1]", mentions: ["greater than l_bounds[1] (3)", "got 3"]),
    BadCase("boolean inside bounds", [("study_options.u_bounds", [1, false])],
            path: "study_options.u_bounds[1]", mentions: ["expected a number", "got a boolean (false)"]),
    BadCase("unknown scheduler", [("launcher_config.scheduler", "slurm")],
            path: "launcher_config.scheduler", mentions: ["unknown value \"slurm\"", "valid values: 'openmpi'"]),
    BadCase("unknown server class", [("server_class", "deep-learning")],
            path: "server_class", mentions: ["valid values: 'sensitivity-analysis'"]),
    BadCase("missing required top-level key", [("output_dir", nil)],
            path: "output_dir", mentions: ["missing required key"]),
    BadCase("missing required section", [("launcher_config", nil)],
            path: "launcher_config", mentions: ["missing required key", "an object"]),
    BadCase("missing required nested key", [("study_options.nb_parameters", nil)],
            path: "study_options.nb_parameters", mentions: ["missing required key", "an integer at least 1"]),
    BadCase("empty executable", [("client_config.executable_command", "")],
            path: "client_config.executable_command", mentions: ["must not be empty"]),
    BadCase("NUL in a string", [("output_dir", "a\u{0}b")],
            path: "output_dir", mentions: ["NUL"]),
    BadCase("same connection and data port", [("server_config.connection_port", 5000)],
            path: "server_config.data_port", mentions: ["must differ from server_config.connection_port", "5000"]),
    BadCase("top level is an array", text: "[1, 2]",
            path: "", mentions: ["top level must be a JSON object", "got an array"]),
    BadCase("top level is a number", text: "42",
            path: "", mentions: ["top level must be a JSON object", "got a number"]),
    BadCase("duplicate key", text: minimalConfigText.replacingOccurrences(
                of: "\"scheduler\": \"openmpi\"", with: "\"scheduler\": \"openmpi\", \"scheduler\": \"openmpi\""),
            path: "launcher_config.scheduler", mentions: ["appears 2 times"]),
    BadCase("odd key is quoted in the path", [("client_config.bad key\n", 1)],
            path: "client_config[\"bad key\\n\"]", mentions: ["unknown key"]),
]

final class BadConfigTableTests: XCTestCase {
    func testTableHasAtLeastTwentyCases() {
        XCTAssertGreaterThanOrEqual(badCases.count, 20)
    }

    func testEveryBadConfigReportsItsKeyPathAndProblem() {
        for bad in badCases {
            guard let error = parseFailure(bad.data) else {
                XCTFail("\(bad.name): accepted")
                continue
            }
            guard case .invalid(let configError) = error else {
                XCTFail("\(bad.name): expected schema issues, got \(error)")
                continue
            }
            let matching = configError.issues.filter { $0.keyPath == bad.keyPath }
            XCTAssertFalse(matching.isEmpty, "\(bad.name): no issue at '\(bad.keyPath)' in:\n\(error)")
            for word in bad.mentions {
                XCTAssertTrue(matching.contains { $0.message.contains(word) },
                              "\(bad.name): no issue at '\(bad.keyPath)' mentions '\(word)' in:\n\(error)")
            }
            XCTAssertEqual(error.description.split(separator: "\n").count, configError.issues.count, bad.name)
            XCTAssertTrue(error.description.hasPrefix("config.json: "), bad.name)
        }
    }
}
