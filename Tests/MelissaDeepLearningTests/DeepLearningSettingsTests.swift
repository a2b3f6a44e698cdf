import Foundation
import MelissaConfig
@testable import MelissaDeepLearning
import MelissaFlavors
import XCTest

/// `dl_config` as a user writes it: defaults, every key read, bad values refused with key
/// paths, relative paths joined to the config file's directory.
final class DeepLearningSettingsTests: XCTestCase {
    func config(_ dl: String) -> String {
        """
        {
            "output_dir": "out", "server_class": "deep-learning",
            "study_options": {"field_names": ["u"], "parameter_sweep_size": 6, "nb_parameters": 2,
                              "nb_time_steps": 3, "l_bounds": [0, 0], "u_bounds": [1, 1]},
            "dl_config": {\(dl)},
            "launcher_config": {"scheduler": "openmpi"},
            "client_config": {"executable_command": "./sim"}
        }
        """
    }

    func issues(_ text: String) -> [String] {
        do throws(ConfigLoadError) {
            _ = try StudyConfig.parse(data: Data(text.utf8), source: "test.json", flavors: Flavors.registry)
            XCTFail("config accepted")
            return []
        } catch {
            guard case let .invalid(configError) = error else {
                XCTFail("not a validation error: \(error)")
                return []
            }
            return configError.issues.map { "\($0.keyPath): \($0.message)" }
        }
    }

    func testDefaultsFollowMelissa() throws {
        let study = try StudyConfig.parse(data: Data(config(#""model_file": "model.py""#).utf8), source: "t.json",
                                          flavors: Flavors.registry)
        let settings = try XCTUnwrap(study.settings(as: DeepLearningSettings.self))
        XCTAssertEqual(settings, DeepLearningSettings(modelFile: "model.py"))
        XCTAssertEqual(settings.batchSize, 10)
        XCTAssertEqual(settings.watermark, 10)
        XCTAssertEqual(settings.buffer, .firo)
        XCTAssertEqual(settings.routing.dataRouting, .stepRoundRobin)
        XCTAssertEqual(settings.userJSON, "{}")
    }

    func testEveryKeyIsRead() throws {
        let text = config("""
            "model_file": "m.py", "python": "/opt/py/bin/python", "batch_size": 4, "buffer_size": 64,
            "per_server_watermark": 16, "buffer": "Reservoir", "pseudo_epochs": 3, "nb_batches_update": 7,
            "checkpoint_interval": 30, "validation_directory": "valid", "validation_batch_size": 32,
            "routing": "simulations", "user": {"lr": 0.001, "hidden": [64, 64]}
            """)
        let study = try StudyConfig.parse(data: Data(text.utf8), source: "t.json", flavors: Flavors.registry)
        let settings = try XCTUnwrap(study.settings(as: DeepLearningSettings.self))
        XCTAssertEqual(settings, DeepLearningSettings(modelFile: "m.py", python: "/opt/py/bin/python", batchSize: 4,
                                                      bufferSize: 64, watermark: 16, buffer: .reservoir, pseudoEpochs: 3,
                                                      nbBatchesUpdate: 7, checkpointInterval: 30,
                                                      validationDirectory: "valid", validationBatchSize: 32,
                                                      routing: .simulations, userJSON: #"{"hidden":[64,64],"lr":0.001}"#))
        XCTAssertEqual(study.flavorSettings.checkpointInterval, 30)
    }

    func testRelativePathsAreJoinedToTheConfigDirectory() throws {
        let settings = DeepLearningSettings(modelFile: "sub/model.py", python: "../venv/bin/python",
                                            validationDirectory: "valid")
        let resolved = try XCTUnwrap(settings.resolvingPaths(relativeTo: "/studies/a") as? DeepLearningSettings)
        XCTAssertEqual(resolved.modelFile, "/studies/a/sub/model.py")
        XCTAssertEqual(resolved.python, "/studies/venv/bin/python")
        XCTAssertEqual(resolved.validationDirectory, "/studies/a/valid")
        // A bare interpreter name is looked up on PATH, not joined.
        let bare = try XCTUnwrap(DeepLearningSettings(modelFile: "/m.py").resolvingPaths(relativeTo: "/x") as? DeepLearningSettings)
        XCTAssertEqual(bare.python, "python3")
    }

    func testBadValuesAreRefusedWithKeyPaths() {
        XCTAssertEqual(issues(config(#""batch_size": 4"#)), ["dl_config.model_file: missing required key (expected a non-empty string)"])
        let found = issues(config(#""model_file": "m.txt", "batch_size": 0, "buffer": "FILO", "buffer_size": 5, "per_server_watermark": 9, "bacth_size": 2"#))
        XCTAssertTrue(found.contains { $0.hasPrefix("dl_config.model_file: must name a Python file") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("dl_config.batch_size:") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("dl_config.buffer:") && $0.contains("FIFO") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("dl_config.per_server_watermark: is 9, larger than buffer_size (5)") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("dl_config.bacth_size:") && $0.contains("batch_size") }, "\(found)")
        XCTAssertTrue(issues(config(#""model_file": "m.py", "batch_size": 50, "buffer_size": 10"#))
            .contains { $0.hasPrefix("dl_config.batch_size: is 50, larger than buffer_size (10)") })
        XCTAssertTrue(issues(config(#""model_file": "m.py", "user": [1]"#)).contains { $0.hasPrefix("dl_config.user:") })
    }
}
