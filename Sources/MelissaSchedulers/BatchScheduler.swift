/// The commands of one batch system (Slurm, OAR): submit a group, ask for states, cancel.
///
/// `BatchScheduler` does the bookkeeping around them (job table, pacing, reporting order,
/// vanished jobs), so a backend is only what differs: command lines and output formats.
public protocol BatchSystem: AnyObject {
    /// Short name for logs ("slurm").
    var name: String { get }
    /// Submits one job running `members` concurrently; returns the batch system's job id, or
    /// why the submission failed (after retries), stderr included.
    func submit(number: UInt64, members: [SimulationSpec]) -> Result<String, BatchCommandFailure>
    /// The phase of each job in `ids` the batch system still knows; ids it does not know are
    /// left out. A failure means "could not ask", not "the jobs are gone".
    func query(_ ids: [String]) -> Result<[String: BatchJobPhase], BatchCommandFailure>
    /// Asks the batch system to kill these jobs.
    func cancel(_ ids: [String]) -> BatchCommandFailure?
}

/// A batch command that failed for good: which command and what it said.
public struct BatchCommandFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The command line, for the message.
    public var command: String
    /// How it failed (`CommandResult.failureSummary`), stderr included.
    public var detail: String
    /// How many times it was tried.
    public var attempts: Int

    /// Creates a failure record.
    public init(command: String, detail: String, attempts: Int) {
        self.command = command
        self.detail = detail
        self.attempts = attempts
    }

    /// "sbatch failed after 4 tries: exited with code 1: sbatch: error: ...".
    public var description: String {
        "\(command) failed\(attempts > 1 ? " after \(attempts) tries" : ""): \(detail)"
    }
}

/// A `JobScheduler` over a batch system: jobs are submitted with the system's own command
/// and their states read back by polling it, at most once per `pollInterval` (`timer_delay`)
/// so that a busy launcher never floods the controller.
public final class BatchScheduler: JobScheduler {
    private final class Job {
        let id: JobIdentifier
        let batchID: String?
        /// Set when the submission itself failed: reported failed at the next poll.
        let submitFailure: BatchCommandFailure?
        var reportedRunning = false
        var cancelRequested = false
        /// Consecutive successful queries that did not list the job.
        var missing = 0

        init(id: JobIdentifier, batchID: String?, submitFailure: BatchCommandFailure?) {
            self.id = id
            self.batchID = batchID
            self.submitFailure = submitFailure
        }
    }

    /// Queries in a row that must miss a job before it counts as vanished (a job can be
    /// briefly absent between the queue and the accounting records).
    static let vanishAfter = 3

    /// The batch system's commands.
    public let system: any BatchSystem
    /// Shortest time between two state queries, in seconds.
    public let pollInterval: Double
    /// Longest wait in `cancelAll` for the batch system to confirm every job ended.
    public let cancelWait: Double
    /// Receives one line per notable event (a query that failed, an unknown state word).
    public var log: (String) -> Void = { _ in }

    private var jobs: [JobIdentifier: Job] = [:]
    private var order: [JobIdentifier] = []
    private var nextID: UInt64 = 1
    private var lastQuery = -Double.infinity

    /// Wraps `system`; polls it at most every `pollInterval` seconds.
    public init(system: any BatchSystem, pollInterval: Double, cancelWait: Double = 30) {
        self.system = system
        self.pollInterval = max(0.1, pollInterval)
        self.cancelWait = cancelWait
    }

    /// The batch system's name.
    public var name: String { system.name }
    /// Jobs submitted and not yet reported terminated/failed.
    public var liveJobCount: Int { jobs.count }

    /// The batch system's id of a live job ("1234"), for logs and tests.
    public func batchID(of job: JobIdentifier) -> String? { jobs[job]?.batchID }

    /// "slurm job 1234"; "slurm submission 3 (refused)" for a job the batch system never accepted.
    public func label(of job: JobIdentifier) -> String {
        guard let batchID = jobs[job]?.batchID else { return "\(system.name) submission \(job.rawValue) (refused)" }
        return "\(system.name) job \(batchID)"
    }

    /// Submits through the batch system; a refused submission is reported failed by `poll()`.
    public func submit(_ members: [SimulationSpec]) -> JobIdentifier {
        let id = JobIdentifier(rawValue: nextID)
        let number = nextID
        nextID += 1
        let job: Job
        switch system.submit(number: number, members: members) {
        case let .success(batchID): job = Job(id: id, batchID: batchID, submitFailure: nil)
        case let .failure(failure): job = Job(id: id, batchID: nil, submitFailure: failure)
        }
        jobs[id] = job
        order.append(id)
        // A new job is worth a look soon, but the pacing still holds.
        return id
    }

    /// State changes since the last call. Asks the batch system only when `pollInterval` has
    /// passed since the last query; otherwise reports only submissions that failed.
    public func poll() -> [JobUpdate] {
        var updates: [JobUpdate] = []
        for id in order {
            guard let job = jobs[id], let failure = job.submitFailure else { continue }
            updates.append(JobUpdate(job: id, state: .failed, exitCode: -1, reason: failure.description))
            jobs[id] = nil
        }
        let now = MonotonicClock.now()
        let live = order.compactMap { jobs[$0] }
        if !live.isEmpty && now - lastQuery >= pollInterval {
            lastQuery = now
            updates += query(live)
        }
        order.removeAll { jobs[$0] == nil }
        return updates
    }

    private func query(_ live: [Job]) -> [JobUpdate] {
        let phases: [String: BatchJobPhase]
        switch system.query(live.compactMap(\.batchID)) {
        case let .success(found): phases = found
        case let .failure(failure):
            log("cannot read job states, will try again: \(failure)")
            return []
        }
        var updates: [JobUpdate] = []
        for job in live {
            guard let batchID = job.batchID else { continue }
            guard let phase = phases[batchID] else {
                job.missing += 1
                if job.missing >= Self.vanishAfter {
                    updates.append(finalUpdate(job, .failed, -1,
                                               "\(system.name) job \(batchID) vanished (the \(system.name) commands no longer know it)"))
                }
                continue
            }
            job.missing = 0
            switch phase {
            case .waiting:
                break
            case .running:
                if !job.reportedRunning {
                    job.reportedRunning = true
                    updates.append(JobUpdate(job: job.id, state: .running))
                }
            case let .final(state, code, reason):
                // A job that ran and ended between two polls still tells the server it ran.
                if !job.reportedRunning && state == .terminated {
                    updates.append(JobUpdate(job: job.id, state: .running))
                }
                let why = job.cancelRequested && state == .failed ? "cancelled by the launcher (\(reason))" : reason
                updates.append(finalUpdate(job, state, state == .terminated ? 0 : code, why))
            case let .unknown(word):
                log("\(system.name) job \(batchID) is in a state this launcher does not know (\"\(word)\"); still watching it")
            }
        }
        return updates
    }

    private func finalUpdate(_ job: Job, _ state: SchedulerJobState, _ code: Int32, _ reason: String) -> JobUpdate {
        jobs[job.id] = nil
        let prefix = job.batchID.map { "\(system.name) job \($0): " } ?? ""
        return JobUpdate(job: job.id, state: state, exitCode: code, reason: state == .failed ? prefix + reason : "")
    }

    /// Asks the batch system to kill the job; the next polls report it failed.
    public func cancel(_ job: JobIdentifier) {
        guard let found = jobs[job], let batchID = found.batchID else { return }
        found.cancelRequested = true
        if let failure = system.cancel([batchID]) { log("cannot cancel \(system.name) job \(batchID): \(failure)") }
        lastQuery = -Double.infinity
    }

    /// Cancels every live job with one command and waits (up to `cancelWait`) until the batch
    /// system shows none of them queued or running, so nothing is left behind at exit.
    public func cancelAll() {
        let live = order.compactMap { jobs[$0] }.filter { $0.batchID != nil }
        guard !live.isEmpty else { return }
        for job in live { job.cancelRequested = true }
        let ids = live.compactMap(\.batchID)
        if let failure = system.cancel(ids) { log("cannot cancel \(system.name) jobs \(ids.joined(separator: ",")): \(failure)") }
        let deadline = MonotonicClock.now() + cancelWait
        while MonotonicClock.now() < deadline {
            if case let .success(phases) = system.query(ids),
               !phases.values.contains(where: { if case .final = $0 { return false } else { return true } }) {
                break
            }
            MonotonicClock.sleep(0.2)
        }
        lastQuery = -Double.infinity
    }
}
