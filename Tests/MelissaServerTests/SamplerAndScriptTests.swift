import Foundation
import XCTest
@testable import MelissaServer

final class SamplerAndScriptTests: XCTestCase {
    func testUniformSamplerIsSeededAndInBounds() {
        var a = UniformSampler(lowerBounds: [0, -5], upperBounds: [1, 5], seed: 42)
        var b = UniformSampler(lowerBounds: [0, -5], upperBounds: [1, 5], seed: 42)
        var c = UniformSampler(lowerBounds: [0, -5], upperBounds: [1, 5], seed: 43)
        let sa = (0..<1000).map { _ in a.next() }
        XCTAssertEqual(sa, (0..<1000).map { _ in b.next() })
        XCTAssertNotEqual(sa, (0..<1000).map { _ in c.next() })
        for p in sa {
            XCTAssertTrue(p[0] >= 0 && p[0] < 1)
            XCTAssertTrue(p[1] >= -5 && p[1] < 5)
        }
        // Uniform: the mean of 1000 draws in [0,1) is 0.5 within ~4 sigma (sigma = 0.0091).
        let mean = sa.map { $0[0] }.reduce(0, +) / 1000
        XCTAssertEqual(mean, 0.5, accuracy: 0.037)
    }

    func testClientScriptQuotesEverything() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("melissa-script-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let template = "\(dir)/client.sh"
        try "#!/bin/sh\nexport MELISSA_SIMU_ID={{SIMU_ID}}\nexport MELISSA_SERVER_ADDRESS={{SERVER_ADDRESS}}\n{{PREPROCESSING}}\nexec {{EXECUTABLE}} {{DEFAULT_ARGS}} {{PARAMETERS}}\n"
            .write(toFile: template, atomically: true, encoding: .utf8)
        let writer = try ClientScriptWriter(templatePath: template, scriptDirectory: "\(dir)/scripts")
        let path = try writer.write(simulationID: 7, parameters: [0.1, -2.5e-300], serverAddress: "tcp://h:1",
                                    studyDirectory: dir, executable: "/bin/echo",
                                    defaultArguments: ["a b", "it's"], preprocessing: ["export X=1"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let words = out.split(separator: " ", omittingEmptySubsequences: false)
        XCTAssertEqual(words.prefix(3), ["a", "b", "it's"])
        // Parameters reach the simulation as text that parses back to the exact sampled doubles.
        XCTAssertEqual(words.dropFirst(3).map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, [0.1, -2.5e-300])
    }
}
