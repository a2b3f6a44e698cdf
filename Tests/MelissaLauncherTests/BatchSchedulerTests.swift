import Foundation
import XCTest
@testable import MelissaSchedulers

/// A batch system whose answers the test scripts: fault injection for the bookkeeping in
/// `BatchScheduler` (the real Slurm runs in the e2e tests).
private final class ScriptedBatchSystem: BatchSystem {
    let name = "fake"
    var submissions: [[SimulationSpec]] = []
    var refuseSubmissions = false
    var phases: [String: BatchJobPhase] = [:]
    var queryFails = false
    var queries = 0
    var cancelled: [[String]] = []

    func submit(number: UInt64, members: [SimulationSpec]) -> Result<String, BatchCommandFailure> {
        submissions.append(members)
        if refuseSubmissions {
            return .failure(BatchCommandFailure(command: "fakesub", detail: "exited with code 1: no such queue", attempts: 4))
        }
        return .success(String(100 + number))
    }

    func query(_ ids: [String]) -> Result<[String: BatchJobPhase], BatchCommandFailure> {
        queries += 1
        if queryFails { return .failure(BatchCommandFailure(command: "fakestat", detail: "timed out", attempts: 4)) }
        return .success(phases.filter { ids.contains($0.key) })
    }

    func cancel(_ ids: [String]) -> BatchCommandFailure? {
        cancelled.append(ids)
        for id in ids { phases[id] = .final(state: .failed, exitCode: -1, reason: "cancelled") }
        return nil
    }
}

final class BatchSchedulerTests: XCTestCase {
    private let member = [SimulationSpec(simulationID: 7, script: "/s.sh")]

    private func makeScheduler(_ system: ScriptedBatchSystem) -> BatchScheduler {
        // A zero interval is raised to the 0.1 s floor; tests sleep past it between polls.
        BatchScheduler(system: system, pollInterval: 0, cancelWait: 2)
    }

    private func nextPoll(_ scheduler: BatchScheduler) -> [JobUpdate] {
        MonotonicClock.sleep(0.11)
        return scheduler.poll()
    }

    func testAJobIsReportedRunningOnceThenTerminated() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        let job = scheduler.submit(member)
        XCTAssertEqual(scheduler.batchID(of: job), "101")
        system.phases["101"] = .waiting
        XCTAssertEqual(scheduler.poll(), [])
        system.phases["101"] = .running
        XCTAssertEqual(nextPoll(scheduler), [JobUpdate(job: job, state: .running)])
        XCTAssertEqual(nextPoll(scheduler), [])
        system.phases["101"] = .final(state: .terminated, exitCode: 0, reason: "")
        XCTAssertEqual(nextPoll(scheduler), [JobUpdate(job: job, state: .terminated)])
        XCTAssertEqual(scheduler.liveJobCount, 0)
    }

    func testAJobThatRanBetweenTwoPollsStillReportsRunningFirst() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        let job = scheduler.submit(member)
        system.phases["101"] = .final(state: .terminated, exitCode: 0, reason: "")
        XCTAssertEqual(scheduler.poll(), [JobUpdate(job: job, state: .running), JobUpdate(job: job, state: .terminated)])
    }

    func testAFailureCarriesTheBatchIdExitCodeAndReason() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        let job = scheduler.submit(member)
        system.phases["101"] = .final(state: .failed, exitCode: -1, reason: "Slurm job ended by a node failure")
        XCTAssertEqual(scheduler.poll(), [JobUpdate(job: job, state: .failed, exitCode: -1,
                                                    reason: "fake job 101: Slurm job ended by a node failure")])
    }

    func testARefusedSubmissionIsReportedFailedWithTheCommandsError() {
        let system = ScriptedBatchSystem()
        system.refuseSubmissions = true
        let scheduler = makeScheduler(system)
        let job = scheduler.submit(member)
        XCTAssertEqual(scheduler.liveJobCount, 1)
        let updates = scheduler.poll()
        XCTAssertEqual(updates, [JobUpdate(job: job, state: .failed, exitCode: -1,
                                           reason: "fakesub failed after 4 tries: exited with code 1: no such queue")])
        XCTAssertEqual(scheduler.liveJobCount, 0)
        XCTAssertEqual(system.queries, 0, "nothing to ask about a job that was never accepted")
    }

    func testPollingIsPacedByTheInterval() {
        let system = ScriptedBatchSystem()
        let scheduler = BatchScheduler(system: system, pollInterval: 30)
        _ = scheduler.submit(member)
        system.phases["101"] = .running
        for _ in 0..<50 { _ = scheduler.poll() }
        XCTAssertEqual(system.queries, 1)
    }

    func testAQueryThatFailsChangesNothingAndIsLogged() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        var logged: [String] = []
        scheduler.log = { logged.append($0) }
        let job = scheduler.submit(member)
        system.queryFails = true
        for _ in 0..<5 { XCTAssertEqual(nextPoll(scheduler), []) }
        XCTAssertEqual(scheduler.liveJobCount, 1, "could not ask is not the same as gone")
        XCTAssertEqual(logged.count, 5)
        XCTAssertTrue(logged[0].contains("fakestat failed after 4 tries: timed out"), logged[0])
        system.queryFails = false
        system.phases["101"] = .running
        XCTAssertEqual(nextPoll(scheduler), [JobUpdate(job: job, state: .running)])
    }

    func testAJobTheBatchSystemForgotFailsAfterThreeQueries() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        let job = scheduler.submit(member)
        XCTAssertEqual(scheduler.poll(), [])
        XCTAssertEqual(nextPoll(scheduler), [])
        let updates = nextPoll(scheduler)
        XCTAssertEqual(updates.map(\.state), [.failed])
        XCTAssertEqual(updates.first?.job, job)
        XCTAssertTrue(updates.first?.reason.contains("vanished") ?? false)
    }

    func testCancelledJobsSayTheLauncherCancelledThem() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        let first = scheduler.submit(member)
        let second = scheduler.submit(member)
        system.phases["101"] = .running
        system.phases["102"] = .running
        scheduler.cancel(first)
        XCTAssertEqual(system.cancelled, [["101"]])
        let updates = scheduler.poll()
        XCTAssertEqual(updates.first { $0.job == first }?.reason, "fake job 101: cancelled by the launcher (cancelled)")
        scheduler.cancelAll()
        XCTAssertEqual(system.cancelled, [["101"], ["102"]])
        XCTAssertEqual(scheduler.poll().last, JobUpdate(job: second, state: .failed, exitCode: -1,
                                                        reason: "fake job 102: cancelled by the launcher (cancelled)"))
        XCTAssertEqual(scheduler.liveJobCount, 0)
    }

    func testUnknownStateWordsKeepTheJobAndAreLogged() {
        let system = ScriptedBatchSystem()
        let scheduler = makeScheduler(system)
        var logged: [String] = []
        scheduler.log = { logged.append($0) }
        _ = scheduler.submit(member)
        system.phases["101"] = .unknown("WIBBLE")
        XCTAssertEqual(scheduler.poll(), [])
        XCTAssertEqual(scheduler.liveJobCount, 1)
        XCTAssertEqual(logged, ["fake job 101 is in a state this launcher does not know (\"WIBBLE\"); still watching it"])
    }
}

/// Real commands through `SchedulerCommand`: timeouts, retries, back-off, captured stderr.
final class SchedulerCommandTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try TestSupport.makeTemporaryDirectory("command")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAFlakyCommandIsRetriedWithGrowingPausesUntilItSucceeds() throws {
        // Fails twice (with a message on stderr), then succeeds; logs when each try started.
        let script = try TestSupport.writeScript(directory + "/flaky", """
            date +%s.%N >> '\(directory)/starts'
            n=$(cat '\(directory)/count' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '\(directory)/count'
            [ $n -ge 3 ] || { echo "controller busy ($n)" >&2; exit 1; }
            echo "42"
            """)
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 4, firstDelay: 0.2, timeout: 5))
        let (result, attempts) = runner.run(script, [])
        XCTAssertTrue(result.succeeded)
        XCTAssertEqual(result.output, "42\n")
        XCTAssertEqual(attempts, 3)
        let starts = TestSupport.read(directory + "/starts").split(separator: "\n").compactMap { Double($0) }
        XCTAssertEqual(starts.count, 3)
        // Pauses of 0.2 s then 0.4 s: the second gap is the longer one.
        XCTAssertGreaterThanOrEqual(starts[1] - starts[0], 0.2)
        XCTAssertGreaterThanOrEqual(starts[2] - starts[1], 0.4)
    }

    func testAPermanentFailureIsReportedWithItsStderrAfterEveryTry() throws {
        let script = try TestSupport.writeScript(directory + "/broken", """
            echo x >> '\(directory)/tries'
            echo "sbatch: error: invalid partition specified: nosuch" >&2; exit 1
            """)
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 3, firstDelay: 0.01, timeout: 5))
        let (result, attempts) = runner.run(script, [])
        XCTAssertEqual(attempts, 3)
        XCTAssertEqual(TestSupport.read(directory + "/tries"), "x\nx\nx\n")
        XCTAssertEqual(result.failureSummary, "exited with code 1: sbatch: error: invalid partition specified: nosuch")
    }

    func testAHangingCommandIsKilledAtItsTimeout() throws {
        let script = try TestSupport.writeScript(directory + "/hang", "echo started; exec sleep 30")
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 2, firstDelay: 0.01, timeout: 0.3))
        let start = MonotonicClock.now()
        let (result, attempts) = runner.run(script, [])
        XCTAssertLessThan(MonotonicClock.now() - start, 10, "killed, not waited for")
        XCTAssertNil(result.status)
        XCTAssertEqual(attempts, 2)
        XCTAssertEqual(result.failureSummary, "timed out: started")
    }

    func testNotRetryableFailuresStopAtOnce() throws {
        let script = try TestSupport.writeScript(directory + "/gone", """
            echo x >> '\(directory)/tries'; echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
            """)
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 4, firstDelay: 0.01, timeout: 5))
        let (result, attempts) = runner.run(script, [], retryable: { !SlurmBatchSystem.isUnknownJobError($0) })
        XCTAssertEqual(attempts, 1)
        XCTAssertFalse(result.succeeded)
        XCTAssertEqual(TestSupport.read(directory + "/tries"), "x\n")
    }

    func testASubmissionFoundBeforeARetryIsNotSubmittedAgain() throws {
        let script = try TestSupport.writeScript(directory + "/slow", "echo x >> '\(directory)/tries'; exit 1")
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 4, firstDelay: 0.01, timeout: 5))
        let (result, attempts) = runner.run(script, [], beforeRetry: { _ in
            CommandResult(status: .exited(code: 0), output: "77", error: "")
        })
        XCTAssertEqual(result.output, "77")
        XCTAssertEqual(attempts, 1)
        XCTAssertEqual(TestSupport.read(directory + "/tries"), "x\n")
    }

    func testAMissingProgramIsAFailureNotACrash() {
        let runner = SchedulerCommand(scratchDirectory: directory + "/scratch",
                                      policy: RetryPolicy(attempts: 1, firstDelay: 0, timeout: 5))
        let result = runner.runOnce(directory + "/does-not-exist", [])
        XCTAssertFalse(result.succeeded)
        XCTAssertTrue(result.failureSummary.contains("does-not-exist"), result.failureSummary)
    }

    func testBackOffDoubles() {
        let policy = RetryPolicy(attempts: 5, firstDelay: 0.5, timeout: 1)
        XCTAssertEqual((1...4).map(policy.delay(after:)), [0.5, 1, 2, 4])
        XCTAssertEqual(RetryPolicy(attempts: 0, firstDelay: 1, timeout: 1).attempts, 1)
    }
}
