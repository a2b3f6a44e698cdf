import XCTest
@testable import MelissaNetCDF

final class NetCDFPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
