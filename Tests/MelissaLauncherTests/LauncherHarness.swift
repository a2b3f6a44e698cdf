import Foundation
import Glibc
import MelissaProtocol
import MelissaTransport
import XCTest
@testable import MelissaSchedulers

/// A study directory for one launcher test: config, fake server script, helpers to run the
/// built `melissa-launcher` as a real process.
final class LauncherHarness {
    /// The test's temporary directory (also the marker for leftover-process checks).
    let directory: String
    /// `output_dir` of the generated config.
    var studyDirectory: String { directory + "/study" }
    var configPath: String { directory + "/config.json" }
    let launcherExecutable: String
    /// The fake `melissa-server`: a shell script that idles until told to exit (see `stopFakeServer`).
    let fakeServer: String

    init(label: String) throws {
        TestSupport.configureMPIEnvironment()
        launcherExecutable = try TestSupport.launcherExecutable()
        directory = try TestSupport.makeTemporaryDirectory(label)
        fakeServer = try TestSupport.writeScript(directory + "/fake-server.sh", """
            echo "address=$MELISSA_LAUNCHER_ADDRESS"
            echo "study=$MELISSA_STUDY_DIR"
            echo "config=$1"
            echo "restart=${MELISSA_RESTART:-0} restarts=${MELISSA_SERVER_RESTARTS:-0}"
            i=0
            # Idle until the test writes the exit code into fake-server.stop (60 s at most, so a
            # broken test cannot leave it behind for long).
            while [ ! -e "$MELISSA_STUDY_DIR/fake-server.stop" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            echo "fake server giving up" >&2
            code=$(cat "$MELISSA_STUDY_DIR/fake-server.stop" 2>/dev/null)
            exit ${code:-0}
            """)
    }

    /// Removes everything and kills whatever the test left running.
    func cleanUp() {
        TestSupport.killLeftovers(mentioning: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes a valid config; `launcher` entries override the launcher_config defaults used here.
    func writeConfig(launcher: [String: Any] = [:], outputDir: String = "study") throws {
        var launcherConfig: [String: Any] = [
            "scheduler": "openmpi", "scheduler_arg_server": ["-n", "1"], "scheduler_arg_client": ["-n", "1"],
            "job_limit": 2, "timer_delay": 0.2, "server_timeout": 20,
            // A random base port: parallel test runs must not race for 5555 (bindFirstFree moves on anyway).
            "launcher_port": Int.random(in: 20_000...40_000),
        ]
        launcherConfig.merge(launcher) { $1 }
        let config: [String: Any] = [
            "output_dir": outputDir,
            "study_options": ["field_names": ["u"], "parameter_sweep_size": 2, "nb_parameters": 1,
                              "nb_time_steps": 1, "l_bounds": [0], "u_bounds": [1]],
            "launcher_config": launcherConfig,
            "client_config": ["executable_command": "true"],
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: configPath))
    }

    /// Starts the launcher on the config (or on `arguments`), stdout/stderr in files.
    func start(arguments: [String]? = nil, environment: [String: String]? = nil) throws -> LauncherProcess {
        // The fake server sits in a scratch directory: point the launcher's preflight at the
        // repository's client script template, as an installed server would find its own.
        let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ClientTemplates").path
        let env = (environment ?? ["MELISSA_SERVER_EXECUTABLE": fakeServer])
            .merging(["MELISSA_TEMPLATES_DIR": templates]) { given, _ in given }
        let id = UInt32.random(in: 0...UInt32.max)
        let out = "\(directory)/launcher.\(id).out"
        let err = "\(directory)/launcher.\(id).err"
        let process = try Subprocess.spawn(SubprocessOptions(
            executable: launcherExecutable, arguments: arguments ?? [configPath], environmentOverrides: env,
            workingDirectory: directory, standardOutput: .file(out), standardError: .file(err)))
        return LauncherProcess(process: process, stdoutPath: out, stderrPath: err)
    }

    /// Makes the fake server exit with `code`.
    func stopFakeServer(exitCode: Int32 = 0) throws {
        try "\(exitCode)".write(toFile: studyDirectory + "/fake-server.stop", atomically: true, encoding: .utf8)
    }

    /// The study's real server with nothing to do: connects to `endpoint` with the study's
    /// key, must be welcomed, ends the study, and the fake server process exits 0.
    func runEmptyStudy(at endpoint: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let server = try FakeServerSocket(endpoint: endpoint, study: studyDirectory)
        try server.hello()
        XCTAssertEqual(try server.next(), .welcome(session: server.session), file: file, line: line)
        try server.send(.studyEnd(exitCode: 0, finished: 0, failed: 0, summary: "done"))
        try stopFakeServer(exitCode: 0)
    }
}

/// A running `melissa-launcher`.
final class LauncherProcess {
    let process: Subprocess
    let stdoutPath: String
    let stderrPath: String

    init(process: Subprocess, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    var stdout: String { TestSupport.read(stdoutPath) }
    var stderr: String { TestSupport.read(stderrPath) }

    /// The exit code, waiting up to `timeout` s; on timeout the launcher is killed and nil returned.
    func exitCode(timeout: Double) -> Int32? {
        guard let status = process.wait(timeout: timeout) else {
            process.terminate(grace: 1)
            return nil
        }
        return status.shellCode
    }

    /// The endpoint from the "launcher listening on ..." line.
    func endpoint(timeout: Double = 20) throws -> String {
        let deadline = MonotonicClock.now() + timeout
        repeat {
            if let endpoint = Self.endpoint(in: stdout) { return endpoint }
            usleep(20_000)
        } while MonotonicClock.now() < deadline
        throw HarnessError("no endpoint line; stdout: \(stdout) stderr: \(stderr)")
    }

    private static func endpoint(in text: String) -> String? {
        for line in text.split(separator: "\n") {
            if let range = line.range(of: "launcher listening on ") { return String(line[range.upperBound...].prefix { !$0.isWhitespace }) }
        }
        return nil
    }
}

/// The test playing the server's rank 0: a DEALER on the launcher's ROUTER.
final class FakeServerSocket {
    private let context: ZMQContext
    private let dealer: ZMQSocket
    /// The session id this fake server says hello with.
    let session: UInt64
    /// The number the next `request` gets.
    private(set) var nextRequest: UInt64 = 1
    /// Every `requestDone` received, by request number (`next()` collects them on the way).
    private(set) var settled: [UInt64: ControlMessage] = [:]

    /// Connects with the study's server key (as the real server does), or with `keys` of its own.
    init(endpoint: String, session: UInt64 = UInt64.random(in: 1...UInt64.max), study: String,
         keys: CurveKeyPair? = nil) throws {
        self.session = session
        context = try ZMQContext()
        dealer = try context.socket(.dealer)
        try dealer.becomeCurveClient(try keys ?? StudyKeys.load(.server, in: study),
                                     serverPublicKey: try StudyKeys.load(.launcher, in: study).publicKey)
        try dealer.setTimeouts(send: 5000, receive: 200, linger: 0)
        try dealer.connect(endpoint)
    }

    deinit { dealer.close() }

    func send(_ message: ControlMessage) throws { try dealer.send(message.encode()) }

    /// Says hello with this socket's session.
    func hello(size: UInt32 = 2, endpoint: String = "tcp://fake-host:2003") throws {
        try send(.hello(serverCommSize: size, connectionEndpoint: endpoint, session: session))
    }

    /// Sends a job request with the next request number; returns that number.
    @discardableResult
    func requestJob(group: UInt32, members: [JobMember]) throws -> UInt64 {
        let request = nextRequest
        nextRequest += 1
        try send(.jobRequest(session: session, request: request, groupID: group, members: members))
        return request
    }

    /// Sends a cancel request with the next request number; returns that number.
    @discardableResult
    func requestCancel(group: UInt32, reason: String) throws -> UInt64 {
        let request = nextRequest
        nextRequest += 1
        try send(.cancelJob(session: session, request: request, groupID: group, reason: reason))
        return request
    }

    /// Waits until the launcher settled `request` and returns its answer.
    func answer(to request: UInt64, timeout: Double = 20) throws -> ControlMessage {
        let deadline = MonotonicClock.now() + timeout
        while settled[request] == nil && MonotonicClock.now() < deadline {
            guard let payload = try receiveFrame() else { continue }
            let message = try payload.withUnsafeBytes { try ControlMessage.decode($0) }
            if case let .requestDone(_, number, _, _) = message { settled[number] = message } else if message != .ping && message != .pong {
                pending.append(message)
            }
        }
        guard let answer = settled[request] else { throw HarnessError("no answer to request \(request)") }
        return answer
    }

    /// Messages received by `answer(to:)` that `next()` has not returned yet.
    private var pending: [ControlMessage] = []

    func sendRaw(_ bytes: [UInt8]) throws { try dealer.send(bytes) }

    /// One payload, or nil when the 200 ms receive timeout expired.
    private func receiveFrame() throws -> [UInt8]? {
        do {
            return try dealer.receiveMultipart().last
        } catch {
            if error.isTimeout { return nil }
            throw error
        }
    }

    /// The next message other than a ping, pong or requestDone (those are collected in
    /// `settled`), within `timeout` seconds.
    func next(timeout: Double = 20) throws -> ControlMessage {
        if !pending.isEmpty { return pending.removeFirst() }
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            guard let payload = try receiveFrame() else { continue }
            let message = try payload.withUnsafeBytes { try ControlMessage.decode($0) }
            if case let .requestDone(_, number, _, _) = message {
                settled[number] = message
                continue
            }
            if message != .ping && message != .pong { return message }
        }
        throw HarnessError("no message from the launcher within \(timeout) s")
    }
}

/// A test expectation that timed out, thrown so the test fails with the reason.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
