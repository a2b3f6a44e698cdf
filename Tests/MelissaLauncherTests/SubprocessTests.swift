import Foundation
import Glibc
import XCTest
@testable import MelissaSchedulers

/// `Subprocess` with real processes: exit codes, group kill, no leftovers, redirection.
final class SubprocessTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try TestSupport.makeTemporaryDirectory("subprocess")
    }

    override func tearDown() {
        TestSupport.killLeftovers(mentioning: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testNonZeroExitIsReportedWithItsCode() throws {
        let child = try Subprocess.spawn(SubprocessOptions(executable: "/bin/sh", arguments: ["-c", "exit 3"]))
        let status = child.wait(timeout: 10)
        XCTAssertEqual(status, .exited(code: 3))
        XCTAssertEqual(status?.isSuccess, false)
        XCTAssertEqual(status?.description, "exited with code 3")
    }

    func testGroupTerminationKillsGrandchildren() throws {
        // sh forks sleep and waits: the sleep is a grandchild of the test, in the child's group.
        let pidFile = directory + "/sleep.pid"
        let child = try Subprocess.spawn(SubprocessOptions(
            executable: "/bin/sh", arguments: ["-c", "sleep 30 & echo $! > \(pidFile); wait", directory]))
        XCTAssertTrue(TestSupport.waitUntil(timeout: 10) { !TestSupport.read(pidFile).isEmpty })
        let grandchild = try XCTUnwrap(pid_t(TestSupport.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(TestSupport.isRunning(grandchild))
        XCTAssertEqual(ProcessTable.entry(grandchild)?.group, child.pid, "the grandchild shares the child's new group")
        XCTAssertNotEqual(child.pid, getpgrp(), "the child leads a process group of its own")

        let started = MonotonicClock.now()
        let status = child.terminate(grace: 5)
        XCTAssertEqual(status, .signaled(signal: SIGTERM))
        XCTAssertTrue(status.description.hasPrefix("killed by signal 15"), status.description)
        XCTAssertLessThan(MonotonicClock.now() - started, 4, "SIGTERM is enough: no need to wait for the grace period")
        XCTAssertTrue(TestSupport.waitUntil(timeout: 5) { !TestSupport.isRunning(grandchild) },
                      "sleep 30 survived the group kill")
    }

    func testSigtermIgnoringChildIsKilledAfterGrace() throws {
        let child = try Subprocess.spawn(SubprocessOptions(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; while :; do sleep 0.1; done"]))
        usleep(200_000)
        let started = MonotonicClock.now()
        let status = child.terminate(grace: 1)
        XCTAssertEqual(status, .signaled(signal: SIGKILL))
        XCTAssertGreaterThanOrEqual(MonotonicClock.now() - started, 0.9)
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: "trap '' TERM").isEmpty)
    }

    func testLeftoverBackgroundProcessIsKilledWhenTheLeaderExits() throws {
        let pidFile = directory + "/bg.pid"
        let child = try Subprocess.spawn(SubprocessOptions(
            executable: "/bin/sh", arguments: ["-c", "sleep 30 & echo $! > \(pidFile); exit 0"]))
        XCTAssertEqual(child.wait(timeout: 10), .exited(code: 0))
        let background = try XCTUnwrap(pid_t(TestSupport.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(TestSupport.waitUntil(timeout: 5) { !TestSupport.isRunning(background) })
    }

    func testOutputRedirectionWorkingDirectoryAndEnvironment() throws {
        let out = directory + "/out.txt"
        let err = directory + "/err.txt"
        let child = try Subprocess.spawn(SubprocessOptions(
            executable: "/bin/sh",
            arguments: ["-c", "pwd; echo \"$MELISSA_TEST_VALUE\"; echo oops >&2; cat"],
            environmentOverrides: ["MELISSA_TEST_VALUE": "a b  c"],
            workingDirectory: directory, standardOutput: .file(out), standardError: .file(err)))
        // `cat` reads stdin: /dev/null, so it ends at once instead of hanging.
        XCTAssertEqual(child.wait(timeout: 10), .exited(code: 0))
        XCTAssertEqual(TestSupport.read(out), "\(directory)\na b  c\n")
        XCTAssertEqual(TestSupport.read(err), "oops\n")
    }

    func testSpawnErrorsAreTyped() {
        XCTAssertThrowsError(try Subprocess.spawn(SubprocessOptions(executable: directory + "/missing"))) { error in
            guard case SchedulerError.spawnFailed(_, _, ENOENT) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Subprocess.spawn(SubprocessOptions(
            executable: "/bin/true", standardOutput: .file(directory + "/no/such/dir/out")))) { error in
            guard case SchedulerError.cannotOpen = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("no/such/dir/out"))
        }
    }

    func testExecutableSearch() throws {
        XCTAssertEqual(try ExecutableSearch.find("sh", searchPath: "/nonexistent:/bin"), "/bin/sh")
        XCTAssertThrowsError(try ExecutableSearch.find("mpirun", searchPath: "/nonexistent")) { error in
            XCTAssertTrue("\(error)".contains("mpirun not found"), "\(error)")
        }
    }

    func testProcStatParsingSurvivesParenthesesInNames() {
        let line = "1234 (weird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10"
        let entry = ProcessTable.parseStat(line)
        XCTAssertEqual(entry?.pid, 1234)
        XCTAssertEqual(entry?.parent, 1)
        XCTAssertEqual(entry?.group, 1234)
        XCTAssertEqual(entry?.startTime, 98765)
    }
}
