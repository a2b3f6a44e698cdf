import Foundation
import XCTest
@testable import MelissaConfig

final class JSONCommentsTests: XCTestCase {
    private func strip(_ text: String) throws -> String {
        String(decoding: try stripJSONComments(Array(text.utf8)), as: UTF8.self)
    }

    func testLineCommentsBecomeSpacesAndKeepNewlines() throws {
        XCTAssertEqual(try strip("{ // hi\n\"a\": 1 // end"), "{      \n\"a\": 1       ")
    }

    func testBlockCommentsBecomeSpacesAndKeepNewlines() throws {
        XCTAssertEqual(try strip("{/* a\nb */\"a\":1}"), "{    \n    \"a\":1}")
    }

    func testSlashesInsideStringsAreKept() throws {
        let text = #"{"url": "http://example.org/*x*/", "q": "say \"// hi\" \\", "b": 1}"#
        XCTAssertEqual(try strip(text), text)
    }

    func testLengthIsPreservedWithMultibyteComments() throws {
        let text = "{/* é漢 */\"a\": 1}"
        XCTAssertEqual(try stripJSONComments(Array(text.utf8)).count, text.utf8.count)
    }

    func testTrailingCommasAreBlanked() throws {
        XCTAssertEqual(try strip("[1, 2, ]"), "[1, 2  ]")
        XCTAssertEqual(try strip("{\"a\": 1, // c\n}"), "{\"a\": 1      \n}")
        // A lone comma is not a trailing comma: left for the JSON parser to reject.
        XCTAssertEqual(try strip("[,]"), "[,]")
    }

    func testUnterminatedBlockCommentIsAnError() {
        XCTAssertThrowsError(try stripJSONComments(Array("{\n  /* open".utf8))) { error in
            XCTAssertEqual(error as? JSONSyntaxProblem, JSONSyntaxProblem(offset: 4, message: "unterminated block comment (missing '*/')"))
        }
    }

    func testCommentedConfigParses() throws {
        let text = """
        // leading comment
        {
          /* block
             over lines */
          "output_dir": "out//not a comment", // trailing
          "study_options": {"field_names": ["a/*b*/"], "parameter_sweep_size": 1, "nb_parameters": 1,
                            "nb_time_steps": 1, "l_bounds": [0], "u_bounds": [1],},
          "launcher_config": {"scheduler": "openmpi"}, /* inline */
          "client_config": {"executable_command": "x"}
        }
        // final comment without newline
        """
        let config = try XCTUnwrap(parseSuccess(Data(text.utf8)))
        XCTAssertEqual(config.outputDir, "out//not a comment")
        XCTAssertEqual(config.studyOptions.fieldNames, ["a/*b*/"])
    }

    func testUnterminatedBlockCommentReportsItsStart() {
        let error = parseFailure(Data("{\n  \"a\": 1 /* never closed\n".utf8))
        XCTAssertEqual(error, .invalidJSON(source: "config.json", line: 2, column: 10,
                                           message: "unterminated block comment (missing '*/')"))
    }

    func testSyntaxErrorAfterCommentsHasOriginalLocation() {
        // The comment holds multi-byte characters; the column must count characters of the original line.
        let text = "{\n  /* ééé */ \"a\": ]\n}"
        guard case let .invalidJSON(_, line, column, _)? = parseFailure(Data(text.utf8)) else {
            return XCTFail("expected invalid JSON")
        }
        XCTAssertEqual(line, 2)
        XCTAssertEqual(column, 18)
    }
}
