import Foundation
import MelissaCheckpoint
import MelissaConfig
@testable import MelissaDeepLearning
import MelissaFlavors
import MelissaServer
import MelissaTransport
import XCTest

/// The flavor's checkpoint section (DLRN) round trip on one rank, through the embedded
/// transport: buffered samples, partial steps, fields waiting for the others and the loss
/// history come back exactly, and a damaged section is refused with its name.
final class DeepLearningCheckpointTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        _ = try MPIRuntime.initializeIfNeeded()
        guard try Communicator.world.size() == 1 else { throw XCTSkip("runs on one MPI rank") }
        directory = NSTemporaryDirectory() + "melissa-dl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func makeServer() throws -> DeepLearningServer {
        let text = """
        {"output_dir": "\(directory)", "server_class": "deep-learning",
         "study_options": {"field_names": ["u", "v"], "parameter_sweep_size": 4, "nb_parameters": 2,
                           "nb_time_steps": 5, "l_bounds": [0, 0], "u_bounds": [1, 1], "verbosity": 0},
         "dl_config": {"model_file": "\(directory)/model.py", "buffer": "FIFO", "batch_size": 2, "buffer_size": 8},
         "launcher_config": {"scheduler": "openmpi"},
         "client_config": {"executable_command": "/bin/true"}}
        """
        let config = try StudyConfig.parse(data: Data(text.utf8), source: "test.json", flavors: Flavors.registry)
        return try DeepLearningServer(config: config, studyDirectory: directory, launcherAddress: "embedded",
                                      transport: EmbeddedServerTransport())
    }

    func sample(_ sim: UInt32, _ step: UInt32) -> Sample {
        Sample(simulation: sim, timeStep: step, parameters: [Double(sim), 0.5],
               values: (0..<6).map { Double(sim) * 100 + Double(step) * 10 + Double($0) })
    }

    func sections(_ server: DeepLearningServer) throws -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: try server.checkpointSections().map { ($0.tag, $0.bytes) })
    }

    func testTheSectionRoundTripsEveryPartOfTheState() throws {
        let server = try makeServer()
        server.feed.locked { feed in
            for (sim, step) in [(0, 0), (1, 0), (0, 1)] { _ = feed.buffer.put(sample(UInt32(sim), UInt32(step))) }
            feed.batchesServed = 3
            feed.samplesServed = 6
        }
        let partial: [Double] = [1, 2, 3]
        _ = partial.withUnsafeBufferPointer {
            server.assembler.add(.init(simulation: 2, field: 1, step: 4), blockSize: 6, localOffset: 0, values: $0)
        }
        server.pendingFields[.init(simulation: 3, step: 2)] = [0: [9, 8, 7, 6, 5, 4]]
        server.history = [.init(batch: 10, samples: 20, trainLoss: 0.5, validLoss: nil, elapsed: 1.25),
                          .init(batch: 20, samples: 40, trainLoss: 0.25, validLoss: 0.3, elapsed: 2.5)]
        server.backPressureSeconds = 1.5
        let saved = try sections(server)
        XCTAssertEqual(Array(saved.keys), ["DLRN"])

        let restored = try makeServer()
        try restored.restoreCheckpoint(saved)
        XCTAssertEqual(restored.feed.locked { $0.buffer.count }, 3)
        XCTAssertEqual(restored.feed.locked { $0.batchesServed }, 3)
        XCTAssertEqual(restored.pendingFields, server.pendingFields)
        XCTAssertEqual(restored.history, server.history)
        XCTAssertEqual(restored.backPressureSeconds, 1.5)
        XCTAssertEqual(restored.assembler.pendingSteps, 1)
        XCTAssertNil(restored.restoredModel)
        // The restored buffer continues exactly as the original: FIFO order.
        XCTAssertEqual(restored.feed.locked { $0.buffer.take(receptionOver: false) }, .batch([sample(0, 0), sample(1, 0)]))
        XCTAssertEqual(server.feed.locked { $0.buffer.take(receptionOver: false) }, .batch([sample(0, 0), sample(1, 0)]))
        // And writing it again gives the same bytes as the original's state.
        XCTAssertEqual(try sections(restored)["DLRN"], try sections(server)["DLRN"])
    }

    func testADamagedSectionIsRefusedWithItsName() throws {
        let saved = try sections(try makeServer())
        let bytes = try XCTUnwrap(saved["DLRN"])
        for damaged in [Array(bytes.dropLast(3)), bytes + [0, 0], [UInt8](repeating: 0xFF, count: 12)] {
            XCTAssertThrowsError(try makeServer().restoreCheckpoint(["DLRN": damaged])) { error in
                XCTAssertTrue("\(error)".contains("DLRN"), "\(error)")
            }
        }
        XCTAssertThrowsError(try makeServer().restoreCheckpoint(["MAXV": bytes])) { error in
            XCTAssertTrue("\(error)".contains("no DLRN section"), "\(error)")
        }
    }

    func testModelFilesStayWhileACheckpointTheStoreKeepsNamesThem() throws {
        let server = try makeServer()
        let checkpoints = "\(directory)/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        func model(_ n: Int) -> String { "\(checkpoints)/model-\(n).safetensors" }
        func present() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).filter { $0.hasPrefix("model-") }.sorted()
        }
        for n in 1...3 { FileManager.default.createFile(atPath: model(n), contents: Data([0])) }
        // Restored from checkpoint 3: later checkpoints taken while the trainer starts name model-3.
        server.modelsOfCheckpoints = [3: model(3)]
        server.forgetModels(keeping: 4, model: model(3))
        server.forgetModels(keeping: 5, model: model(3))
        server.forgetModels(keeping: 6, model: model(3))
        XCTAssertEqual(present(), ["model-3.safetensors"], "the model a trainer may still be loading was deleted")
        // New saves replace it once neither kept checkpoint names it.
        FileManager.default.createFile(atPath: model(7), contents: Data([0]))
        server.forgetModels(keeping: 7, model: model(7))
        XCTAssertEqual(present(), ["model-3.safetensors", "model-7.safetensors"])
        FileManager.default.createFile(atPath: model(8), contents: Data([0]))
        server.forgetModels(keeping: 8, model: model(8))
        XCTAssertEqual(present(), ["model-7.safetensors", "model-8.safetensors"])
    }

    func testAMissingModelFileNamedByTheCheckpointIsAnError() throws {
        let server = try makeServer()
        server.restoredModel = "\(directory)/checkpoints/model-9.safetensors"
        let saved = try sections(server)
        XCTAssertThrowsError(try makeServer().restoreCheckpoint(saved)) { error in
            XCTAssertTrue("\(error)".contains("model-9.safetensors, which is missing"), "\(error)")
        }
    }
}
