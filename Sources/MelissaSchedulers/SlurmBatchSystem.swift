import MelissaConfig

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
    /// Job names, scripts, output files and the submission rule shared with OAR.
    public let files: BatchJobFiles
    private let runner: SchedulerCommand

    /// Finds the Slurm commands on `searchPath`; throws `executableNotFound` before any job when one is missing.
    public init(clientArguments: [String], workingDirectory: String, logDirectory: String?,
                jobNamePrefix: String, runner: SchedulerCommand,
                searchPath: String? = ExecutableSearch.currentPath()) throws(SchedulerError) {
        sbatch = try ExecutableSearch.find("sbatch", searchPath: searchPath)
        squeue = try ExecutableSearch.find("squeue", searchPath: searchPath)
        sacct = try ExecutableSearch.find("sacct", searchPath: searchPath)
        scancel = try ExecutableSearch.find("scancel", searchPath: searchPath)
        files = BatchJobFiles(clientArguments: clientArguments, workingDirectory: workingDirectory,
                              logDirectory: logDirectory, jobNamePrefix: jobNamePrefix,
                              scriptDirectory: runner.scratchDirectory)
        self.runner = runner
    }

    // MARK: submit

    /// Writes the group's job script and submits it; retries a failed `sbatch`, but first
    /// looks for a job of the same name, so a submission that timed out is never doubled.
    public func submit(number: UInt64, members: [SimulationSpec]) -> Result<String, BatchCommandFailure> {
        let jobName = files.jobName(number)
        let tasks = Self.tasksPerSimulation(files.clientArguments)
        let script: String
        switch files.writeScript(Self.jobScript(members: members, tasksPerMember: tasks, files: files),
                                 number: number, runner: runner) {
        case let .success(path): script = path
        case let .failure(failure): return .failure(failure)
        }
        var arguments = ["--parsable", "--job-name=\(jobName)", "--chdir=\(files.workingDirectory)",
                         "--output=\(files.logDirectory.map { "\($0)/slurm.%j.out" } ?? "/dev/null")"]
        arguments += files.clientArguments
        if members.count > 1 { arguments.append("--ntasks=\(tasks * members.count)") }
        arguments.append(script)
        return files.submit("sbatch", sbatch, arguments, runner: runner,
                            existing: { self.jobIDs(named: jobName).first }, parse: Self.parseSubmission)
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
        ClientRankCount.slurmTasks(arguments) ?? 1
    }

    /// The batch script of one group (lines): one `srun` step per member, started together;
    /// the job exits with the first failing member's code so Slurm records the failure.
    public static func jobScript(members: [SimulationSpec], tasksPerMember: Int, files: BatchJobFiles) -> [String] {
        var lines = files.scriptHead(members)
        for (index, member) in members.enumerated() {
            let output = files.memberOutput(member)
            var step = ["srun"]
            if members.count > 1 { step += ["--exact", "--ntasks=\(tasksPerMember)"] }
            step += ["--output=\(output.out)", "--error=\(output.err)", member.script]
            lines.append(step.map(ScriptFile.quote).joined(separator: " ") + " &")
            lines.append("pid\(index)=$!")
        }
        return lines + BatchJobFiles.scriptTail(members: members.count)
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
