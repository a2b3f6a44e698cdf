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

    func testCheckpointKillNamesRankCheckpointStageAndServerRun() throws {
        XCTAssertEqual(try CheckpointKill.parse(nil), [])
        XCTAssertEqual(try CheckpointKill.parse(""), [])
        XCTAssertEqual(try CheckpointKill.parse("1:3"), [CheckpointKill(rank: 1, sequence: 3, stage: .halfWritten, restart: 0)])
        XCTAssertEqual(try CheckpointKill.parse("0:2:renames,1:4@1,1:4:half@2"), [
            CheckpointKill(rank: 0, sequence: 2, stage: .betweenRenames, restart: 0),
            CheckpointKill(rank: 1, sequence: 4, stage: .halfWritten, restart: 1),
            CheckpointKill(rank: 1, sequence: 4, stage: .halfWritten, restart: 2),
        ])
        for bad in ["1", "x:2", "1:0", "-1:2", "1:2:end", "1:2:half:x", ":2", "1:2@", "1:2@-1", "1:2@1@2", "1:2,"] {
            XCTAssertThrowsError(try CheckpointKill.parse(bad), bad) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("MELISSA_FAULT_KILL_IN_CHECKPOINT"), text)
                XCTAssertTrue(text.contains("'\(bad)'"), text)
            }
        }
    }
}
