import Foundation
import Glibc
import MelissaProtocol
import MelissaTransport
import XCTest
@testable import MelissaSchedulers

/// The built launcher against a fake server: a sleeping script stands in for the
/// melissa-server process, and the test itself speaks the server's side of the control
/// protocol on a DEALER socket. Jobs are real mpirun runs of real scripts.
final class LauncherEndToEndTests: XCTestCase {
    private var harness: LauncherHarness?

    override func setUpWithError() throws {
        harness = try LauncherHarness(label: "e2e")
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    /// Starts the launcher, connects the fake server socket and completes the hello/welcome exchange.
    private func startAndConnect(_ harness: LauncherHarness) throws -> (LauncherProcess, FakeServerSocket, String) {
        let launcher = try harness.start()
        let endpoint = try launcher.endpoint()
        let server = try FakeServerSocket(endpoint: endpoint, study: harness.studyDirectory)
        try server.hello()
        XCTAssertEqual(try server.next(), .welcome(session: server.session))
        return (launcher, server, endpoint)
    }

    private func jobScript(_ harness: LauncherHarness, _ name: String, _ body: String) throws -> String {
        try TestSupport.writeScript(harness.directory + "/" + name, body)
    }

    func testStudyRunsJobsWithinTheLimitIgnoresDuplicatesRunsNewRequestsAndEndsWithZero() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig(launcher: ["job_limit": 1])
        let ran = harness.directory + "/ran"
        let slow = try jobScript(harness, "slow.sh", "sleep 1.5; echo \"sim $1 rank $OMPI_COMM_WORLD_RANK\" >> \"\(ran).0\"")
        let fast = try jobScript(harness, "fast.sh", "echo done >> \"\(ran).1\"")
        let (launcher, server, endpoint) = try startAndConnect(harness)

        // Garbage must be logged and dropped, changing nothing.
        try server.sendRaw([0xde, 0xad, 0xbe, 0xef, 0, 1, 0, 5])
        try server.requestJob(group: 0, members: [JobMember(simulationID: 0, script: slow)])
        let first1 = try server.requestJob(group: 1, members: [JobMember(simulationID: 1, script: fast)])
        XCTAssertEqual(try server.next(), .jobState(groupID: 0, state: .running, exitCode: 0, reason: ""))
        // A duplicate while running: its current state comes back, nothing is submitted again.
        try server.requestJob(group: 0, members: [JobMember(simulationID: 0, script: slow)])
        XCTAssertEqual(try server.next(), .jobState(groupID: 0, state: .running, exitCode: 0, reason: ""))
        // job_limit 1: group 1 starts only once group 0 is over.
        XCTAssertEqual(try server.next(), .jobState(groupID: 0, state: .terminated, exitCode: 0, reason: ""))
        XCTAssertEqual(try server.next(), .jobState(groupID: 1, state: .running, exitCode: 0, reason: ""))
        XCTAssertEqual(try server.next(), .jobState(groupID: 1, state: .terminated, exitCode: 0, reason: ""))
        // A repeated request number after the end: its first answer again, nothing run.
        try server.send(.jobRequest(session: server.session, request: first1, groupID: 1,
                                    members: [JobMember(simulationID: 1, script: fast)]))
        guard case .requestDone(_, first1, .accepted, _) = try server.answer(to: first1) else {
            return XCTFail("a repeated request gets its stored answer")
        }
        // A new request for the ended group (the server still misses data of it): a new job.
        let rerun = try server.requestJob(group: 1, members: [JobMember(simulationID: 1, script: fast)])
        guard case .requestDone(_, rerun, .accepted, _) = try server.answer(to: rerun) else {
            return XCTFail("a new request for a group whose job ended must run it again")
        }
        XCTAssertEqual(try server.next(), .jobState(groupID: 1, state: .running, exitCode: 0, reason: ""))
        XCTAssertEqual(try server.next(), .jobState(groupID: 1, state: .terminated, exitCode: 0, reason: ""))

        try server.send(.progress(finished: 2, failed: 0, total: 2, bytesReceived: 1024))
        try server.send(.studyEnd(exitCode: 0, finished: 2, failed: 0, summary: "2/2 simulations finished"))
        try harness.stopFakeServer(exitCode: 0)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 0, "stdout: \(launcher.stdout)\nstderr: \(launcher.stderr)")

        XCTAssertEqual(TestSupport.read(ran + ".0"), "sim  rank 0\n", "group 0 must run exactly once")
        XCTAssertEqual(TestSupport.read(ran + ".1"), "done\ndone\n", "group 1 runs once per new request")
        let out = launcher.stdout
        XCTAssertTrue(out.contains("dropped a malformed message from the server: bad magic"), out)
        XCTAssertTrue(out.contains("server up: 2 ranks, clients connect to tcp://fake-host:2003"), out)
        XCTAssertTrue(out.contains("group 0 was already requested and is running; not submitting it again"), out)
        XCTAssertTrue(out.contains("2/2 done, 0 running, 0 failed"), out)
        XCTAssertTrue(out.contains("study ended (server exit code 0): 2/2 simulations finished"), out)
        XCTAssertTrue(launcher.stderr.isEmpty, launcher.stderr)

        // What the server was given, and what the study directory holds.
        let serverOut = TestSupport.read(harness.studyDirectory + "/server.out")
        XCTAssertTrue(serverOut.contains("address=\(endpoint)\n"), serverOut)
        XCTAssertTrue(serverOut.contains("study=\(harness.studyDirectory)\n"), serverOut)
        XCTAssertTrue(serverOut.contains("config=\(harness.configPath)\n"), serverOut)
        XCTAssertEqual(TestSupport.read(harness.studyDirectory + "/config.json"), TestSupport.read(harness.configPath))
        for file in ["server.err", "client_logs/simulation.0.out", "client_logs/simulation.1.err"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: harness.studyDirectory + "/" + file), file)
        }
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty)
    }

    /// Exactly once: the server's connection drops after a job request, it reconnects (a new
    /// socket, same session) and repeats the request; it gets the stored answer and one job.
    func testARequestRepeatedAfterAReconnectGetsTheStoredAnswerAndOneJob() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let ran = harness.directory + "/ran"
        let once = try jobScript(harness, "once.sh", "echo ran >> \"\(ran)\"; sleep 1")
        let (launcher, first, endpoint) = try startAndConnect(harness)
        let members = [JobMember(simulationID: 0, script: once)]
        let request = try first.requestJob(group: 0, members: members)
        let answer = try first.answer(to: request)
        XCTAssertEqual(answer, .requestDone(session: first.session, request: request, outcome: .accepted, detail: "queued"))

        // The connection drops; the same server comes back on a new socket and repeats itself.
        let again = try FakeServerSocket(endpoint: endpoint, session: first.session, study: harness.studyDirectory)
        try again.hello()
        XCTAssertEqual(try again.next(), .welcome(session: first.session))
        try again.send(.jobRequest(session: first.session, request: request, groupID: 0, members: members))
        XCTAssertEqual(try again.answer(to: request), answer, "a repeat gets the stored answer, word for word")
        // A new request for the running group is a duplicate, settled as such.
        let duplicate = try again.requestJob(group: 0, members: members)
        XCTAssertEqual(duplicate, 1, "this socket numbers from 1 too: request 1 of the session, repeated")
        let next = try again.requestJob(group: 0, members: members)
        guard case .requestDone(_, next, .duplicate, _) = try again.answer(to: next) else {
            return XCTFail("a second request for a running group must be settled as a duplicate")
        }
        // A request from another session is not acted on.
        try again.send(.jobRequest(session: first.session &+ 1, request: 99, groupID: 5, members: members))
        // Ping both ways: the launcher answers the server's ping.
        try again.send(.ping)
        XCTAssertTrue(TestSupport.waitUntil(timeout: 10) { TestSupport.read(ran) == "ran\n" })
        while true {
            let message = try again.next()
            if message == .jobState(groupID: 0, state: .terminated, exitCode: 0, reason: "") { break }
        }
        try again.send(.studyEnd(exitCode: 0, finished: 1, failed: 0, summary: "done"))
        try harness.stopFakeServer(exitCode: 0)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 0, launcher.stdout + launcher.stderr)
        XCTAssertEqual(TestSupport.read(ran), "ran\n", "the group ran exactly once")
        let out = launcher.stdout + launcher.stderr
        XCTAssertTrue(out.contains("server reconnected (same session); welcomed again"), out)
        XCTAssertTrue(out.contains("request 1 repeated (a reconnect or a lost answer): answered again, nothing done twice"), out)
        XCTAssertTrue(out.contains("dropped request 99 of session"), out)
        XCTAssertFalse(out.contains("group 5"), "a request of another session must not reach the book")
    }

    /// Only the study's server key gets in: a peer with fresh keys of its own says hello and
    /// asks for a job; it hears nothing back and its job never reaches the scheduler.
    func testAPeerWithoutTheStudysKeyIsRefusedAndItsJobRequestNeverRuns() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let ran = harness.directory + "/stranger-ran"
        let script = try jobScript(harness, "stranger.sh", "echo ran > \"\(ran)\"")
        let launcher = try harness.start()
        let endpoint = try launcher.endpoint()
        // The keys directory and files are private to the study's user.
        for path in [StudyKeys.directory(in: harness.studyDirectory), StudyKeys.path(.server, in: harness.studyDirectory)] {
            var info = stat()
            XCTAssertEqual(stat(path, &info), 0)
            XCTAssertEqual(UInt32(info.st_mode) & 0o077, 0, path)
        }
        let stranger = try FakeServerSocket(endpoint: endpoint, study: harness.studyDirectory, keys: try CurveKeyPair.generate())
        try stranger.hello()
        try stranger.requestJob(group: 0, members: [JobMember(simulationID: 0, script: script)])
        XCTAssertThrowsError(try stranger.next(timeout: 2), "a stranger must hear nothing")
        // The real server (the study's key) still gets in and is welcomed.
        try harness.runEmptyStudy(at: endpoint)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 0, launcher.stdout + launcher.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ran), "the stranger's job ran")
        let out = launcher.stdout
        XCTAssertFalse(out.contains("group 0"), out)
        XCTAssertTrue(out.contains("connection(s) without the study's key (last: CURVE peer from 127.0.0.1 with an unknown key (control socket))"), out)
    }

    func testFailedJobIsForwardedAndServerCrashExitsOne() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let failing = try jobScript(harness, "fail.sh", "echo 'client broke' >&2; exit 1")
        let (launcher, server, _) = try startAndConnect(harness)

        try server.requestJob(group: 3, members: [JobMember(simulationID: 30, script: failing)])
        XCTAssertEqual(try server.next(), .jobState(groupID: 3, state: .running, exitCode: 0, reason: ""))
        XCTAssertEqual(try server.next(), .jobState(groupID: 3, state: .failed, exitCode: 1,
                                                    reason: "simulation 30 exited with code 1"))
        XCTAssertTrue(TestSupport.read(harness.studyDirectory + "/client_logs/simulation.30.err").contains("client broke"))

        // The server process dies without a studyEnd.
        try harness.stopFakeServer(exitCode: 3)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 1)
        let err = launcher.stderr
        XCTAssertTrue(err.contains("server exited with code 3 before the study ended; see \(harness.studyDirectory)/server.err"), err)
        XCTAssertTrue(err.contains("fake server giving up"), "server.err's tail must be quoted: \(err)")
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty)
    }

    func testSigtermStopsTheServerCancelsJobsAndExits143() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let pidFile = harness.directory + "/job.pid"
        let sleeper = try jobScript(harness, "sleeper.sh", "echo $$ > \"\(pidFile)\"; sleep 60")
        let (launcher, server, _) = try startAndConnect(harness)

        try server.requestJob(group: 0, members: [JobMember(simulationID: 0, script: sleeper)])
        XCTAssertEqual(try server.next(), .jobState(groupID: 0, state: .running, exitCode: 0, reason: ""))
        XCTAssertTrue(TestSupport.waitUntil(timeout: 20) { !TestSupport.read(pidFile).isEmpty })
        let rank = try XCTUnwrap(pid_t(TestSupport.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(TestSupport.isRunning(rank))

        let started = MonotonicClock.now()
        kill(launcher.process.pid, SIGTERM)
        XCTAssertEqual(try server.next(), .stop(reason: "launcher received SIGTERM"))
        // A real server ends its study and exits; the fake one just exits.
        try server.send(.studyEnd(exitCode: 1, finished: 0, failed: 0, summary: "stopped by the launcher"))
        try harness.stopFakeServer(exitCode: 0)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 143, "stdout: \(launcher.stdout)\nstderr: \(launcher.stderr)")
        XCTAssertLessThan(MonotonicClock.now() - started, 8)
        XCTAssertFalse(TestSupport.isRunning(rank), "the job's rank survived the launcher")
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty)
    }

    func testFailedStudyExitsOne() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let (launcher, server, _) = try startAndConnect(harness)
        try server.send(.studyEnd(exitCode: 1, finished: 1, failed: 1, summary: "1/2 simulations finished, 1 failed"))
        try harness.stopFakeServer(exitCode: 1)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 1)
        XCTAssertTrue(launcher.stdout.contains("study ended (server exit code 1): 1/2 simulations finished, 1 failed"),
                      launcher.stdout)
        XCTAssertFalse(launcher.stderr.contains("before the study ended"), "a server exiting after studyEnd is no crash")
    }

    func testSigintBeforeTheServerConnectsExits130AndKillsTheServer() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig()
        let launcher = try harness.start()
        _ = try launcher.endpoint()
        XCTAssertTrue(TestSupport.waitUntil(timeout: 20) {
            TestSupport.read(harness.studyDirectory + "/server.out").contains("address=")
        })
        kill(launcher.process.pid, SIGINT)
        XCTAssertEqual(launcher.exitCode(timeout: 15), 130)
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty,
                      "the fake server outlived the launcher")
    }

    func testSilentServerIsDeclaredDeadAfterServerTimeout() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig(launcher: ["server_timeout": 1.5, "fault_tolerance": false])
        let (launcher, _, _) = try startAndConnect(harness)
        let started = MonotonicClock.now()
        XCTAssertEqual(launcher.exitCode(timeout: 20), 1)
        XCTAssertLessThan(MonotonicClock.now() - started, 10)
        XCTAssertTrue(launcher.stderr.contains("no message from the server for"), launcher.stderr)
        // The log says what the server last did.
        XCTAssertTrue(launcher.stderr.contains("its last message, "), launcher.stderr)
        XCTAssertTrue(launcher.stderr.contains(" s ago, was hello"), launcher.stderr)
        XCTAssertTrue(launcher.stderr.contains("launcher_config.fault_tolerance is false"), launcher.stderr)
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty)
    }

    func testDeadServerIsRestartedInRestartModeUpToTheLimit() throws {
        let harness = try XCTUnwrap(harness)
        try harness.writeConfig(launcher: ["server_timeout": 1.5, "max_server_restarts": 1])
        let (launcher, server, _) = try startAndConnect(harness)
        // The fake server never answers after its hello: dead after two ping periods, once
        // restarted (in restart mode), then given up.
        XCTAssertTrue(TestSupport.waitUntil(timeout: 30) { launcher.stdout.contains("server restarted") }, launcher.stdout)
        // The new server's hello (from this socket: the first one is gone), then silence again.
        try server.hello()
        XCTAssertEqual(launcher.exitCode(timeout: 60), 1, launcher.stdout + launcher.stderr)
        let out = launcher.stdout
        XCTAssertTrue(out.contains("server restarted (1/1) after: no message from the server"), out)
        XCTAssertTrue(launcher.stderr.contains("launcher_config.max_server_restarts is 1"), launcher.stderr)
        let serverOut = TestSupport.read(harness.studyDirectory + "/server.out")
        XCTAssertTrue(serverOut.contains("restart=0 restarts=0"), serverOut)
        XCTAssertTrue(serverOut.contains("restart=1 restarts=1"), serverOut)
        XCTAssertTrue(TestSupport.liveProcesses(mentioning: harness.directory).isEmpty)
    }
}
