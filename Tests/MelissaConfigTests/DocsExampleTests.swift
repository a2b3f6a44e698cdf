import Foundation
import XCTest
@testable import MelissaConfig

/// Keeps docs/CONFIG.md honest: its annotated example must be a valid config.
final class DocsExampleTests: XCTestCase {
    func testAnnotatedExampleInConfigDocParses() throws {
        let docURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CONFIG.md")
        let doc = try String(contentsOf: docURL, encoding: .utf8)
        let start = try XCTUnwrap(doc.range(of: "```jsonc\n"))
        let end = try XCTUnwrap(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let example = String(doc[start.upperBound..<end.lowerBound])
        let config = try StudyConfig.parse(data: Data(example.utf8), source: "CONFIG.md example")
        XCTAssertEqual(config.launcherConfig.jobLimit, 5)
        XCTAssertEqual(config.clientConfig.executableCommand, "./bin/heatc")
        XCTAssertEqual(config.serverConfig.advertisedHost, "node01.cluster")
        // The example is a Sobol study: 100 groups of 2 + 2 simulations.
        XCTAssertTrue(config.saConfig.sobolIndices)
        XCTAssertEqual(config.simulationCount, 400)
        XCTAssertEqual(config.jobGroupSize, 4)
        XCTAssertEqual(config.studyOptions.sampler, .halton)
        XCTAssertEqual(config.saConfig.covariancePairs, [FieldPair("temperature", "pressure")])
        XCTAssertEqual(config.serverConfig.memoryLimitMB, 8192)
    }

    /// Every key the validator accepts is documented in docs/CONFIG.md (as `key` in a table row).
    func testEveryAcceptedKeyIsDocumented() throws {
        let docURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CONFIG.md")
        let doc = try String(contentsOf: docURL, encoding: .utf8)
        for (section, keys) in ConfigSchema.sections {
            for key in keys {
                XCTAssertTrue(doc.contains("| `\(key)` |"), "\(section.isEmpty ? "top level" : section).\(key) is not documented")
            }
        }
    }
}
