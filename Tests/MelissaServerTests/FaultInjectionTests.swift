import XCTest
@testable import MelissaServer

final class FaultInjectionTests: XCTestCase {
    func testIngestDelayIsMicrosecondsAndUnsetIsZero() throws {
        XCTAssertEqual(try BaseServer.ingestDelay(nil), 0)
        XCTAssertEqual(try BaseServer.ingestDelay(""), 0)
        XCTAssertEqual(try BaseServer.ingestDelay("3000"), 3000)
        XCTAssertEqual(try BaseServer.ingestDelay("10000000"), 10_000_000)
    }

    func testAMalformedIngestDelayIsRefusedWithTheVariableAndValueNamed() {
        for bad in ["abc", "-1", "3 ms", "1.5", "10000001", "99999999999"] {
            XCTAssertThrowsError(try BaseServer.ingestDelay(bad), bad) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("MELISSA_FAULT_INGEST_DELAY_US"), text)
                XCTAssertTrue(text.contains("'\(bad)'"), text)
            }
        }
    }

    func testCheckpointKillNamesRankCheckpointAndStage() throws {
        XCTAssertNil(try BaseServer.checkpointKill(nil))
        XCTAssertNil(try BaseServer.checkpointKill(""))
        let half = try XCTUnwrap(BaseServer.checkpointKill("1:3"))
        XCTAssertEqual(half.rank, 1)
        XCTAssertEqual(half.sequence, 3)
        XCTAssertEqual(half.stage, .halfWritten)
        XCTAssertEqual(try BaseServer.checkpointKill("0:2:renames")?.stage, .betweenRenames)
        for bad in ["1", "x:2", "1:0", "-1:2", "1:2:end", "1:2:half:x", ":2"] {
            XCTAssertThrowsError(try BaseServer.checkpointKill(bad), bad) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("MELISSA_FAULT_KILL_IN_CHECKPOINT"), text)
                XCTAssertTrue(text.contains("'\(bad)'"), text)
            }
        }
    }
}
