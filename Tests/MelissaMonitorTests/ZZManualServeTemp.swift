import Foundation
import XCTest
@testable import MelissaMonitor

final class ZZManualServeTemp: XCTestCase {
    func testServeForBrowser() throws {
        guard ProcessInfo.processInfo.environment["MONITOR_MANUAL"] != nil else { return }
        var status = Fixtures.status
        status.jobs[1].reason = Fixtures.hostileReason
        status.jobs.append(.init(group: 4, simulations: [8, 9, 10, 11], state: "running", batchJob: "12346.pbs"))
        status.history = (0..<120).map { i in .init(t: Double(i), bytesReceived: UInt64(i * i * 1000 + i * 50_000), finished: i / 30) }
        let board = StatusBoard(status)
        let server = try MonitorServer(board: board, port: 18555, token: "tok-123")
        _ = try server.start()
        for step in 0..<60 {
            Thread.sleep(forTimeInterval: 0.5)
            board.update {
                $0.elapsedSeconds += 0.5
                $0.simulations.finished = min(10, 4 + step / 10)
                $0.state = "running-step-\(step)"
                let t = Double(120 + step)
                $0.record(sample: .init(t: t, bytesReceived: UInt64(t * t * 1000 + t * 50_000), finished: 4))
            }
        }
        server.stop()
    }
}
