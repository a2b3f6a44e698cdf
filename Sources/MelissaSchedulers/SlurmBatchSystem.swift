/// Slurm through its own commands: `sbatch --parsable` to submit, `squeue` (then `sacct`,
/// then `sacct -c` for jobs already purged from the controller) to poll, `scancel` to cancel.
///
/// A group of k simulations is one batch job with one job step per member (`srun --exact`),
/// all started together. `scheduler_arg_client` holds `sbatch` options for ONE simulation;
/// its task count (`-n`/`--ntasks`, default 1) is multiplied by k for the group's job.
public final class SlurmBatchSystem: BatchSystem {
    /// "slurm".
    public let name = "slurm"
    /// `sbatch`, `squeue`, `sacct`, `scancel`, resolved once at start-up.
    public let sbatch: String, squeue: String, sacct: String, scancel: String
    /// `scheduler_arg_client`: sbatch options describing one simulation.
    public let clientArguments: [String]
    /// Directory jobs start in (the study directory).
    public let workingDirectory: String
    /// Where job scripts are written (`<study>/scheduler`).
    public let scriptDirectory: String
    /// Where `simulation.<id>.out/.err` go; nil sends client output to /dev/null.
    public let logDirectory: String?
    /// Prefix of every job name, unique to this launcher ("melissa.4711"), so a submission
    /// that timed out can be found before it is retried.
    public let jobNamePrefix: String
    private let runner: SchedulerCommand

    /// Finds the Slurm commands on `searchPath`; throws `executableNotFound` before any job when one is missing.
    public init(clientArguments: [String], workingDirectory: String, logDirectory: String?,
                jobNamePrefix: String, runner: SchedulerCommand,
                searchPath: String? = ExecutableSearch.currentPath()) throws(SchedulerError) {
        sbatch = try ExecutableSearch.find("sbatch", searchPath: searchPath)
        squeue = try ExecutableSearch.find("squeue", searchPath: searchPath)
        sacct = try ExecutableSearch.find("sacct", searchPath: searchPath)
        scancel = try ExecutableSearch.find("scancel", searchPath: searchPath)
        self.clientArguments = clientArguments
        self.workingDirectory = workingDirectory
        self.scriptDirectory = runner.scratchDirectory
        self.logDirectory = logDirectory
        self.jobNamePrefix = jobNamePrefix
        self.runner = runner
    }

    // MARK: submit

    /// Writes the group's job script and submits it; retries a failed `sbatch`, but first
    /// looks for a job of the same name, so a submission that timed out is never doubled.
    public func submit(number: UInt64, members: [SimulationSpec]) -> Result<String, BatchCommandFailure> {
        let jobName = "\(jobNamePrefix).\(number)"
        let scriptPath = "\(scriptDirectory)/job.\(number).sh"
        let tasks = Self.tasksPerSimulation(clientArguments)
        let script = Self.jobScript(members: members, tasksPerMember: tasks, workingDirectory: workingDirectory,
                                    logDirectory: logDirectory)
        runner.ensureScratchDirectory()
        if let problem = ScriptFile.write(script, to: scriptPath) {
            return .failure(BatchCommandFailure(command: "writing \(scriptPath)", detail: problem, attempts: 1))
        }
        var arguments = ["--parsable", "--job-name=\(jobName)", "--chdir=\(workingDirectory)",
                         "--output=\(logDirectory.map { "\($0)/slurm.%j.out" } ?? "/dev/null")"]
        arguments += clientArguments
        if members.count > 1 { arguments.append("--ntasks=\(tasks * members.count)") }
        arguments.append(scriptPath)
        let (result, attempts) = runner.run(sbatch, arguments, beforeRetry: { _ in
            // Accepted despite the error (a timeout after the controller queued it)?
            guard let existing = self.jobIDs(named: jobName).first else { return nil }
            return CommandResult(status: .exited(code: 0), output: existing, error: "")
        })
        guard result.succeeded, let id = Self.parseSubmission(result.output) else {
            let detail = result.succeeded ? "unexpected output \"\(result.output.trimmedLines)\"" : result.failureSummary
            return .failure(BatchCommandFailure(command: "sbatch", detail: detail, attempts: attempts))
        }
        return .success(id)
    }

    /// Ids of the jobs called `name` that Slurm still knows.
    private func jobIDs(named name: String) -> [String] {
        let result = runner.runOnce(squeue, ["-h", "-t", "all", "--name=\(name)", "-o", "%i"])
        guard result.succeeded else { return [] }
        return result.output.split(whereSeparator: \.isNewline).map(\.trimmed).filter { !$0.isEmpty }
    }

    /// The job id from `sbatch --parsable` output: "1234" or "1234;cluster".
    public static func parseSubmission(_ output: String) -> String? {
        guard let line = output.split(whereSeparator: \.isNewline).map(\.trimmed).last(where: { !$0.isEmpty }),
              let id = line.split(separator: ";").first.map(String.init),
              !id.isEmpty, id.allSatisfy(\.isNumber) else { return nil }
        return id
    }

    /// Tasks one simulation asks for in `scheduler_arg_client` (`-n N`, `-nN`, `--ntasks=N`,
    /// `--ntasks N`; the last one wins, as in sbatch); 1 when not given.
    public static func tasksPerSimulation(_ arguments: [String]) -> Int {
        var tasks = 1
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument == "-n" || argument == "--ntasks", let next, let value = Int(next), value > 0 {
                tasks = value
                index += 1
            } else if argument.hasPrefix("--ntasks="), let value = Int(argument.dropFirst(9)), value > 0 {
                tasks = value
            } else if argument.hasPrefix("-n"), !argument.hasPrefix("--"), let value = Int(argument.dropFirst(2)), value > 0 {
                tasks = value
            }
            index += 1
        }
        return tasks
    }

    /// The batch script of one group: one `srun` step per member, started together; the job
    /// exits with the first failing member's code so Slurm records the failure.
    public static func jobScript(members: [SimulationSpec], tasksPerMember: Int, workingDirectory: String,
                                 logDirectory: String?) -> String {
        var lines = ["#!/bin/sh",
                     "# Generated by melissa-launcher: simulations "
                        + members.map { String($0.simulationID) }.joined(separator: ", ") + ".",
                     "cd \(ScriptFile.quote(workingDirectory)) || exit 1"]
        for (index, member) in members.enumerated() {
            let out = logDirectory.map { "\($0)/simulation.\(member.simulationID).out" } ?? "/dev/null"
            let err = logDirectory.map { "\($0)/simulation.\(member.simulationID).err" } ?? "/dev/null"
            var step = ["srun"]
            if members.count > 1 { step += ["--exact", "--ntasks=\(tasksPerMember)"] }
            step += ["--output=\(out)", "--error=\(err)", member.script]
            lines.append(step.map(ScriptFile.quote).joined(separator: " ") + " &")
            lines.append("pid\(index)=$!")
        }
        lines.append("rc=0")
        for index in members.indices {
            lines.append("wait $pid\(index); code=$?; [ $rc -ne 0 ] || rc=$code")
        }
        lines.append("exit $rc")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: query

    /// `squeue` for jobs the controller still holds; `sacct` (accounting database), then
    /// `sacct -c` (job-completion file) for the rest.
    public func query(_ ids: [String]) -> Result<[String: BatchJobPhase], BatchCommandFailure> {
        guard !ids.isEmpty else { return .success([:]) }
        let list = ids.joined(separator: ",")
        let (queue, attempts) = runner.run(squeue, ["-h", "-t", "all", "-j", list,
                                                     "-O", "JobID:|,State:|,Reason:|,exit_code:"],
                                            retryable: { !Self.isUnknownJobError($0) })
        var found: [String: BatchJobPhase] = [:]
        if queue.succeeded {
            found = Self.parseSqueue(queue.output)
        } else if !Self.isUnknownJobError(queue) {
            return .failure(BatchCommandFailure(command: "squeue", detail: queue.failureSummary, attempts: attempts))
        }
        for fromFile in [false, true] {
            let missing = ids.filter { found[$0] == nil }
            guard !missing.isEmpty else { break }
            let result = runner.runOnce(sacct, (fromFile ? ["-c"] : []) + ["-X", "-n", "-P", "-o", "JobIDRaw,State,ExitCode",
                                                                          "-j", missing.joined(separator: ",")])
            if result.succeeded { found.merge(Self.parseSacct(result.output)) { first, _ in first } }
        }
        return .success(found)
    }

    /// squeue says this when none of the ids exists any more: not a failure of the command.
    static func isUnknownJobError(_ result: CommandResult) -> Bool {
        result.error.contains("Invalid job id")
    }

    /// Parses `squeue -h -O "JobID:|,State:|,Reason:|,exit_code:"` lines ("12|FAILED|NonZeroExitCode|768").
    public static func parseSqueue(_ output: String) -> [String: BatchJobPhase] {
        var phases: [String: BatchJobPhase] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(\.trimmed)
            guard fields.count >= 4, !fields[0].isEmpty else { continue }
            let exit = SlurmExit(waitStatus: fields[3]) ?? .none
            phases[fields[0]] = SlurmStates.phase(state: fields[1], reason: fields[2], exit: exit)
        }
        return phases
    }

    /// Parses `sacct -X -n -P -o JobIDRaw,State,ExitCode` lines ("12|CANCELLED by 0|0:15").
    public static func parseSacct(_ output: String) -> [String: BatchJobPhase] {
        var phases: [String: BatchJobPhase] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(\.trimmed)
            guard fields.count >= 3, !fields[0].isEmpty else { continue }
            let exit = SlurmExit(codeColonSignal: fields[2]) ?? .none
            phases[fields[0]] = SlurmStates.phase(state: fields[1], reason: "", exit: exit)
        }
        return phases
    }

    // MARK: cancel

    /// Cancels every job called `name` (the server's `srun` job) and waits up to `wait`
    /// seconds until Slurm lists none of them as queued or running.
    public func cancel(named name: String, wait: Double, log: (String) -> Void) {
        let (result, attempts) = runner.run(scancel, ["--name=\(name)"])
        if !result.succeeded {
            log(BatchCommandFailure(command: "scancel --name=\(name)", detail: result.failureSummary, attempts: attempts).description)
        }
        let deadline = MonotonicClock.now() + wait
        while MonotonicClock.now() < deadline {
            let live = runner.runOnce(squeue, ["-h", "--name=\(name)", "-t", "PD,R,CG,S,CF,RQ,SO", "-o", "%i"])
            if live.succeeded && live.output.trimmed.isEmpty { return }
            MonotonicClock.sleep(0.2)
        }
        log("Slurm still lists job \(name) \(Int(wait)) s after scancel")
    }

    /// `scancel ids...`, retried; a job already gone is not an error.
    public func cancel(_ ids: [String]) -> BatchCommandFailure? {
        guard !ids.isEmpty else { return nil }
        let (result, attempts) = runner.run(scancel, ids, retryable: { !Self.isUnknownJobError($0) })
        guard result.succeeded || Self.isUnknownJobError(result) else {
            return BatchCommandFailure(command: "scancel", detail: result.failureSummary, attempts: attempts)
        }
        return nil
    }
}
