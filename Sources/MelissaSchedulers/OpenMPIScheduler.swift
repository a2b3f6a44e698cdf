import Glibc

/// Runs each member of a job as `mpirun <client arguments...> <script>` on this machine.
///
/// Members of one job run concurrently, each as its own `Subprocess` (own process group);
/// the job ends when every member has exited. Arguments go to `mpirun` as an argument list,
/// never through a shell, so values with spaces (`-x`, `MY_VAR=a b`) arrive intact.
public final class OpenMPIScheduler: JobScheduler {
    /// One simulation of a job and what became of it.
    private struct Member {
        let spec: SimulationSpec
        var process: Subprocess?
        /// Why it could not be started, if it could not.
        var startError: String?
        /// Set once the member has exited (or failed to start).
        var outcome: ExitStatus?
    }

    /// A job and how much of its story `poll()` has told.
    private final class Job {
        let id: JobIdentifier
        var members: [Member]
        var reportedRunning = false
        /// The first failure noticed, reported as the job's reason.
        var failure: (code: Int32, reason: String)?

        init(id: JobIdentifier, members: [Member]) {
            self.id = id
            self.members = members
        }

        var isOver: Bool { members.allSatisfy { $0.outcome != nil } }
        var processes: [Subprocess] { members.compactMap(\.process) }
    }

    /// "openmpi", for logs.
    public let name = "openmpi"
    /// Absolute path of the `mpirun` used for every job.
    public let mpirun: String
    /// Arguments placed between `mpirun` and the script (`scheduler_arg_client`).
    public let clientArguments: [String]
    /// Directory jobs start in (the study directory).
    public let workingDirectory: String
    /// Where `simulation.<id>.out/.err` go; nil sends client output to /dev/null.
    public let logDirectory: String?
    /// Seconds between SIGTERM and SIGKILL when cancelling.
    public let terminationGrace: Double

    private var jobs: [JobIdentifier: Job] = [:]
    /// Submission order, so updates come out in a stable order.
    private var order: [JobIdentifier] = []
    private var nextID: UInt64 = 1

    /// Finds `mpirun` (`mpirunPath`, else on `searchPath`) and keeps the job settings.
    /// Throws `executableNotFound` when there is no mpirun, before any job is tried.
    public init(clientArguments: [String], workingDirectory: String, logDirectory: String?,
                mpirunPath: String? = nil, searchPath: String? = ExecutableSearch.currentPath(),
                terminationGrace: Double = 5) throws(SchedulerError) {
        self.mpirun = try ExecutableSearch.find(mpirunPath ?? "mpirun", searchPath: searchPath)
        self.clientArguments = clientArguments
        self.workingDirectory = workingDirectory
        self.logDirectory = logDirectory
        self.terminationGrace = terminationGrace
    }

    /// Jobs submitted and not yet reported terminated/failed.
    public var liveJobCount: Int { jobs.count }

    /// Starts every member now (one `mpirun` each); see `Scheduler.submit`.
    public func submit(_ members: [SimulationSpec]) -> JobIdentifier {
        let id = JobIdentifier(rawValue: nextID)
        nextID += 1
        let job = Job(id: id, members: members.map { Member(spec: $0) })
        for index in job.members.indices {
            let spec = job.members[index].spec
            do throws(SchedulerError) {
                job.members[index].process = try start(spec)
            } catch {
                job.members[index].startError = "simulation \(spec.simulationID) could not start: \(error)"
                job.members[index].outcome = .exited(code: -1)
                // The group is lost either way: stop what already started instead of letting it run for nothing.
                break
            }
        }
        if let failed = job.members.first(where: { $0.startError != nil }), let reason = failed.startError {
            job.failure = (-1, reason)
            // Nothing ran, so there is no "running" to report: only the failure.
            job.reportedRunning = true
            Subprocess.terminate(job.processes, grace: terminationGrace)
            for index in job.members.indices where job.members[index].outcome == nil {
                job.members[index].outcome = job.members[index].process?.exitStatus ?? .exited(code: -1)
            }
        }
        jobs[id] = job
        order.append(id)
        return id
    }

    /// Spawns one member: `mpirun <args...> <script>` in the study directory.
    private func start(_ spec: SimulationSpec) throws(SchedulerError) -> Subprocess {
        // Checked here because mpirun's own message for a missing script is long and the exit code generic.
        let scriptPath = spec.script.hasPrefix("/") ? spec.script : workingDirectory + "/" + spec.script
        guard ExecutableSearch.isExecutableFile(scriptPath) else {
            throw .notExecutable(path: scriptPath)
        }
        let output: OutputDestination
        let error: OutputDestination
        if let logDirectory {
            output = .file("\(logDirectory)/simulation.\(spec.simulationID).out")
            error = .file("\(logDirectory)/simulation.\(spec.simulationID).err")
        } else {
            output = .discard
            error = .discard
        }
        return try Subprocess.spawn(SubprocessOptions(
            executable: mpirun, arguments: clientArguments + [spec.script],
            workingDirectory: workingDirectory, standardOutput: output, standardError: error))
    }

    /// Reaps exited members and reports running, then terminated/failed, once per job.
    public func poll() -> [JobUpdate] {
        var updates: [JobUpdate] = []
        for id in order {
            guard let job = jobs[id] else { continue }
            for index in job.members.indices where job.members[index].outcome == nil {
                guard let process = job.members[index].process, let status = process.poll() else { continue }
                job.members[index].outcome = status
                if !status.isSuccess && job.failure == nil {
                    job.failure = (status.shellCode, "simulation \(job.members[index].spec.simulationID) \(status)")
                }
            }
            if !job.reportedRunning {
                job.reportedRunning = true
                updates.append(JobUpdate(job: id, state: .running))
            }
            guard job.isOver else { continue }
            if let failure = job.failure {
                updates.append(JobUpdate(job: id, state: .failed, exitCode: failure.code, reason: failure.reason))
            } else {
                updates.append(JobUpdate(job: id, state: .terminated))
            }
            jobs[id] = nil
        }
        order.removeAll { jobs[$0] == nil }
        return updates
    }

    /// Terminates one job's members (SIGTERM, grace, SIGKILL); no-op for an unknown or finished job.
    public func cancel(_ job: JobIdentifier) {
        guard let found = jobs[job] else { return }
        stop([found])
    }

    /// Terminates every live job's members together, with one shared grace period.
    public func cancelAll() {
        stop(order.compactMap { jobs[$0] })
    }

    /// Terminates the jobs' members together and marks the jobs failed as cancelled.
    private func stop(_ victims: [Job]) {
        Subprocess.terminate(victims.flatMap(\.processes), grace: terminationGrace)
        for job in victims {
            for index in job.members.indices where job.members[index].outcome == nil {
                job.members[index].outcome = job.members[index].process?.exitStatus ?? .exited(code: -1)
            }
            if job.failure == nil { job.failure = (-1, "cancelled by the launcher") }
        }
    }
}
