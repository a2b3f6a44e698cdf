import Foundation
import Glibc
import XCTest
@testable import MelissaSchedulers

/// `OpenMPIScheduler` with the real `mpirun` (Open MPI must be installed).
final class OpenMPISchedulerTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        TestSupport.configureMPIEnvironment()
        directory = try TestSupport.makeTemporaryDirectory("openmpi")
    }

    override func tearDown() {
        TestSupport.killLeftovers(mentioning: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeScheduler(_ arguments: [String], logs: Bool = true) throws -> OpenMPIScheduler {
        let logDirectory = directory + "/client_logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        return try OpenMPIScheduler(clientArguments: arguments, workingDirectory: directory,
                                    logDirectory: logs ? logDirectory : nil, terminationGrace: 3)
    }

    /// Polls until every job reported a final state (at most `timeout` seconds).
    private func collect(_ scheduler: OpenMPIScheduler, timeout: Double = 60) -> [JobUpdate] {
        var updates: [JobUpdate] = []
        _ = TestSupport.waitUntil(timeout: timeout) {
            updates += scheduler.poll()
            return scheduler.liveJobCount == 0
        }
        return updates
    }

    func testTwoRankJobTerminatesAndBothRanksRan() throws {
        let script = try TestSupport.writeScript(directory + "/rank.sh",
                                                 "echo \"$OMPI_COMM_WORLD_RANK\" > \"\(directory)/rank.$OMPI_COMM_WORLD_RANK\"")
        let scheduler = try makeScheduler(["-n", "2"])
        let job = scheduler.submit([SimulationSpec(simulationID: 7, script: script)])
        let updates = collect(scheduler)
        XCTAssertEqual(updates, [JobUpdate(job: job, state: .running), JobUpdate(job: job, state: .terminated)])
        XCTAssertEqual(TestSupport.read(directory + "/rank.0"), "0\n")
        XCTAssertEqual(TestSupport.read(directory + "/rank.1"), "1\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/client_logs/simulation.7.out"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/client_logs/simulation.7.err"))
    }

    func testFailingMemberFailsTheGroupWithItsExitCode() throws {
        let good = try TestSupport.writeScript(directory + "/good.sh", "echo fine")
        let bad = try TestSupport.writeScript(directory + "/bad.sh", "echo broken >&2; exit 1")
        let scheduler = try makeScheduler(["-n", "1"])
        let job = scheduler.submit([SimulationSpec(simulationID: 3, script: good),
                                    SimulationSpec(simulationID: 4, script: bad)])
        let updates = collect(scheduler)
        XCTAssertEqual(updates.map(\.state), [.running, .failed])
        let final = try XCTUnwrap(updates.last)
        XCTAssertEqual(final.job, job)
        XCTAssertEqual(final.exitCode, 1)
        XCTAssertEqual(final.reason, "simulation 4 exited with code 1")
        XCTAssertEqual(TestSupport.read(directory + "/client_logs/simulation.3.out"), "fine\n")
        XCTAssertTrue(TestSupport.read(directory + "/client_logs/simulation.4.err").contains("broken"))
    }

    func testScriptInDirectoryWithSpaceAndArgumentWithSpace() throws {
        let spaced = directory + "/with space"
        try FileManager.default.createDirectory(atPath: spaced, withIntermediateDirectories: true)
        let out = directory + "/var.txt"
        let script = try TestSupport.writeScript(spaced + "/echo var.sh", "printf '%s|' \"$MY_VAR\" > \"\(out)\"")
        // -x NAME=VALUE exports to the ranks; the value's spaces must survive (no shell in between).
        setenv("MY_VAR", "unused", 1)
        let scheduler = try makeScheduler(["-n", "1", "-x", "MY_VAR=a b  c"], logs: false)
        _ = scheduler.submit([SimulationSpec(simulationID: 1, script: script)])
        let updates = collect(scheduler)
        XCTAssertEqual(updates.last?.state, .terminated, "\(updates)")
        XCTAssertEqual(TestSupport.read(out), "a b  c|")
    }

    func testMissingScriptFailsWithoutRunning() throws {
        let scheduler = try makeScheduler(["-n", "1"])
        let job = scheduler.submit([SimulationSpec(simulationID: 9, script: directory + "/nope.sh")])
        let updates = collect(scheduler, timeout: 5)
        XCTAssertEqual(updates.count, 1)
        XCTAssertEqual(updates.first?.job, job)
        XCTAssertEqual(updates.first?.state, .failed)
        XCTAssertEqual(updates.first?.exitCode, -1)
        XCTAssertEqual(updates.first?.reason,
                       "simulation 9 could not start: \(directory)/nope.sh does not exist or is not an executable file")
    }

    func testCancelStopsMpirunAndItsRanks() throws {
        let pidFile = directory + "/rank.pid"
        let script = try TestSupport.writeScript(directory + "/sleeper.sh", "echo $$ > \"\(pidFile)\"; sleep 60")
        let scheduler = try makeScheduler(["-n", "1"])
        let job = scheduler.submit([SimulationSpec(simulationID: 2, script: script)])
        XCTAssertTrue(TestSupport.waitUntil(timeout: 30) { !TestSupport.read(pidFile).isEmpty })
        let rank = try XCTUnwrap(pid_t(TestSupport.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(scheduler.poll().map(\.state), [.running])
        scheduler.cancel(job)
        let updates = scheduler.poll()
        XCTAssertEqual(updates.map(\.state), [.failed])
        XCTAssertEqual(scheduler.liveJobCount, 0)
        XCTAssertTrue(TestSupport.waitUntil(timeout: 5) { !TestSupport.isRunning(rank) }, "the MPI rank survived")
        XCTAssertTrue(TestSupport.waitUntil(timeout: 5) { TestSupport.liveProcesses(mentioning: directory).isEmpty })
    }

    func testMissingMpirunIsAClearError() {
        XCTAssertThrowsError(try OpenMPIScheduler(clientArguments: [], workingDirectory: directory, logDirectory: nil,
                                                  searchPath: directory)) { error in
            XCTAssertEqual("\(error)", "mpirun not found (searched PATH=\(directory))")
        }
    }
}
