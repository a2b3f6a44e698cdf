import Foundation
import XCTest
@testable import MelissaProtocol

/// docs/PROTOCOL.md section 10 lists one example frame per message type: they must be the
/// golden bytes, so the document cannot drift from the codecs.
final class SpecExamplesTests: XCTestCase {

    func testExampleFramesInTheSpecAreTheGoldens() throws {
        let spec = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        guard let text = try? String(contentsOf: spec, encoding: .utf8) else {
            throw XCTSkip("docs/PROTOCOL.md not found next to the package")
        }
        guard let start = text.range(of: "## 10. Example frames"),
              let open = text.range(of: "```", range: start.upperBound..<text.endIndex),
              let close = text.range(of: "```", range: open.upperBound..<text.endIndex) else {
            return XCTFail("section 10 with a code block not found")
        }
        // Each line's trailing run of hex tokens, concatenated: the frames as one hex string.
        var frames = ""
        for line in text[open.upperBound..<close.lowerBound].split(separator: "\n") {
            let tokens = line.split(separator: " ")
            let run = tokens.reversed().prefix { $0.allSatisfy(\.isHexDigit) }
            frames += run.reversed().joined()
            frames += "|"   // frames never continue across a line that ends in text
        }
        let hexOnly = frames.split(separator: "|").joined()
        for golden in goldens {
            let digits = golden.bytes.map { String(format: "%02x", $0) }.joined()
            XCTAssertTrue(hexOnly.contains(digits), "\(golden.name) is not among the spec's example frames")
        }
    }
}
