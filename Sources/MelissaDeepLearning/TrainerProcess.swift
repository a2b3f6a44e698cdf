import Foundation
import MelissaServer

/// A rank's trainer: `python -m melissa_dl.trainer`, started by the rank, output in
/// `trainer.rank<r>.log` in the study directory. The trainer dies with its rank (it sets
/// `PR_SET_PDEATHSIG` and watches its parent), so a server killed with -9 leaves none behind.
final class TrainerProcess {
    let process = Process()
    let logPath: String

    /// Starts the trainer with the environment it needs to reach its rank and its peers.
    init(python: String, pythonPath: String?, studyDirectory: String, rank: Int, worldSize: Int,
         endpoint: String, masterAddress: String, masterPort: Int) throws {
        logPath = "\(studyDirectory)/trainer.rank\(rank).log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let output = FileHandle(forWritingAtPath: logPath) else {
            throw ServerError.setup("cannot create the trainer log \(logPath)")
        }
        output.seekToEndOfFile()
        // A bare name is looked up on PATH, as a shell would.
        if python.contains("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-u", "-m", "melissa_dl.trainer"]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, "-u", "-m", "melissa_dl.trainer"]
        }
        var environment = ProcessInfo.processInfo.environment
        // Open MPI's variables would make torch or mpi4py in the trainer think it is an MPI rank.
        for key in environment.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") { environment[key] = nil }
        if let pythonPath {
            environment["PYTHONPATH"] = [pythonPath, environment["PYTHONPATH"]].compactMap { $0 }.filter { !$0.isEmpty }
                .joined(separator: ":")
        }
        environment["MELISSA_DL_ENDPOINT"] = endpoint
        environment["RANK"] = String(rank)
        environment["WORLD_SIZE"] = String(worldSize)
        environment["MASTER_ADDR"] = masterAddress
        environment["MASTER_PORT"] = String(masterPort)
        environment["MELISSA_DL_PARENT_PID"] = String(getpid())
        // The rank may be bound to one core by mpirun; the trainer's torch threads should not be.
        environment["MELISSA_DL_UNBIND"] = "1"
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ServerError.setup("cannot start the trainer '\(python) -m melissa_dl.trainer': \(error.localizedDescription) (dl_config.python)")
        }
    }

    /// Whether the trainer is still running.
    var isRunning: Bool { process.isRunning }

    /// How it ended, once it has: "exit 0", "exit 1", "signal 9".
    var ending: String {
        process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    /// Whether it ended with exit status 0.
    var succeeded: Bool { !process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0 }

    /// The last lines of its log, for error messages.
    func logTail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Ends it (SIGTERM, then SIGKILL after `grace` seconds).
    func terminate(grace: Double = 5) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date() + grace
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
