import XCTest
@testable import MelissaReport

final class ReportPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
