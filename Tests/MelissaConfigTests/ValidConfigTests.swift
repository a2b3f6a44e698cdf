import Foundation
import XCTest
@testable import MelissaConfig

final class ValidConfigTests: XCTestCase {
    func testFullConfigParsesToExpectedStruct() throws {
        let config = try XCTUnwrap(parseSuccess(Data(fullConfigText.utf8)))
        XCTAssertEqual(config.outputDir, "studies/heat")
        XCTAssertEqual(config.serverClass, "sensitivity-analysis")
        XCTAssertEqual(config.serverFilename, "heat_server.py")
        XCTAssertEqual(config.studyOptions, StudyOptions(
            fieldNames: ["temperature", "pressure"], parameterSweepSize: 10, nbParameters: 3, nbTimeSteps: 100,
            seed: 42, simulationTimeout: 120.5, crashesBeforeRedraw: 3, verbosity: 2, groupSize: 5,
            lBounds: [0, -1.5, 100], uBounds: [1, 1.5, 200], zmqHWM: 1000, sampler: .halton,
            fieldSizes: [1000, 2000]))
        XCTAssertEqual(config.saConfig, SAConfig(
            mean: true, variance: false, skewness: true, kurtosis: true, minimum: true, maximum: true,
            thresholdExceedance: true, thresholdValues: [0.5, -2, 1000], quantiles: true,
            quantileValues: [0.05, 0.5, 0.95], sobolIndices: true, sobolConvergenceWidth: 0.05,
            covariancePairs: [FieldPair("temperature", "pressure")], reportProbes: [0, 499, 999],
            cacheLimitMB: 256.5, checkpointInterval: 600))
        XCTAssertEqual(config.launcherConfig, LauncherConfig(
            scheduler: .openmpi, schedulerArgClient: ["-n", "2"], schedulerArgServer: ["-n", "1", "--oversubscribe"],
            jobLimit: 8, timerDelay: 0.5, faultTolerance: true, launcherPort: 6000,
            bindAddress: "*", advertisedHost: "login-1.cluster_a", serverTimeout: 30,
            stdOutput: false, verbosity: 3))
        XCTAssertEqual(config.clientConfig, ClientConfig(
            executableCommand: "./heatc", commandDefaultArgs: ["--quiet"],
            preprocessingCommands: ["module load openmpi"]))
        XCTAssertEqual(config.serverConfig, ServerConfig(
            preprocessingCommands: ["echo server"], connectionPort: 3000, dataPort: 3001,
            bindAddress: "0.0.0.0", advertisedHost: "node01.cluster", memoryLimitMB: 4096,
            dataEncryption: false))
    }

    func testMinimalConfigGetsDocumentedDefaults() throws {
        let config = try XCTUnwrap(parseSuccess(Data(minimalConfigText.utf8)))
        XCTAssertEqual(config.serverClass, "sensitivity-analysis")
        XCTAssertNil(config.serverFilename)

        let study = config.studyOptions
        XCTAssertEqual(study.seed, 0)
        XCTAssertEqual(study.simulationTimeout, 400)
        XCTAssertEqual(study.crashesBeforeRedraw, 1)
        XCTAssertEqual(study.verbosity, 1)
        XCTAssertEqual(study.groupSize, 1)
        XCTAssertEqual(study.zmqHWM, 0)

        XCTAssertEqual(study.sampler, .uniform)
        XCTAssertNil(study.fieldSizes)

        let sa = config.saConfig
        XCTAssertEqual(sa.mean, true)
        XCTAssertEqual(sa.variance, true)
        XCTAssertEqual([sa.skewness, sa.kurtosis, sa.minimum, sa.maximum], [false, false, false, false])
        XCTAssertEqual(sa.thresholdExceedance, false)
        XCTAssertEqual(sa.thresholdValues, [])
        XCTAssertEqual(sa.quantiles, false)
        XCTAssertEqual(sa.quantileValues, [])
        XCTAssertEqual(sa.sobolIndices, false)
        XCTAssertNil(sa.sobolConvergenceWidth)
        XCTAssertEqual(sa.covariancePairs, [])
        XCTAssertEqual(sa.reportProbes, [])
        XCTAssertEqual(sa.cacheLimitMB, 256)
        XCTAssertNil(sa.checkpointInterval)

        let launcher = config.launcherConfig
        XCTAssertEqual(launcher.scheduler, .openmpi)
        XCTAssertEqual(launcher.schedulerArgClient, [])
        XCTAssertEqual(launcher.schedulerArgServer, [])
        XCTAssertEqual(launcher.jobLimit, 2)
        XCTAssertEqual(launcher.timerDelay, 1)
        XCTAssertEqual(launcher.faultTolerance, true)
        XCTAssertEqual(launcher.launcherPort, 5555)
        XCTAssertEqual(launcher.serverTimeout, 60)
        XCTAssertEqual(launcher.stdOutput, true)
        XCTAssertEqual(launcher.verbosity, 1)

        XCTAssertEqual(config.clientConfig.commandDefaultArgs, [])
        XCTAssertEqual(config.clientConfig.preprocessingCommands, [])

        let server = config.serverConfig
        XCTAssertEqual(server.preprocessingCommands, [])
        XCTAssertEqual(server.connectionPort, 2003)
        XCTAssertEqual(server.dataPort, 5000)
        XCTAssertEqual(server.bindAddress, "*")
        XCTAssertNil(server.advertisedHost)
        XCTAssertNil(server.memoryLimitMB)
    }

    func testParsedDefaultsMatchInitializerDefaults() throws {
        let config = try XCTUnwrap(parseSuccess(Data(minimalConfigText.utf8)))
        XCTAssertEqual(config.saConfig, SAConfig())
        XCTAssertEqual(config.serverConfig, ServerConfig())
        XCTAssertTrue(config.serverConfig.dataEncryption, "data sockets are encrypted unless the config says otherwise")
        XCTAssertEqual(config.launcherConfig, LauncherConfig(scheduler: .openmpi))
        XCTAssertEqual(config.clientConfig, ClientConfig(executableCommand: "heatc"))
        XCTAssertEqual(config.studyOptions, StudyOptions(
            fieldNames: ["u"], parameterSweepSize: 4, nbParameters: 2, nbTimeSteps: 10,
            lBounds: [0, 0], uBounds: [1, 1]))
    }

    func testEmptySectionsUseDefaults() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("sa_config", [String: Any]()),
                                                               ("server_config", [String: Any]())])))
        XCTAssertEqual(config.saConfig, SAConfig())
        XCTAssertEqual(config.serverConfig, ServerConfig())
    }

    func testIntegralFloatAndExponentAcceptedForIntegers() throws {
        let text = minimalConfigText.replacingOccurrences(of: "\"nb_time_steps\": 10", with: "\"nb_time_steps\": 1e1")
            .replacingOccurrences(of: "\"parameter_sweep_size\": 4", with: "\"parameter_sweep_size\": 4.0")
        let config = try XCTUnwrap(parseSuccess(Data(text.utf8)))
        XCTAssertEqual(config.studyOptions.nbTimeSteps, 10)
        XCTAssertEqual(config.studyOptions.parameterSweepSize, 4)
    }

    func testIntegersAcceptedForNumbers() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("launcher_config.timer_delay", 2)])))
        XCTAssertEqual(config.launcherConfig.timerDelay, 2)
    }

    func testGroupSizeMayEqualSweepSize() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("study_options.group_size", 4)])))
        XCTAssertEqual(config.studyOptions.groupSize, 4)
    }

    func testCanonicalJSONIgnoresCommentsWhitespaceAndKeyOrder() throws {
        let a = try XCTUnwrap(parseSuccess(Data(minimalConfigText.utf8)))
        let reordered = """
        /* same config, other layout */ {"client_config":{"executable_command":"heatc"},
        "launcher_config":{"scheduler":"openmpi"},"study_options":{"u_bounds":[1,1],"l_bounds":[0,0],
        "nb_time_steps":10,"nb_parameters":2,"parameter_sweep_size":4,"field_names":["u"],},"output_dir":"out"}
        """
        let b = try XCTUnwrap(parseSuccess(Data(reordered.utf8)))
        XCTAssertEqual(a.canonicalJSON, b.canonicalJSON)
        XCTAssertEqual(a, b)
        let text = String(decoding: a.canonicalJSON, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"client_config\":{\"executable_command\":\"heatc\"}"), text)
        XCTAssertFalse(text.contains("//"))
    }

    func testCanonicalJSONChangesWithContent() throws {
        let a = try XCTUnwrap(parseSuccess(minimalConfig([])))
        let b = try XCTUnwrap(parseSuccess(minimalConfig([("study_options.seed", 1)])))
        XCTAssertNotEqual(a.canonicalJSON, b.canonicalJSON)
    }

    func testServerFilenameIsAcceptedAndIgnored() throws {
        let config = try XCTUnwrap(parseSuccess(minimalConfig([("server_filename", "server.py")])))
        XCTAssertEqual(config.serverFilename, "server.py")
    }

    func testUTF8FieldNamesAndByteOrderMark() throws {
        var data = Data([0xEF, 0xBB, 0xBF])
        data.append(minimalConfig([("study_options.field_names", ["température", "压力"])]))
        let config = try XCTUnwrap(parseSuccess(data))
        XCTAssertEqual(config.studyOptions.fieldNames, ["température", "压力"])
    }
}
