import Foundation
import XCTest
@testable import MelissaConfig

final class JSONValueTests: XCTestCase {
    private func values(_ json: String) -> [JSONValue] {
        let array = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [Any] ?? []
        return array.map(JSONValue.init)
    }

    func testBooleansAreNotNumbersAndNumbersAreNotBooleans() {
        let parsed = values("[true, false, 1, 0, 2.5]")
        XCTAssertEqual(parsed.count, 5)
        guard case .bool(true) = parsed[0], case .bool(false) = parsed[1] else {
            return XCTFail("true/false should be booleans: \(parsed)")
        }
        for value in parsed[2...] {
            guard case .number = value else { return XCTFail("\(value) should be a number") }
        }
    }

    func testOtherKinds() {
        let parsed = values("[\"s\", null, [1], {\"a\": 1}]")
        guard case .string("s") = parsed[0], case .null = parsed[1], case .array = parsed[2],
              case .object = parsed[3] else {
            return XCTFail("unexpected kinds: \(parsed)")
        }
    }

    func testIntegerClassification() {
        func classify(_ json: String) -> String {
            guard case .number(let n) = values("[\(json)]").first else { return "not a number" }
            switch JSONValue.classifyInteger(n) {
            case .integer(let value): return "int \(value)"
            case .fractional: return "fractional"
            case .outOfRange: return "out of range"
            }
        }
        XCTAssertEqual(classify("7"), "int 7")
        XCTAssertEqual(classify("-7"), "int -7")
        XCTAssertEqual(classify("3.0"), "int 3")
        XCTAssertEqual(classify("1e2"), "int 100")
        XCTAssertEqual(classify("2.5"), "fractional")
        XCTAssertEqual(classify("9223372036854775807"), "int 9223372036854775807")
        XCTAssertEqual(classify("9223372036854775808"), "out of range")
        XCTAssertEqual(classify("18446744073709551615"), "out of range")
        XCTAssertEqual(classify("99999999999999999999"), "out of range")
        XCTAssertEqual(classify("-99999999999999999999"), "out of range")
        XCTAssertEqual(classify("1e300"), "out of range")
    }
}
