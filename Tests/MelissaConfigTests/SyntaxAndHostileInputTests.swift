import Foundation
import XCTest
@testable import MelissaConfig

final class SyntaxAndHostileInputTests: XCTestCase {
    func testTruncatedJSONReportsEndOfFileWithLineAndColumn() {
        let text = "{\n  \"output_dir\": \"out\",\n  \"study_options\": {\"seed\": 1"
        let error = parseFailure(Data(text.utf8))
        guard case let .invalidJSON(source, line, column, message)? = error else {
            return XCTFail("expected invalid JSON, got \(String(describing: error))")
        }
        XCTAssertEqual(source, "config.json")
        XCTAssertEqual(line, 3)
        XCTAssertEqual(column, 30)
        XCTAssertTrue(message.contains("unexpected end of file"), message)
        XCTAssertTrue(message.contains("'{' at line 3, column 20 is never closed"), message)
        XCTAssertEqual(error?.description,
                       "config.json:3:30: invalid JSON: " + message)
    }

    func testMisplacedTokenReportsLineAndColumnFromOffset() {
        let text = "{\n  \"output_dir\": \"out\",\n  \"seed\": ]\n}"
        guard case let .invalidJSON(_, line, column, message)? = parseFailure(Data(text.utf8)) else {
            return XCTFail("expected invalid JSON")
        }
        XCTAssertEqual(line, 3)
        XCTAssertEqual(column, 11)
        XCTAssertFalse(message.isEmpty)
    }

    func testMissingCommaIsLocated() {
        let text = "{\"a\": \"x\"\n \"b\": 1}"
        guard case let .invalidJSON(_, line, column, _)? = parseFailure(Data(text.utf8)) else {
            return XCTFail("expected invalid JSON")
        }
        XCTAssertEqual(line, 2)
        XCTAssertEqual(column, 2)
    }

    func testEmptyAndCommentOnlyFiles() {
        for text in ["", "   \n", "// nothing\n/* here */"] {
            guard case let .invalidJSON(_, _, _, message)? = parseFailure(Data(text.utf8)) else {
                XCTFail("expected invalid JSON for \(text.debugDescription)")
                continue
            }
            XCTAssertTrue(message.contains("no JSON value"), message)
        }
    }

    func testNumberTooLargeForDouble() {
        let text = "{\n  \"seed\": 1e400}"
        guard case let .invalidJSON(_, line, column, message)? = parseFailure(Data(text.utf8)) else {
            return XCTFail("expected invalid JSON")
        }
        XCTAssertEqual(line, 2)
        XCTAssertEqual(column, 11)
        XCTAssertTrue(message.contains("1e400"), message)
    }

    func testNonUTF8IsRefusedWithOffset() {
        var data = Data("{\n  \"output_dir\": \"".utf8)
        data.append(contentsOf: [0x66, 0xFF, 0x67])
        data.append(Data("\"}".utf8))
        let error = parseFailure(data)
        XCTAssertEqual(error, .invalidUTF8(source: "config.json", offset: 20, line: 2, column: 19))
        XCTAssertEqual(error?.description,
                       "config.json:2:19: invalid UTF-8 at byte offset 20; the config must be UTF-8 text")
    }

    func testUTF8ValidatorRejectsOverlongsSurrogatesAndTruncation() {
        XCTAssertNil(firstInvalidUTF8Offset(Array("aé漢😀".utf8)))
        XCTAssertEqual(firstInvalidUTF8Offset([0x61, 0xC0, 0x80]), 1)         // overlong NUL
        XCTAssertEqual(firstInvalidUTF8Offset([0xE0, 0x80, 0x80]), 0)         // overlong
        XCTAssertEqual(firstInvalidUTF8Offset([0xED, 0xA0, 0x80]), 0)         // surrogate
        XCTAssertEqual(firstInvalidUTF8Offset([0xF4, 0x90, 0x80, 0x80]), 0)   // above U+10FFFF
        XCTAssertEqual(firstInvalidUTF8Offset([0x61, 0x62, 0xE6, 0xBC]), 2)   // truncated
        XCTAssertEqual(firstInvalidUTF8Offset([0x80]), 0)                     // lone continuation
    }

    func testUTF16IsRefusedAsNonUTF8() {
        var data = Data([0xFF, 0xFE])
        data.append("{}".data(using: .utf16LittleEndian) ?? Data())
        guard case .invalidUTF8(_, let offset, _, _)? = parseFailure(data) else {
            return XCTFail("expected invalid UTF-8")
        }
        XCTAssertEqual(offset, 0)
    }

    func testNULByteIsRefusedWithLocation() {
        let error = parseFailure(Data([0x7B, 0x00, 0x7D]))   // "{\0}": would fool encoding detection
        XCTAssertEqual(error, .invalidJSON(source: "config.json", line: 1, column: 2, message: "unexpected NUL byte"))
    }

    func testOversizedDataIsRefused() {
        let data = Data(repeating: 0x20, count: StudyConfig.maximumFileSize + 1)
        let error = parseFailure(data)
        XCTAssertEqual(error, .tooLarge(source: "config.json", limit: 16 * 1024 * 1024))
        XCTAssertTrue(error?.description.contains("config too large") ?? false)
    }

    func testDeeplyNestedGarbageDoesNotCrash() {
        for depth in [600, 100_000] {
            let open = String(repeating: "[", count: depth)
            for text in [open, open + String(repeating: "]", count: depth), "{\"a\":" + open] {
                guard case .invalidJSON? = parseFailure(Data(text.utf8)) else {
                    XCTFail("expected invalid JSON at depth \(depth)")
                    continue
                }
            }
        }
        // Nesting JSONSerialization accepts, under an unknown key: reported, not traversed.
        let nested = String(repeating: "[", count: 400) + String(repeating: "]", count: 400)
        let text = minimalConfigText.replacingOccurrences(of: "\"output_dir\": \"out\",",
                                                          with: "\"output_dir\": \"out\", \"junk\": \(nested),")
        XCTAssertEqual(parseFailure(Data(text.utf8))?.issues.map(\.keyPath), ["junk"])
    }

    func testScannerFindsProblemsItself() {
        func problem(_ text: String) -> JSONSyntaxProblem? {
            JSONSyntaxScanner(bytes: Array(text.utf8), original: Array(text.utf8)).firstProblem()
        }
        XCTAssertNil(problem("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"], \"b\": {}}"))
        XCTAssertEqual(problem("{\"a\" 1}")?.offset, 5)
        XCTAssertEqual(problem("[01]")?.offset, 1)
        XCTAssertEqual(problem("[1] 2")?.offset, 4)
        XCTAssertEqual(problem("\"abc")?.offset, 4)
        XCTAssertEqual(problem("[\"a\\q\"]")?.offset, 3)
        XCTAssertEqual(problem("{\"a\": tru}")?.offset, 6)
        var shallow = JSONSyntaxScanner(bytes: Array("[[[[1]]]]".utf8), original: Array("[[[[1]]]]".utf8))
        shallow.maximumDepth = 3
        XCTAssertEqual(shallow.firstProblem()?.offset, 3)
    }

    func testHugeNumberOfIssuesIsCapped() {
        let many = Array(repeating: true, count: 5000)
        guard let error = parseFailure(minimalConfig([("client_config.command_default_args", many)])) else { return }
        let issues = error.issues
        XCTAssertEqual(issues.count, 1001)
        XCTAssertEqual(issues.first?.keyPath, "")
        XCTAssertTrue(issues.first?.message.contains("4000 more issues") ?? false)
    }

    func testHugeUnknownKeyIsTruncatedInMessages() {
        let key = String(repeating: "k", count: 100_000)
        guard let error = parseFailure(minimalConfig([(key, 1)])) else { return }
        XCTAssertLessThan(error.description.utf8.count, 2000)
    }

    func testHostileStringsCannotBreakLines() {
        guard let error = parseFailure(minimalConfig([("launcher_config.scheduler", "x\n\u{202E}evil\r")])) else {
            return
        }
        XCTAssertEqual(error.description.split(separator: "\n").count, 1)
        XCTAssertTrue(error.description.contains(#""x\n\u202Eevil\r""#), error.description)
    }
}
