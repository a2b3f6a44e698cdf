import Foundation

/// OAR (2.5) through its own commands: `oarsub` to submit, `oarstat -f -J` to poll,
/// `oardel` to cancel.
///
/// A group of k simulations is one OAR job whose script starts every member at once with
/// `mpirun` on the job's cores (`$OAR_NODEFILE`), k-th share each. `scheduler_arg_client`
/// holds `oarsub` options for the whole job (e.g. `-l`, `nodes=1/core=2,walltime=1:0:0`).
public final class OARBatchSystem: BatchSystem {
    /// "oar".
    public let name = "oar"
    /// `oarsub`, `oarstat`, `oardel`, resolved once at start-up.
    public let oarsub: String, oarstat: String, oardel: String
    /// Job names, scripts, output files and the submission rule shared with Slurm.
    public let files: BatchJobFiles
    private let runner: SchedulerCommand

    /// Finds the OAR commands on `searchPath`; throws `executableNotFound` when one is missing.
    public init(clientArguments: [String], workingDirectory: String, logDirectory: String?,
                jobNamePrefix: String, runner: SchedulerCommand,
                searchPath: String? = ExecutableSearch.currentPath()) throws(SchedulerError) {
        oarsub = try ExecutableSearch.find("oarsub", searchPath: searchPath)
        oarstat = try ExecutableSearch.find("oarstat", searchPath: searchPath)
        oardel = try ExecutableSearch.find("oardel", searchPath: searchPath)
        files = BatchJobFiles(clientArguments: clientArguments, workingDirectory: workingDirectory,
                              logDirectory: logDirectory, jobNamePrefix: jobNamePrefix,
                              scriptDirectory: runner.scratchDirectory)
        self.runner = runner
    }

    // MARK: submit

    /// Writes the group's script and submits it with `oarsub`; before a retry, looks for a
    /// job of the same name so a submission that timed out is not doubled.
    public func submit(number: UInt64, members: [SimulationSpec]) -> Result<String, BatchCommandFailure> {
        let jobName = files.jobName(number)
        let script: String
        switch files.writeScript(Self.jobScript(members: members, files: files), number: number, runner: runner) {
        case let .success(path): script = path
        case let .failure(failure): return .failure(failure)
        }
        let log = files.logDirectory.map { "\($0)/oar.%jobid%" } ?? "/dev/null"
        let arguments = ["--name=\(jobName)", "--directory=\(files.workingDirectory)",
                         "--stdout=\(log).out", "--stderr=\(log).err"] + files.clientArguments + [script]
        return files.submit("oarsub", oarsub, arguments, runner: runner,
                            existing: { self.jobID(named: jobName) }, parse: Self.parseSubmission)
    }

    /// The id of this launcher's job called `name`, if OAR has it.
    private func jobID(named name: String) -> String? {
        let result = runner.runOnce(oarstat, ["-J", "--sql", "job_name = '\(name)'"])
        guard result.succeeded, let jobs = Self.jsonObject(result.output) else { return nil }
        return jobs.keys.sorted().first
    }

    /// The job id from oarsub's output ("OAR_JOB_ID=42"); nil for a refusal ("OAR_JOB_ID=-5").
    public static func parseSubmission(_ output: String) -> String? {
        for line in output.split(whereSeparator: \.isNewline) {
            let text = line.trimmed
            guard text.hasPrefix("OAR_JOB_ID=") else { continue }
            let id = String(text.dropFirst("OAR_JOB_ID=".count))
            return !id.isEmpty && id.allSatisfy(\.isNumber) ? id : nil
        }
        return nil
    }

    /// The OAR job script of one group (lines): every member under `mpirun` on its share of the
    /// job's cores, started together; exits with the first failing member's code.
    public static func jobScript(members: [SimulationSpec], files: BatchJobFiles) -> [String] {
        var lines = files.scriptHead(members) + [
            "cores=$(wc -l < \"${OAR_NODEFILE:-/dev/null}\")",
            "per=$(( cores / \(members.count) )); [ \"$per\" -ge 1 ] || per=1"]
        for (index, member) in members.enumerated() {
            let output = files.memberOutput(member)
            lines.append("mpirun -np \"$per\" -machinefile \"$OAR_NODEFILE\" \(ScriptFile.quote(member.script))"
                         + " > \(ScriptFile.quote(output.out)) 2> \(ScriptFile.quote(output.err)) &")
            lines.append("pid\(index)=$!")
        }
        return lines + BatchJobFiles.scriptTail(members: members.count)
    }

    // MARK: query

    /// `oarstat -f -J -j A -j B ...`: finished jobs too, with their exit codes and events.
    public func query(_ ids: [String]) -> Result<[String: BatchJobPhase], BatchCommandFailure> {
        guard !ids.isEmpty else { return .success([:]) }
        let (result, attempts) = runner.run(oarstat, ["-f", "-J"] + ids.flatMap { ["-j", $0] })
        guard result.succeeded else {
            return .failure(BatchCommandFailure(command: "oarstat", detail: result.failureSummary, attempts: attempts))
        }
        return .success(Self.parseStatus(result.output))
    }

    /// Parses `oarstat -f -J` output (an object keyed by job id); empty output (unknown jobs) is no job.
    public static func parseStatus(_ output: String) -> [String: BatchJobPhase] {
        guard let jobs = jsonObject(output) else { return [:] }
        var phases: [String: BatchJobPhase] = [:]
        for (id, value) in jobs {
            guard let job = value as? [String: Any], let state = job["state"] as? String else { continue }
            let events = (job["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            phases[id] = phase(state: state, exitCode: (job["exit_code"] as? NSNumber)?.int32Value, events: events)
        }
        return phases
    }

    /// OAR 2.5's job states mapped onto the server's. `exitCode` is OAR's raw wait status
    /// (768 = exit code 3); `events` are the job's event types, which say why a job ended in Error.
    public static func phase(state: String, exitCode: Int32?, events: [String]) -> BatchJobPhase {
        switch state {
        case "Waiting", "Hold", "toLaunch", "toAckReservation", "Launching":
            return .waiting
        case "Running", "Suspended", "Resuming", "Finishing", "toError":
            return .running
        case "Terminated":
            guard let raw = exitCode, raw != 0 else { return .final(state: .terminated, exitCode: 0, reason: "") }
            let exit = SlurmExit(code: (raw >> 8) & 0xff, signal: raw & 0x7f)
            return .final(state: .failed, exitCode: exit.shellCode, reason: "OAR job ended, \(exit)")
        case "Error":
            let reason: String
            if events.contains("WALLTIME") {
                reason = "OAR job reached its walltime"
            } else if events.contains("FRAG_JOB_REQUEST") {
                reason = "OAR job deleted (oardel)"
            } else if let last = events.last {
                reason = "OAR job in Error (last event \(last))"
            } else {
                reason = "OAR job in Error"
            }
            return .final(state: .failed, exitCode: -1, reason: reason)
        default:
            return .unknown(state)
        }
    }

    static func jsonObject(_ text: String) -> [String: Any]? {
        guard !text.trimmed.isEmpty, let data = text.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    // MARK: cancel

    /// `oardel ids...`, retried; a job that is already over is not an error.
    public func cancel(_ ids: [String]) -> BatchCommandFailure? {
        guard !ids.isEmpty else { return nil }
        let (result, attempts) = runner.run(oardel, ids)
        // oardel exits non-zero for a job that already finished; that job needs nothing more.
        if result.succeeded || result.output.contains("REGISTERED") || result.output.contains("already") { return nil }
        return BatchCommandFailure(command: "oardel", detail: result.failureSummary, attempts: attempts)
    }
}
