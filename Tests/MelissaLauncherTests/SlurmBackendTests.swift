import Foundation
import XCTest
@testable import MelissaSchedulers

/// The slurm backend's parsing and state mapping, against outputs recorded from a real
/// Slurm 22.05 (Fixtures/slurm/README.md). The live cluster is exercised by the e2e tests.
final class SlurmBackendTests: XCTestCase {
    func testEveryRecordedSqueueLineMapsOntoTheServersStates() throws {
        let phases = SlurmBatchSystem.parseSqueue(try Fixture.text("slurm/squeue-mixed.txt"))
        XCTAssertEqual(phases.count, 7)
        XCTAssertEqual(phases["33"], .final(state: .terminated, exitCode: 0, reason: ""))
        XCTAssertEqual(phases["34"], .final(state: .failed, exitCode: 3,
                                            reason: "Slurm job failed, exit code 3 (NonZeroExitCode)"))
        XCTAssertEqual(phases["35"], .final(state: .failed, exitCode: 137,
                                            reason: "Slurm job failed, killed by signal 9 (SIGKILL) (JobLaunchFailure)"))
        // scancel: SIGTERM (15) in the raw status; the exit code says how it was killed.
        XCTAssertEqual(phases["36"], .final(state: .failed, exitCode: 143, reason: "Slurm job cancelled"))
        XCTAssertEqual(phases["37"], .running)
        XCTAssertEqual(phases["38"], .waiting)
        XCTAssertEqual(phases["39"], .running)
    }

    func testSacctFromTheCompletionFileAgreesWithSqueue() throws {
        let phases = SlurmBatchSystem.parseSacct(try Fixture.text("slurm/sacct-c-mixed.txt"))
        XCTAssertEqual(phases["33"], .final(state: .terminated, exitCode: 0, reason: ""))
        XCTAssertEqual(phases["34"], .final(state: .failed, exitCode: 3, reason: "Slurm job failed, exit code 3"))
        XCTAssertEqual(phases["35"], .final(state: .failed, exitCode: 137,
                                            reason: "Slurm job failed, killed by signal 9 (SIGKILL)"))
        XCTAssertEqual(phases["36"], .final(state: .failed, exitCode: -1, reason: "Slurm job cancelled"))
    }

    func testFailedCancelledTimedOutAndNodeFailStatesAreFinalFailures() {
        let cases: [(String, String, SlurmExit, Int32, String)] = [
            ("TIMEOUT", "TimeLimit", .none, -1, "Slurm job reached its time limit (TimeLimit)"),
            ("NODE_FAIL", "None", .none, -1, "Slurm job ended by a node failure"),
            ("CANCELLED by 1000", "", .none, -1, "Slurm job cancelled by 1000"),
            ("OUT_OF_MEMORY", "", SlurmExit(code: 0, signal: 9), 137, "Slurm job ran out of memory"),
            ("PREEMPTED", "", .none, -1, "Slurm job was preempted"),
            ("BOOT_FAIL", "", .none, -1, "Slurm job's node failed to boot"),
            ("DEADLINE", "", .none, -1, "Slurm job missed its deadline"),
            ("FAILED", "NonZeroExitCode", SlurmExit(code: 2, signal: 0), 2, "Slurm job failed, exit code 2 (NonZeroExitCode)"),
        ]
        for (state, reason, exit, code, why) in cases {
            XCTAssertEqual(SlurmStates.phase(state: state, reason: reason, exit: exit),
                           .final(state: .failed, exitCode: code, reason: why), state)
        }
        for waiting in ["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD"] {
            XCTAssertEqual(SlurmStates.phase(state: waiting, reason: "", exit: .none), .waiting, waiting)
        }
        for running in ["RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING"] {
            XCTAssertEqual(SlurmStates.phase(state: running, reason: "", exit: .none), .running, running)
        }
        XCTAssertEqual(SlurmStates.phase(state: "WIBBLE", reason: "", exit: .none), .unknown("WIBBLE"))
    }

    func testExitCodesParseInBothSlurmNotations() {
        XCTAssertEqual(SlurmExit(waitStatus: "768"), SlurmExit(code: 3, signal: 0))
        XCTAssertEqual(SlurmExit(waitStatus: "15"), SlurmExit(code: 0, signal: 15))
        XCTAssertEqual(SlurmExit(codeColonSignal: "3:0"), SlurmExit(code: 3, signal: 0))
        XCTAssertEqual(SlurmExit(codeColonSignal: "0:9")?.shellCode, 137)
        XCTAssertNil(SlurmExit(waitStatus: "-1"))
        XCTAssertNil(SlurmExit(waitStatus: "x"))
        XCTAssertNil(SlurmExit(codeColonSignal: "3"))
        XCTAssertNil(SlurmExit(codeColonSignal: "a:b"))
    }

    func testSubmissionOutputAndMalformedLines() {
        XCTAssertEqual(SlurmBatchSystem.parseSubmission("1234\n"), "1234")
        XCTAssertEqual(SlurmBatchSystem.parseSubmission("1234;cluster\n"), "1234")
        XCTAssertNil(SlurmBatchSystem.parseSubmission(""))
        XCTAssertNil(SlurmBatchSystem.parseSubmission("sbatch: error: oops"))
        // Garbage lines are skipped, not misread.
        XCTAssertEqual(SlurmBatchSystem.parseSqueue("\n|||\nnot a line\n12|RUNNING|None|0\n"), ["12": .running])
        XCTAssertEqual(SlurmBatchSystem.parseSacct("12|COMPLETED\n"), [:])
    }

    func testRecordedErrorsAreRecognisedOrReportedVerbatim() throws {
        let unknown = CommandResult(status: .exited(code: 1), output: "", error: try Fixture.text("slurm/squeue-unknown.err"))
        XCTAssertTrue(SlurmBatchSystem.isUnknownJobError(unknown))
        let refused = CommandResult(status: .exited(code: 1), output: "", error: try Fixture.text("slurm/sbatch-badpart.err"))
        XCTAssertFalse(SlurmBatchSystem.isUnknownJobError(refused))
        XCTAssertEqual(refused.failureSummary, "exited with code 1: sbatch: error: invalid partition specified: nosuch | "
                       + "sbatch: error: Batch job submission failed: Invalid partition name specified")
    }

    func testTasksPerSimulationFollowSbatchOptionSyntax() {
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation([]), 1)
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation(["-n", "2"]), 2)
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation(["-n4"]), 4)
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation(["--ntasks=3", "--time=5"]), 3)
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation(["--ntasks", "5", "-n", "6"]), 6)
        XCTAssertEqual(SlurmBatchSystem.tasksPerSimulation(["--nodes=1", "-n", "zero"]), 1)
    }

    /// The generated script runs: every member starts, and the job's exit code is the first
    /// failing member's. `srun` is a stand-in that runs the script it is given (the real
    /// srun is used by the live-Slurm e2e tests).
    func testAGroupScriptRunsEveryMemberAndExitsWithTheFirstFailure() throws {
        let directory = try TestSupport.makeTemporaryDirectory("slurm-script")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        // Records its options, then runs the last argument.
        try TestSupport.writeScript(bin + "/srun", """
            for last; do :; done
            echo "$*" >> "\(directory)/srun.calls"
            exec "$last"
            """)
        let spaced = directory + "/with space"
        try FileManager.default.createDirectory(atPath: spaced, withIntermediateDirectories: true)
        try TestSupport.writeScript(spaced + "/a.sh", "echo a >> '\(directory)/ran'; exit 0")
        try TestSupport.writeScript(spaced + "/b.sh", "echo b >> '\(directory)/ran'; exit 4")
        try TestSupport.writeScript(spaced + "/c.sh", "sleep 0.2; echo c >> '\(directory)/ran'; exit 5")
        let script = SlurmBatchSystem.jobScript(
            members: [SimulationSpec(simulationID: 1, script: spaced + "/a.sh"),
                      SimulationSpec(simulationID: 2, script: spaced + "/b.sh"),
                      SimulationSpec(simulationID: 3, script: spaced + "/c.sh")],
            tasksPerMember: 2, files: BatchJobFiles(clientArguments: [], workingDirectory: spaced, logDirectory: nil,
                                                    jobNamePrefix: "t", scriptDirectory: directory))
        XCTAssertNil(ScriptFile.write(script.joined(separator: "\n") + "\n", to: directory + "/job.sh"))
        let process = try Subprocess.spawn(SubprocessOptions(
            executable: directory + "/job.sh", environmentOverrides: ["PATH": bin + ":/usr/bin:/bin"]))
        XCTAssertEqual(process.wait(timeout: 10), .exited(code: 4))
        XCTAssertEqual(Set(TestSupport.read(directory + "/ran").split(separator: "\n")), ["a", "b", "c"])
        let calls = TestSupport.read(directory + "/srun.calls")
        XCTAssertEqual(calls.components(separatedBy: "--exact --ntasks=2").count - 1, 3, calls)
    }
}

/// Recorded outputs under Tests/MelissaLauncherTests/Fixtures.
enum Fixture {
    static func text(_ name: String) throws -> String {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        return try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}
