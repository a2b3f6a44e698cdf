import Foundation
import MelissaConfig
import MelissaServer
import MelissaStatistics
import XCTest
@testable import MelissaSensitivity

/// The memory check of docs/SENSITIVITY.md ("Memory"): bytes per time step and cell, and the
/// refusal naming server_config.memory_limit_mb. The expected sizes are computed here from the
/// documented record sizes (8 bytes per double; Sobol 8 × (4 + 4p); a covariance pair 4 doubles
/// counted with its first field), not read back from the code under test.
final class MemoryBudgetTests: XCTestCase {
    private func config(_ sa: [String: Any], server: [String: Any] = [:], fields: [String] = ["u", "v"],
                        parameters: Int = 3) throws -> StudyConfig {
        let object: [String: Any] = [
            "output_dir": "/tmp/unused",
            "study_options": ["field_names": fields, "parameter_sweep_size": 4, "nb_parameters": parameters,
                              "nb_time_steps": 10, "l_bounds": Array(repeating: 0, count: parameters),
                              "u_bounds": Array(repeating: 1, count: parameters)],
            "sa_config": sa,
            "server_config": server,
            "client_config": ["executable_command": "/bin/true"],
            "launcher_config": ["scheduler": "openmpi"],
        ]
        let data = try JSONSerialization.data(withJSONObject: object)
        return try StudyConfig.parse(data: data, source: "test.json")
    }

    private func budget(_ config: StudyConfig) -> MemoryBudget {
        let sa = config.saConfig
        return MemoryBudget(config: config, selection: StatisticsSelection(
            mean: sa.mean, variance: sa.variance, skewness: sa.skewness, kurtosis: sa.kurtosis,
            minimum: sa.minimum, maximum: sa.maximum, thresholds: [], quantileLevels: [], expectedSamples: 4))
    }

    func testSobolAndCovarianceAddTheirDocumentedRecords() throws {
        let plain = budget(try config(["mean": true]))
        let sobol = budget(try config(["mean": true, "sobol_indices": true]))
        // Sobol adds 8 × (4 + 4p) bytes per cell, p = 3.
        XCTAssertEqual(sobol.bytesPerCell(field: 0) - plain.bytesPerCell(field: 0), 8 * (4 + 4 * 3))
        let paired = budget(try config(["mean": true, "covariance_pairs": [["u", "v"]]]))
        // A pair's 4 doubles are counted once, with its first field.
        XCTAssertEqual(paired.bytesPerCell(field: 0) - plain.bytesPerCell(field: 0), 4 * 8)
        XCTAssertEqual(paired.bytesPerCell(field: 1), plain.bytesPerCell(field: 1))
        // A field's state: time steps × cells × bytes per cell.
        XCTAssertEqual(plain.bytes(field: 0, blockSize: 7), 10 * 7 * plain.bytesPerCell(field: 0))
        // The join cache only counts when something is held back.
        XCTAssertEqual(plain.cacheBytes, 0)
        XCTAssertEqual(budget(try config(["mean": true, "sobol_indices": true, "cache_limit_mb": 2])).cacheBytes, 2 << 20)
    }

    func testALimitTooSmallIsRefusedNamingTheKey() throws {
        let directory = NSTemporaryDirectory() + "budget-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try ServerLog(directory: directory, rank: 0, verbosity: 1)
        let limited = budget(try config(["mean": true, "variance": true], server: ["memory_limit_mb": 1]))
        XCTAssertNoThrow(try limited.check(bytes: 1 << 20, ranksOnNode: 1, what: "state", log: log))
        XCTAssertThrowsError(try limited.check(bytes: (1 << 20) + 1, ranksOnNode: 1, what: "field u", log: log)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("field u needs 1.0 MiB per server rank"), text)
            XCTAssertTrue(text.contains("server_config.memory_limit_mb (1 MiB)"), text)
        }
    }
}
