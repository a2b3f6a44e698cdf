import Foundation
import Glibc
import MelissaCheckpoint
import MelissaConfig
import MelissaProtocol
@testable import MelissaServer
import MelissaTransport
import XCTest

/// A flavor that checks the loop's guarantees as it runs: every callback notes that it is
/// running and fails if another one is (re-entry), `apply` checks that the piece is not yet
/// committed, and every checkpoint compares what the flavor applied with what the base
/// committed. It keeps, per simulation, the sum of every value received (its checkpointed state).
final class ProbeFlavor: BaseServer {
    var violations: [String] = []
    var running: String?
    var sums: [UInt32: Double] = [:]
    var appliedCount = 0
    var checkpoints: [(applied: Int, committed: Int64)] = []
    var finishCalls = 0
    /// Called after each apply (the test's way to make a signal arrive mid-flood).
    var afterApply: ((ProbeFlavor) -> Void)?

    func enter(_ name: String) {
        if let other = running { violations.append("\(name) called while \(other) was running") }
        running = name
    }

    override var canCheckpoint: Bool { true }

    override func apply(_ piece: DataPiece) throws {
        enter("apply")
        defer { running = nil }
        if case .accepted = tracker.classify(piece.header, blockSize: piece.layout.blockSize) {} else {
            violations.append("simulation \(piece.header.simulationID) step \(piece.header.timeStep) was committed before apply")
        }
        if counters.accepted != Int64(appliedCount) {
            violations.append("\(counters.accepted) pieces committed but \(appliedCount) applied before this one")
        }
        sums[piece.header.simulationID, default: 0] += piece.withValues { $0.reduce(0, +) }
        appliedCount += 1
        running = nil
        afterApply?(self)
    }

    override func tick(now: Double) throws { enter("tick"); running = nil }
    override func finish() throws { enter("finish"); finishCalls += 1; running = nil }

    override func checkpointSections() throws -> [CheckpointSection] {
        enter("checkpointSections")
        defer { running = nil }
        checkpoints.append((appliedCount, counters.accepted))
        var encoder = CheckpointEncoder()
        encoder.u64(UInt64(appliedCount))
        for (sim, sum) in sums.sorted(by: { $0.key < $1.key }) { encoder.u32(sim); encoder.f64(sum) }
        return [CheckpointSection(tag: "PROB", bytes: encoder.bytes)]
    }

    override func restoreCheckpoint(_ sections: [String: [UInt8]]) throws {
        enter("restoreCheckpoint")
        defer { running = nil }
        guard let bytes = sections["PROB"] else { throw ServerError.setup("no PROB section") }
        var decoder = CheckpointDecoder(bytes, section: "PROB")
        appliedCount = Int(try decoder.u64(field: "applied"))
        while decoder.remaining > 0 { sums[try decoder.u32(field: "sim")] = try decoder.f64(field: "sum") }
    }
}

/// `BaseServer`'s loop driven in-process through `EmbeddedServerTransport`: one MPI rank, a
/// scripted launcher and scripted clients, the real coordinator, tracker and checkpoints.
final class BaseServerLoopTests: XCTestCase {
    static let sims = 4, steps = 300, cells = 8

    var directory = ""

    override func setUpWithError() throws {
        _ = try MPIRuntime.initializeIfNeeded()
        guard try Communicator.world.size() == 1 else { throw XCTSkip("runs on one MPI rank") }
        directory = NSTemporaryDirectory() + "melissa-loop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        setenv(InstallLayout.templatesDirectoryKey, repository.appendingPathComponent("ClientTemplates").path, 1)
        unsetenv("MELISSA_RESTART")
    }

    override func tearDownWithError() throws {
        unsetenv("MELISSA_RESTART")
        try? FileManager.default.removeItem(atPath: directory)
    }

    func makeConfig() throws -> StudyConfig {
        let text = """
        {"output_dir": "\(directory)",
         "study_options": {"field_names": ["u"], "parameter_sweep_size": \(Self.sims), "nb_parameters": 1,
                           "nb_time_steps": \(Self.steps), "l_bounds": [0], "u_bounds": [1], "verbosity": 0},
         "sa_config": {"checkpoint_interval": 1000000},
         "launcher_config": {"scheduler": "openmpi", "job_limit": 2},
         "client_config": {"executable_command": "/bin/true"}}
        """
        return try StudyConfig.parse(data: Data(text.utf8), source: "loop-test.json")
    }

    /// The value a client sends for cell `c` of step `t` of simulation `s`.
    static func value(_ s: Int, _ t: Int, _ c: Int) -> Double { Double(s * 1000 + t) + Double(c) / 16 }

    static func expectedSum(_ s: Int) -> Double {
        (0..<steps).reduce(0.0) { total, t in total + (0..<cells).reduce(0.0) { $0 + value(s, t, $1) } }
    }

    static func dataMessage(simulation s: Int, step t: Int) -> [[UInt8]] {
        let header = DataHeader(simulationID: UInt32(s), timeStep: UInt32(t), field: 0, clientRank: 0,
                                globalSize: UInt64(cells), offset: 0, count: UInt64(cells))
        return [header.encode(values: (0..<cells).map { value(s, t, $0) })]
    }

    /// A launcher played by the test: each job request is accepted and started, every step of
    /// its simulations is queued as data (all at once: a flood), and once the data is taken the
    /// job is reported ended with exit code 0. Returns the messages the server sent, decoded.
    func script(_ transport: EmbeddedServerTransport) {
        var seen = 1  // the hello
        var ending: [UInt32] = []
        transport.onIdle = { t in
            for group in ending { t.inboundLauncher.append(ControlMessage.jobState(groupID: group, state: .terminated, exitCode: 0, reason: "").encode()) }
            ending = []
            let sent = t.sentToLauncher
            while seen < sent.count {
                defer { seen += 1 }
                guard case let .jobRequest(session, request, group, members)? =
                        try? sent[seen].withUnsafeBytes({ try ControlMessage.decode($0) }) else { continue }
                t.inboundLauncher.append(ControlMessage.requestDone(session: session, request: request, outcome: .accepted, detail: "queued").encode())
                t.inboundLauncher.append(ControlMessage.jobState(groupID: group, state: .running, exitCode: 0, reason: "").encode())
                for member in members {
                    for step in 0..<Self.steps { t.inboundData.append(Self.dataMessage(simulation: Int(member.simulationID), step: step)) }
                }
                ending.append(group)
            }
        }
    }

    func launcherMessages(_ transport: EmbeddedServerTransport) -> [ControlMessage] {
        transport.sentToLauncher.compactMap { frame in try? frame.withUnsafeBytes { try ControlMessage.decode($0) } }
    }

    func testAStudyRunsInProcessEveryPieceAppliedOnceAndCommittedAfter() throws {
        let transport = EmbeddedServerTransport()
        script(transport)
        let server = try ProbeFlavor(config: try makeConfig(), studyDirectory: directory, launcherAddress: "embedded",
                                     transport: transport)
        try server.run()

        XCTAssertEqual(server.violations, [])
        XCTAssertEqual(server.appliedCount, Self.sims * Self.steps)
        XCTAssertEqual(server.counters.accepted, Int64(Self.sims * Self.steps))
        XCTAssertEqual(server.finishCalls, 1)
        for s in 0..<Self.sims { XCTAssertEqual(server.sums[UInt32(s)], Self.expectedSum(s), "simulation \(s)") }
        XCTAssertEqual(server.exitCode, 0)
        guard case let .studyEnd(code, finished, failed, _)? = launcherMessages(transport).last else {
            return XCTFail("the last launcher message is not studyEnd: \(launcherMessages(transport).suffix(2))")
        }
        XCTAssertEqual([Int(code), Int(finished), Int(failed)], [0, Self.sims, 0])
        XCTAssertTrue(transport.launcherClosed)
        // Every simulation's parameters reach every rank (here: the only one), one row each.
        XCTAssertEqual(server.sampledParameters.count, Self.sims)
        XCTAssertEqual(server.parameters(of: 0)?.count, 1)
        XCTAssertNil(server.parameters(of: UInt32(Self.sims)))
    }

    func testSummaryNamesWhereTheDataCameFromOncePerSimulation() throws {
        let transport = EmbeddedServerTransport()
        transport.dataPeer = "10.77.0.12"
        script(transport)
        let server = try ProbeFlavor(config: try makeConfig(), studyDirectory: directory, launcherAddress: "embedded",
                                     transport: transport)
        try server.run()
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json")))
        let peers = try XCTUnwrap((summary as? [String: Any])?["data_peers"] as? [[String: Any]])
        XCTAssertEqual(peers.count, 1)
        XCTAssertEqual(peers.first?["address"] as? String, "10.77.0.12")
        XCTAssertEqual(peers.first?["rank"] as? Int, 0)
        // Counted per simulation, not per message (each sent \(Self.steps) steps).
        XCTAssertEqual(peers.first?["simulations"] as? Int, Self.sims)
    }

    func testDuplicateAndMalformedDataAreDroppedNotApplied() throws {
        let transport = EmbeddedServerTransport()
        script(transport)
        let server = try ProbeFlavor(config: try makeConfig(), studyDirectory: directory, launcherAddress: "embedded",
                                     transport: transport)
        var injected = false
        server.afterApply = { _ in
            guard !injected else { return }
            injected = true
            // The piece just applied, again; a two-frame message; a frame too short for a header.
            transport.inboundData.insert(Self.dataMessage(simulation: 0, step: 0), at: 0)
            transport.inboundData.insert(Self.dataMessage(simulation: 0, step: 1) + [[1, 2, 3]], at: 0)
            transport.inboundData.insert([[0x4d, 0x4c]], at: 0)
        }
        try server.run()
        XCTAssertEqual(server.violations, [])
        XCTAssertEqual(server.counters.duplicates, 1)
        XCTAssertEqual(server.counters.malformed, 2)
        XCTAssertEqual(server.appliedCount, Self.sims * Self.steps)
        XCTAssertEqual(server.sums[0], Self.expectedSum(0))
    }

    func testACheckpointUnderAFloodHoldsExactlyWhatWasApplied() throws {
        let transport = EmbeddedServerTransport()
        script(transport)
        let server = try ProbeFlavor(config: try makeConfig(), studyDirectory: directory, launcherAddress: "embedded",
                                     transport: transport)
        // SIGUSR1 arrives every 50 pieces while data keeps coming: the loop services it between
        // two pieces (every 256 messages under a flood), never between receive and commit.
        server.afterApply = { flavor in
            if flavor.appliedCount % 50 == 0 { transport.inboundSignals.append(SIGUSR1) }
        }
        try server.run()
        XCTAssertEqual(server.violations, [])
        XCTAssertGreaterThanOrEqual(server.checkpoints.count, 2, "checkpoints written under the flood")
        XCTAssertTrue(server.checkpoints.contains { $0.applied > 0 && $0.applied < Self.sims * Self.steps },
                      "a checkpoint taken mid-flood: \(server.checkpoints)")
        for checkpoint in server.checkpoints {
            XCTAssertEqual(Int64(checkpoint.applied), checkpoint.committed, "checkpoint \(checkpoint)")
        }
    }

    func testAServerStoppedMidFloodRestartsFromItsCheckpointAndEndsWithExactSums() throws {
        // First server: SIGTERM after 100 pieces (checkpoint, then stop).
        let first = EmbeddedServerTransport()
        script(first)
        let config = try makeConfig()
        let server = try ProbeFlavor(config: config, studyDirectory: directory, launcherAddress: "embedded",
                                     transport: first)
        server.afterApply = { flavor in
            if flavor.appliedCount == 100 { first.inboundSignals.append(SIGTERM) }  // serviced at piece 256
        }
        try server.run()
        XCTAssertEqual(server.violations, [])
        let saved = try XCTUnwrap(server.checkpoints.last)
        XCTAssertEqual(Int64(saved.applied), saved.committed)
        XCTAssertLessThan(saved.applied, Self.sims * Self.steps, "stopped before the end")
        XCTAssertEqual(server.exitCode, 1, "a study stopped by SIGTERM is not a success")

        // Second server, restart mode: the launcher reruns every unfinished group, whose
        // clients send everything again; what the first server applied must be refused.
        setenv("MELISSA_RESTART", "1", 1)
        let second = EmbeddedServerTransport()
        script(second)
        let restarted = try ProbeFlavor(config: config, studyDirectory: directory, launcherAddress: "embedded",
                                        transport: second)
        try restarted.run()
        XCTAssertEqual(restarted.violations, [])
        XCTAssertEqual(restarted.exitCode, 0)
        XCTAssertEqual(restarted.appliedCount, Self.sims * Self.steps, "restored count plus what was new")
        for s in 0..<Self.sims { XCTAssertEqual(restarted.sums[UInt32(s)], Self.expectedSum(s), "simulation \(s)") }
        XCTAssertGreaterThan(restarted.counters.duplicates, 0, "resent data the checkpoint held was refused")
    }

    func testAServerThatPollsWithNothingScriptedFailsInsteadOfSpinning() throws {
        let transport = EmbeddedServerTransport()
        transport.idleLimit = 50
        let server = try ProbeFlavor(config: try makeConfig(), studyDirectory: directory, launcherAddress: "embedded",
                                     transport: transport)
        XCTAssertThrowsError(try server.run()) { error in
            XCTAssertTrue("\(error)".contains("nothing scripted"), "\(error)")
        }
    }
}
