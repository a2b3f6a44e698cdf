import XCTest
@testable import MelissaCheckpoint

final class CheckpointFormatTests: XCTestCase {
    func testVersionIsOne() { XCTAssertEqual(CheckpointFormat.version, 1) }
}
