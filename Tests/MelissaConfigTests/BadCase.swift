import Foundation
import XCTest
@testable import MelissaConfig

/// One rejected config: the key path that must be reported and words the message must contain.
struct BadCase {
    let name: String
    let data: Data
    let keyPath: String
    let mentions: [String]

    init(_ name: String, _ edits: [(String, Any?)], path: String, mentions: [String]) {
        self.name = name
        self.data = minimalConfig(edits)
        self.keyPath = path
        self.mentions = mentions
    }

    init(_ name: String, text: String, path: String, mentions: [String]) {
        self.name = name
        self.data = Data(text.utf8)
        self.keyPath = path
        self.mentions = mentions
    }
}

/// Checks that each case is rejected with an issue at its key path whose message has every expected word.
func assertEveryCaseRejected(_ cases: [BadCase], file: StaticString = #filePath, line: UInt = #line) {
    for bad in cases {
        guard let error = parseFailure(bad.data, file: file, line: line) else {
            XCTFail("\(bad.name): accepted", file: file, line: line)
            continue
        }
        guard case .invalid(let configError) = error else {
            XCTFail("\(bad.name): expected schema issues, got \(error)", file: file, line: line)
            continue
        }
        let matching = configError.issues.filter { $0.keyPath == bad.keyPath }
        XCTAssertFalse(matching.isEmpty, "\(bad.name): no issue at '\(bad.keyPath)' in:\n\(error)", file: file, line: line)
        for word in bad.mentions {
            XCTAssertTrue(matching.contains { $0.message.contains(word) },
                          "\(bad.name): no issue at '\(bad.keyPath)' mentions '\(word)' in:\n\(error)",
                          file: file, line: line)
        }
        XCTAssertEqual(error.description.split(separator: "\n").count, configError.issues.count, bad.name,
                       file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix("config.json: "), bad.name, file: file, line: line)
    }
}
