import XCTest
@testable import MelissaStatistics

final class StatisticsPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
