import Foundation
import MelissaConfig
import MelissaProtocol
@testable import MelissaServer
import MelissaTransport
import XCTest

/// The connection budget: what a study's client connections need in open files per server
/// rank, the refusal before any job when they cannot fit, and the refusal when a handshake
/// brings more client ranks than the config said.
final class ConnectionBudgetTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        _ = try MPIRuntime.initializeIfNeeded()
        directory = NSTemporaryDirectory() + "melissa-budget-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        setenv(InstallLayout.templatesDirectoryKey, repository.appendingPathComponent("ClientTemplates").path, 1)
        unsetenv("MELISSA_RESTART")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func config(sims: Int = 6, jobLimit: Int = 3, clientArguments: [String] = [], scheduler: String = "openmpi",
                groupSize: Int = 1) throws -> StudyConfig {
        let arguments = clientArguments.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = """
        {"output_dir": "\(directory)",
         "study_options": {"field_names": ["u"], "parameter_sweep_size": \(sims), "nb_parameters": 1, "group_size": \(groupSize),
                           "nb_time_steps": 2, "l_bounds": [0], "u_bounds": [1], "verbosity": 0},
         "sa_config": {"checkpoint_interval": 1000000},
         "launcher_config": {"scheduler": "\(scheduler)", "job_limit": \(jobLimit), "scheduler_arg_client": [\(arguments)]},
         "client_config": {"executable_command": "/bin/true"}}
        """
        return try StudyConfig.parse(data: Data(text.utf8), source: "budget-test.json")
    }

    func testTheBudgetIsJobsAtOnceTimesGroupTimesRanksPlusTheReserve() throws {
        let budget = ConnectionBudget(config: try config(sims: 40, jobLimit: 3, clientArguments: ["-np", "4"], groupSize: 2))
        XCTAssertEqual(budget.concurrentSimulations, 6)
        XCTAssertEqual(budget.ranksPerSimulation, 4)
        XCTAssertEqual(budget.clientConnections, 24)
        XCTAssertEqual(budget.neededDescriptors, ConnectionBudget.reserved + 24)
        // More jobs allowed than the study has simulations: the study's size bounds it.
        let small = ConnectionBudget(config: try config(sims: 2, jobLimit: 50, clientArguments: ["--ntasks=8"], scheduler: "slurm"))
        XCTAssertEqual([small.concurrentSimulations, small.ranksPerSimulation], [2, 8])
        XCTAssertTrue(small.concurrencySource.contains("capped"), small.concurrencySource)
        // No rank count in the arguments: one rank, and the message says it was assumed.
        let unsaid = ConnectionBudget(config: try config(clientArguments: ["--bind-to", "none"]))
        XCTAssertEqual(unsaid.ranksPerSimulation, 1)
        XCTAssertTrue(unsaid.ranksSource.contains("names no rank count"), unsaid.ranksSource)
    }

    func testARefusalNamesTheNumbersTheLimitAndTheRemedies() throws {
        let budget = ConnectionBudget(concurrentSimulations: 10, ranksPerSimulation: 100, ranksSource: "launcher_config.scheduler_arg_client",
                                      concurrencySource: "launcher_config.job_limit 10 × 1 simulation(s) per job")
        XCTAssertNil(budget.refusal(limit: FileDescriptorLimit(soft: ConnectionBudget.reserved + 1000, hard: 4096)))
        let text = try XCTUnwrap(budget.refusal(limit: FileDescriptorLimit(soft: 1024, hard: 4096)))
        for part in ["1000 connections", "\(ConnectionBudget.reserved + 1000) open files", "limit is 1024",
                     "RLIMIT_NOFILE", "hard limit 4096", "ulimit -Hn", "launcher_config.job_limit",
                     "\((1024 - ConnectionBudget.reserved) / 100) simulation(s) of 100 rank(s) fit"] {
            XCTAssertTrue(text.contains(part), "missing '\(part)' in: \(text)")
        }
    }

    func testClientRankCountsReadEachSchedulersSpelling() {
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .openmpi, arguments: ["-np", "3"], groupSize: 1), 3)
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .openmpi, arguments: ["-n", "2", "--np=5"], groupSize: 1), 5)
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .openmpi, arguments: ["-c", "7", "--oversubscribe"], groupSize: 1), 7)
        XCTAssertNil(ClientRankCount.perSimulation(scheduler: .openmpi, arguments: ["-np", "x"], groupSize: 1))
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .slurm, arguments: ["-n4"], groupSize: 3), 4)
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .slurm, arguments: ["--ntasks", "6", "-N", "2"], groupSize: 1), 6)
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .oar, arguments: ["-l", "nodes=2/core=4,walltime=1:0:0"], groupSize: 2), 4)
        XCTAssertEqual(ClientRankCount.perSimulation(scheduler: .oar, arguments: ["-l", "core=3"], groupSize: 1), 3)
        XCTAssertNil(ClientRankCount.perSimulation(scheduler: .oar, arguments: ["-l", "walltime=1:0:0"], groupSize: 1))
    }

    func testFileLimitRaisesTheSoftLimitToTheHardOne() throws {
        let before = try FileDescriptorLimit.current()
        guard before.hard > 64, before.hard != Int.max else { throw XCTSkip("hard limit \(before.hard)") }
        var lowered = rlimit(rlim_cur: 64, rlim_max: rlim_t(before.hard))
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered), 0)
        let (was, now) = try FileDescriptorLimit.raiseSoftToHard()
        XCTAssertEqual(was.soft, 64)
        XCTAssertEqual(now.soft, before.hard)
        XCTAssertEqual(now.hard, before.hard)
    }

    /// A scripted launcher that accepts and starts each requested job; the test feeds handshakes.
    func runServer(_ config: StudyConfig, handshakes: [HandshakeRequest] = []) throws -> (EmbeddedServerTransport, ProbeFlavor) {
        guard try Communicator.world.size() == 1 else { throw XCTSkip("runs on one MPI rank") }
        let transport = EmbeddedServerTransport()
        var seen = 1
        var pending = handshakes
        transport.onIdle = { t in
            let sent = t.sentToLauncher
            while seen < sent.count {
                defer { seen += 1 }
                guard case let .jobRequest(session, request, group, _)? =
                        try? sent[seen].withUnsafeBytes({ try ControlMessage.decode($0) }) else { continue }
                t.inboundLauncher.append(ControlMessage.requestDone(session: session, request: request, outcome: .accepted, detail: "queued").encode())
                t.inboundLauncher.append(ControlMessage.jobState(groupID: group, state: .running, exitCode: 0, reason: "").encode())
                if !pending.isEmpty { t.inboundHandshakes.append(pending.removeFirst().encode()) }
            }
            if seen > 1, !pending.isEmpty { t.inboundHandshakes.append(pending.removeFirst().encode()) }
        }
        let server = try ProbeFlavor(config: config, studyDirectory: directory, launcherAddress: "embedded", transport: transport)
        try server.run()
        return (transport, server)
    }

    func decoded(_ transport: EmbeddedServerTransport) -> [ControlMessage] {
        transport.sentToLauncher.compactMap { frame in try? frame.withUnsafeBytes { try ControlMessage.decode($0) } }
    }

    func testAStudyThatCannotFitEndsBeforeAnyJobWithTheRemedy() throws {
        // Two million ranks per simulation exceed any hard limit (the kernel's nr_open is 2^20).
        let (transport, server) = try runServer(try config(clientArguments: ["-np", "2000000"]))
        let messages = decoded(transport)
        XCTAssertFalse(messages.contains { if case .jobRequest = $0 { return true } else { return false } },
                       "a job was requested: \(messages)")
        guard case let .studyEnd(code, finished, _, summary)? = messages.last else {
            return XCTFail("no studyEnd: \(messages.suffix(2))")
        }
        XCTAssertEqual([code, Int32(finished)], [1, 0])
        XCTAssertTrue(summary.contains("connection budget exceeded") && summary.contains("RLIMIT_NOFILE"), summary)
        XCTAssertEqual(server.studyErrors.count, 1)
    }

    func testAHandshakeWithMoreRanksThanFitIsRefusedAndEndsTheStudy() throws {
        let (transport, server) = try runServer(try config(), handshakes: [
            HandshakeRequest(simulationID: 0, clientCommSize: 3),          // fits: the budget grows to 3
            HandshakeRequest(simulationID: 1, clientCommSize: 2_000_000),  // cannot fit
        ])
        let answers = transport.handshakeReplies.map { reply in reply.withUnsafeBytes { try? HandshakeReply.decode($0) } }
        guard answers.count == 2, case .accepted? = answers[0], case let .refused(refusal)? = answers[1] else {
            return XCTFail("expected an acceptance then a refusal, got \(answers)")
        }
        XCTAssertTrue(refusal.reason.contains("simulation 1's handshake") && refusal.reason.contains("RLIMIT_NOFILE"), refusal.reason)
        XCTAssertEqual(server.connectionBudget.ranksPerSimulation, 3)
        guard case let .studyEnd(code, _, _, summary)? = decoded(transport).last else { return XCTFail("no studyEnd") }
        XCTAssertEqual(code, 1)
        XCTAssertTrue(summary.contains("connection budget exceeded"), summary)
    }
}
