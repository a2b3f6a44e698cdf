import Foundation
import XCTest
@testable import MelissaConfig

/// Valid sensitivity-analysis configs: values reach the typed config, and the Sobol counts follow the documented formulas.
final class SensitivityConfigTests: XCTestCase {
    func testEverySamplerNameParses() throws {
        for (name, kind) in [("uniform", SamplerKind.uniform), ("halton", .halton), ("lhs", .lhs)] {
            let config = try XCTUnwrap(parseSuccess(minimalConfig([("study_options.sampler", name)])))
            XCTAssertEqual(config.studyOptions.sampler, kind, name)
        }
    }

    func testSobolGroupSizeMayExceedSweepSizeWhenItIsPPlusTwo() throws {
        // p = 2, so a group is 4 simulations, more than the 2 groups of the sweep: allowed in a Sobol study.
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.sobol_indices", true), ("study_options.group_size", 4),
            ("study_options.parameter_sweep_size", 2)])))
        XCTAssertEqual(config.studyOptions.groupSize, 4)
        XCTAssertEqual(config.jobGroupSize, 4)
    }

    func testSobolCounts() throws {
        // 3 parameters: each group is A, B, C_1, C_2, C_3 = 5 simulations; 7 groups = 35 simulations.
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.sobol_indices", true), ("study_options.parameter_sweep_size", 7),
            ("study_options.nb_parameters", 3), ("study_options.l_bounds", [0, 0, 0]),
            ("study_options.u_bounds", [1, 2, 3])])))
        XCTAssertEqual(config.membersPerDraw, 5)
        XCTAssertEqual(config.simulationCount, 35)
        XCTAssertEqual(config.jobGroupSize, 5)
        // group_size left out keeps its plain default; jobGroupSize is what the launcher uses.
        XCTAssertEqual(config.studyOptions.groupSize, 1)
    }

    func testCountsWithoutSobol() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("study_options.group_size", 3)])))
        XCTAssertEqual(config.membersPerDraw, 1)
        XCTAssertEqual(config.simulationCount, 4)
        XCTAssertEqual(config.jobGroupSize, 3)
    }

    func testSobolSimulationCountAtThe32BitLimitIsAccepted() throws {
        // 1_073_741_823 groups × (2 + 2) = 4_294_967_292 ≤ 2^32 − 1.
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.sobol_indices", true), ("study_options.parameter_sweep_size", 1_073_741_823)])))
        XCTAssertEqual(config.simulationCount, 4_294_967_292)
    }

    func testHaltonAtSixtyFourDimensions() throws {
        let bounds = [("study_options.l_bounds", [Double](repeating: -1, count: 32) as Any?),
                      ("study_options.u_bounds", [Double](repeating: 1, count: 32) as Any?)]
        // 32 parameters in a Sobol study sample 64 dimensions: the most Halton supports.
        XCTAssertNotNil(parseSuccess(minimalConfig([("study_options.sampler", "halton"),
                                                    ("sa_config.sobol_indices", true),
                                                    ("study_options.nb_parameters", 32)] + bounds)))
        let wide = [("study_options.l_bounds", [Double](repeating: -1, count: 64) as Any?),
                    ("study_options.u_bounds", [Double](repeating: 1, count: 64) as Any?)]
        XCTAssertNotNil(parseSuccess(minimalConfig([("study_options.sampler", "halton"),
                                                    ("study_options.nb_parameters", 64)] + wide)))
        // No limit for LHS.
        XCTAssertNotNil(parseSuccess(minimalConfig([("study_options.sampler", "lhs"),
                                                    ("sa_config.sobol_indices", true),
                                                    ("study_options.nb_parameters", 64)] + wide)))
    }

    func testStatisticValuesAreKeptInOrder() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.threshold_exceedance", true), ("sa_config.threshold_values", [3, -1e-3, 0, 1e10]),
            ("sa_config.quantiles", true), ("sa_config.quantile_values", [0.99, 1e-9, 0.5, 0.999999])])))
        XCTAssertEqual(config.saConfig.thresholdValues, [3, -0.001, 0, 1e10])
        XCTAssertEqual(config.saConfig.quantileValues, [0.99, 1e-9, 0.5, 0.999999])
    }

    func testSixtyFourThresholdsAndSixteenProbesAreAccepted() throws {
        let thresholds = (0..<64).map { Double($0) * 0.5 }
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.threshold_exceedance", true), ("sa_config.threshold_values", thresholds),
            ("sa_config.report_probes", Array((0..<16).reversed()))])))
        XCTAssertEqual(config.saConfig.thresholdValues.count, 64)
        XCTAssertEqual(config.saConfig.reportProbes, Array((0..<16).reversed()))
    }

    func testValuesWithoutTheirSwitchAreAcceptedAndKept() throws {
        // Melissa configs often keep the lists while the statistic is off; the server ignores them then.
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.threshold_values", [1]), ("sa_config.quantile_values", [0.5])])))
        XCTAssertFalse(config.saConfig.thresholdExceedance)
        XCTAssertEqual(config.saConfig.thresholdValues, [1])
        XCTAssertFalse(config.saConfig.quantiles)
        XCTAssertEqual(config.saConfig.quantileValues, [0.5])
    }

    func testCovariancePairsKeepTheirOrder() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("study_options.field_names", ["u", "v", "w"]),
            ("sa_config.covariance_pairs", [["v", "u"], ["u", "w"], ["w", "v"]])])))
        XCTAssertEqual(config.saConfig.covariancePairs,
                       [FieldPair("v", "u"), FieldPair("u", "w"), FieldPair("w", "v")])
    }

    func testFieldSizesAndLimits() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("study_options.field_names", ["u", "v"]), ("study_options.field_sizes", [1, 1 << 40]),
            ("sa_config.cache_limit_mb", 0.5), ("sa_config.checkpoint_interval", 30),
            ("server_config.memory_limit_mb", 12_000)])))
        XCTAssertEqual(config.studyOptions.fieldSizes, [1, 1_099_511_627_776])
        XCTAssertEqual(config.saConfig.cacheLimitMB, 0.5)
        XCTAssertEqual(config.saConfig.checkpointInterval, 30)
        XCTAssertEqual(config.serverConfig.memoryLimitMB, 12_000)
    }

    func testConvergenceWidthUpToTwo() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([
            ("sa_config.sobol_indices", true), ("sa_config.sobol_convergence_width", 2)])))
        XCTAssertEqual(config.saConfig.sobolConvergenceWidth, 2)
    }

    func testNewKeysChangeTheCanonicalJSON() throws {
        let plain = try XCTUnwrap(parseSuccess(minimalConfig([])))
        let halton = try XCTUnwrap(parseSuccess(minimalConfig([("study_options.sampler", "halton")])))
        let sobol = try XCTUnwrap(parseSuccess(minimalConfig([("sa_config.sobol_indices", true)])))
        XCTAssertNotEqual(plain.canonicalJSON, halton.canonicalJSON)
        XCTAssertNotEqual(plain.canonicalJSON, sobol.canonicalJSON)
        XCTAssertNotEqual(halton.canonicalJSON, sobol.canonicalJSON)
    }
}
