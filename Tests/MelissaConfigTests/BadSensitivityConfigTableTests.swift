import Foundation
import XCTest
@testable import MelissaConfig

/// Values 0, 1, ..., count - 1 as JSON numbers (distinct, finite).
private func distinctNumbers(_ count: Int) -> [Double] {
    (0..<count).map(Double.init)
}

/// Distinct probabilities strictly inside (0, 1).
private func distinctProbabilities(_ count: Int) -> [Double] {
    (1...count).map { Double($0) / Double(count + 1) }
}

/// Edits giving the minimal config `count` parameters with valid bounds.
private func parameters(_ count: Int) -> [(String, Any?)] {
    [("study_options.nb_parameters", count),
     ("study_options.l_bounds", [Double](repeating: 0, count: count)),
     ("study_options.u_bounds", [Double](repeating: 1, count: count))]
}

/// The edit giving the minimal config two fields to pair.
private func twoFields() -> (String, Any?) {
    ("study_options.field_names", ["temperature", "pressure"])
}

/// Rejected configs for the sensitivity-analysis keys: statistics, Sobol, covariance, probes, limits, samplers.
private let badCases: [BadCase] = [
    // Statistic switches are booleans.
    BadCase("number for skewness", [("sa_config.skewness", 1)],
            path: "sa_config.skewness", mentions: ["expected a boolean", "got a number (1)"]),
    BadCase("string for min", [("sa_config.min", "yes")],
            path: "sa_config.min", mentions: ["expected a boolean", "got a string (\"yes\")"]),
    BadCase("misspelled kurtosis", [("sa_config.kurtosys", true)],
            path: "sa_config.kurtosys", mentions: ["did you mean 'kurtosis'?"]),

    // Thresholds.
    BadCase("threshold exceedance without values", [("sa_config.threshold_exceedance", true)],
            path: "sa_config.threshold_values",
            mentions: ["required when sa_config.threshold_exceedance is true", "non-empty array of numbers"]),
    BadCase("threshold exceedance with no values", [("sa_config.threshold_exceedance", true),
                                                    ("sa_config.threshold_values", [Double]())],
            path: "sa_config.threshold_values", mentions: ["at least one threshold", "threshold_exceedance is true"]),
    BadCase("too many thresholds", [("sa_config.threshold_exceedance", true),
                                    ("sa_config.threshold_values", distinctNumbers(65))],
            path: "sa_config.threshold_values", mentions: ["has 65 values", "at most 64"]),
    BadCase("duplicate threshold", [("sa_config.threshold_values", [1, 2.5, 1])],
            path: "sa_config.threshold_values[2]", mentions: ["duplicate value 1", "also at threshold_values[0]"]),
    BadCase("string threshold", [("sa_config.threshold_values", [1, "2"])],
            path: "sa_config.threshold_values[1]", mentions: ["expected a number", "got a string"]),

    // Quantiles.
    BadCase("quantiles without values", [("sa_config.quantiles", true)],
            path: "sa_config.quantile_values", mentions: ["required when sa_config.quantiles is true"]),
    BadCase("quantiles with no values", [("sa_config.quantiles", true), ("sa_config.quantile_values", [Double]())],
            path: "sa_config.quantile_values", mentions: ["at least one quantile"]),
    BadCase("quantile of 1", [("sa_config.quantiles", true), ("sa_config.quantile_values", [0.5, 1])],
            path: "sa_config.quantile_values[1]", mentions: ["strictly between 0 and 1", "got 1"]),
    BadCase("quantile of 0", [("sa_config.quantile_values", [0])],
            path: "sa_config.quantile_values[0]", mentions: ["strictly between 0 and 1", "got 0"]),
    BadCase("negative quantile", [("sa_config.quantile_values", [-0.25])],
            path: "sa_config.quantile_values[0]", mentions: ["strictly between 0 and 1", "got -0.25"]),
    BadCase("duplicate quantile", [("sa_config.quantile_values", [0.25, 0.5, 0.25])],
            path: "sa_config.quantile_values[2]", mentions: ["duplicate value 0.25", "also at quantile_values[0]"]),
    BadCase("too many quantiles", [("sa_config.quantile_values", distinctProbabilities(65))],
            path: "sa_config.quantile_values", mentions: ["has 65 values", "at most 64"]),

    // Sobol.
    BadCase("convergence width without Sobol", [("sa_config.sobol_convergence_width", 0.1)],
            path: "sa_config.sobol_convergence_width",
            mentions: ["only valid when sa_config.sobol_indices is true"]),
    BadCase("convergence width with Sobol off", [("sa_config.sobol_indices", false),
                                                 ("sa_config.sobol_convergence_width", 0.1)],
            path: "sa_config.sobol_convergence_width", mentions: ["sobol_indices is true"]),
    BadCase("zero convergence width", [("sa_config.sobol_indices", true), ("sa_config.sobol_convergence_width", 0)],
            path: "sa_config.sobol_convergence_width", mentions: ["greater than 0", "got 0"]),
    BadCase("convergence width above 2", [("sa_config.sobol_indices", true),
                                          ("sa_config.sobol_convergence_width", 2.5)],
            path: "sa_config.sobol_convergence_width", mentions: ["at most 2", "got 2.5"]),
    BadCase("Sobol with a group size other than p + 2", [("sa_config.sobol_indices", true),
                                                         ("study_options.group_size", 3)],
            path: "study_options.group_size",
            mentions: ["must equal nb_parameters + 2 (4)", "got 3", "pick-freeze", "A, B, C_1..C_p", "one job"]),
    BadCase("Sobol with group size 1", [("sa_config.sobol_indices", true), ("study_options.group_size", 1)],
            path: "study_options.group_size", mentions: ["nb_parameters + 2 (4)", "got 1"]),
    BadCase("Sobol simulation count beyond 32-bit ids", [("sa_config.sobol_indices", true),
                                                         ("study_options.parameter_sweep_size", 2_000_000_000)],
            path: "study_options.parameter_sweep_size",
            mentions: ["× (nb_parameters + 2) = 8000000000 simulations", "at most 4294967295"]),
    BadCase("sweep size beyond 32-bit ids", [("study_options.parameter_sweep_size", 4_294_967_296)],
            path: "study_options.parameter_sweep_size", mentions: ["between 1 and 4294967295", "got 4294967296"]),
    BadCase("number for sobol_indices", [("sa_config.sobol_indices", 1)],
            path: "sa_config.sobol_indices", mentions: ["expected a boolean"]),

    // Covariance pairs.
    BadCase("covariance of an unknown field", [twoFields(), ("sa_config.covariance_pairs", [["temperature", "velocity"]])],
            path: "sa_config.covariance_pairs[0][1]",
            mentions: ["unknown field \"velocity\"", "study_options.field_names", "\"temperature\", \"pressure\""]),
    BadCase("covariance field misspelled", [twoFields(), ("sa_config.covariance_pairs", [["temprature", "pressure"]])],
            path: "sa_config.covariance_pairs[0][0]", mentions: ["did you mean 'temperature'?"]),
    BadCase("covariance of a field with itself", [twoFields(), ("sa_config.covariance_pairs", [["pressure", "pressure"]])],
            path: "sa_config.covariance_pairs[0]", mentions: ["two different fields", "\"pressure\" twice"]),
    BadCase("duplicate covariance pair in reverse order",
            [twoFields(), ("sa_config.covariance_pairs", [["temperature", "pressure"], ["pressure", "temperature"]])],
            path: "sa_config.covariance_pairs[1]",
            mentions: ["duplicate pair", "also at covariance_pairs[0]", "order of the names does not matter"]),
    BadCase("covariance pair of one name", [twoFields(), ("sa_config.covariance_pairs", [["temperature"]])],
            path: "sa_config.covariance_pairs[0]",
            mentions: ["expected a pair of field names", "got an array of 1 element"]),
    BadCase("covariance pair of three names",
            [twoFields(), ("sa_config.covariance_pairs", [["temperature", "pressure"], ["temperature", "pressure", "u"]])],
            path: "sa_config.covariance_pairs[1]", mentions: ["expected a pair of field names", "3 elements"]),
    BadCase("number in a covariance pair", [twoFields(), ("sa_config.covariance_pairs", [["temperature", 3]])],
            path: "sa_config.covariance_pairs[0][1]", mentions: ["expected a field name", "got a number (3)"]),
    BadCase("covariance pairs as a string", [twoFields(), ("sa_config.covariance_pairs", "temperature,pressure")],
            path: "sa_config.covariance_pairs", mentions: ["expected an array of [field, field] pairs", "got a string"]),
    BadCase("covariance pair as a string", [twoFields(), ("sa_config.covariance_pairs", ["temperature"])],
            path: "sa_config.covariance_pairs[0]", mentions: ["expected a pair of field names", "got a string"]),

    // Report probes.
    BadCase("negative probe", [("sa_config.report_probes", [3, -1])],
            path: "sa_config.report_probes[1]", mentions: ["at least 0", "got -1"]),
    BadCase("fractional probe", [("sa_config.report_probes", [1.5])],
            path: "sa_config.report_probes[0]", mentions: ["expected an integer", "fractional part (1.5)"]),
    BadCase("too many probes", [("sa_config.report_probes", Array(0..<17))],
            path: "sa_config.report_probes", mentions: ["has 17 probes", "at most 16"]),
    BadCase("duplicate probe", [("sa_config.report_probes", [7, 3, 7])],
            path: "sa_config.report_probes[2]", mentions: ["duplicate value 7", "also at report_probes[0]"]),
    BadCase("probe outside every field", [("study_options.field_sizes", [100]), ("sa_config.report_probes", [0, 100])],
            path: "sa_config.report_probes[1]", mentions: ["cell 100 is outside every field", "has 100 cells"]),
    BadCase("probe list as a number", [("sa_config.report_probes", 5)],
            path: "sa_config.report_probes", mentions: ["expected an array of integers", "got a number (5)"]),

    // Limits.
    BadCase("zero cache limit", [("sa_config.cache_limit_mb", 0)],
            path: "sa_config.cache_limit_mb", mentions: ["greater than 0", "got 0"]),
    BadCase("negative cache limit", [("sa_config.cache_limit_mb", -64)],
            path: "sa_config.cache_limit_mb", mentions: ["greater than 0", "got -64"]),
    BadCase("zero checkpoint interval", [("sa_config.checkpoint_interval", 0)],
            path: "sa_config.checkpoint_interval", mentions: ["greater than 0", "got 0"]),
    BadCase("zero memory limit", [("server_config.memory_limit_mb", 0)],
            path: "server_config.memory_limit_mb", mentions: ["greater than 0", "got 0"]),
    BadCase("string memory limit", [("server_config.memory_limit_mb", "4G")],
            path: "server_config.memory_limit_mb", mentions: ["expected a number", "got a string"]),
    BadCase("string data encryption", [("server_config.data_encryption", "off")],
            path: "server_config.data_encryption", mentions: ["expected a boolean", "got a string (\"off\")"]),
    BadCase("numeric data encryption", [("server_config.data_encryption", 0)],
            path: "server_config.data_encryption", mentions: ["expected a boolean", "got a number (0)"]),

    // Sampler.
    BadCase("misspelled sampler", [("study_options.sampler", "halto")],
            path: "study_options.sampler",
            mentions: ["unknown value \"halto\"", "did you mean 'halton'?", "'uniform', 'halton', 'lhs'"]),
    BadCase("sampler in capitals", [("study_options.sampler", "LHS")],
            path: "study_options.sampler", mentions: ["did you mean 'lhs'?"]),
    BadCase("sampler as a number", [("study_options.sampler", 2)],
            path: "study_options.sampler", mentions: ["expected a string", "'uniform'"]),
    BadCase("Halton beyond 64 dimensions", [("study_options.sampler", "halton")] + parameters(65),
            path: "study_options.sampler",
            mentions: ["at most 64 sampled dimensions", "nb_parameters = 65", "use 'uniform' or 'lhs'"]),
    BadCase("Halton in a Sobol study beyond 64 dimensions",
            [("study_options.sampler", "halton"), ("sa_config.sobol_indices", true)] + parameters(33),
            path: "study_options.sampler", mentions: ["2 × nb_parameters = 66 dimensions", "at most 64"]),

    // Field sizes.
    BadCase("field sizes of another length", [("study_options.field_sizes", [100, 200])],
            path: "study_options.field_sizes", mentions: ["has 2 values but field_names has 1", "one size per field"]),
    BadCase("zero field size", [("study_options.field_sizes", [0])],
            path: "study_options.field_sizes[0]", mentions: ["between 1 and 1099511627776", "got 0"]),
    BadCase("field size beyond 2^40", [("study_options.field_sizes", [1_099_511_627_777])],
            path: "study_options.field_sizes[0]", mentions: ["between 1 and 1099511627776"]),
    BadCase("string field size", [("study_options.field_sizes", ["100"])],
            path: "study_options.field_sizes[0]", mentions: ["expected an integer", "got a string"]),
]

final class BadSensitivityConfigTableTests: XCTestCase {
    func testEveryBadSensitivityConfigReportsItsKeyPathAndProblem() {
        assertEveryCaseRejected(badCases)
    }

    /// Without Sobol the old rule stands: a job group may not be larger than the sweep.
    func testGroupLargerThanSweepStillRejectedWithoutSobol() {
        assertEveryCaseRejected([
            BadCase("group larger than sweep, Sobol off", [("sa_config.sobol_indices", false),
                                                           ("study_options.group_size", 5)],
                    path: "study_options.group_size", mentions: ["must not exceed parameter_sweep_size (4)"]),
        ])
    }

    /// Several problems in one file are all listed, each at its own path.
    func testAllSensitivityProblemsReportedTogether() throws {
        let data = minimalConfig([("sa_config.quantiles", true), ("sa_config.quantile_values", [0.5, 1.5]),
                                  ("sa_config.report_probes", [-2]), ("sa_config.sobol_convergence_width", 1)])
        let error = try XCTUnwrap(parseFailure(data))
        guard case .invalid(let configError) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(configError.issues.map(\.keyPath),
                       ["sa_config.quantile_values[1]", "sa_config.report_probes[0]",
                        "sa_config.sobol_convergence_width"])
    }
}
