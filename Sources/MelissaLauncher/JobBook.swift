import MelissaProtocol
import MelissaSchedulers

/// The launcher's record of every group the server asked for: queue, live jobs, states.
///
/// Pure bookkeeping (no I/O), so the duplicate and job-limit rules are unit-testable.
struct JobBook {
    /// One group and what happened to it.
    struct Group: Equatable {
        let groupID: UInt32
        var members: [JobMember]
        var state: JobState
        var exitCode: Int32
        var reason: String
        /// The scheduler's job while submitted and not finished.
        var job: JobIdentifier?
        /// Submissions asked for so far (a failed group may be asked for again).
        var attempts: Int
        /// How the scheduler names its latest job ("slurm job 1234"), for the status page.
        var label: String? = nil
    }

    /// What `request` decided.
    enum Decision: Equatable {
        /// New (or run again after its earlier job ended): queued, to be submitted when a slot is free.
        case accepted(retry: Bool)
        /// The group's job is queued here or live in the scheduler: nothing submitted; the
        /// server should be re-told this state.
        case duplicate(Group)
    }

    /// Most jobs running at once (`job_limit`).
    let jobLimit: Int
    private(set) var groups: [UInt32: Group] = [:]
    /// Groups waiting for a slot, oldest first.
    private(set) var queue: [UInt32] = []
    private var groupOfJob: [JobIdentifier: UInt32] = [:]
    /// Simulations in running groups (for the progress display), kept as groups change
    /// state: the launcher reads it on every loop turn.
    private(set) var runningSimulations = 0
    /// Simulations in groups requested and not running yet: queued here or waiting in the scheduler.
    private(set) var waitingSimulations = 0

    /// Moves a group's simulations between the running and waiting tallies.
    private mutating func tally(_ state: JobState?, _ count: Int, _ sign: Int) {
        if state == .running { runningSimulations += sign * count }
        if state == .waiting { waitingSimulations += sign * count }
    }

    /// Replaces a group's record, keeping the tallies in step.
    private mutating func store(_ group: Group) {
        if let old = groups[group.groupID] { tally(old.state, old.members.count, -1) }
        tally(group.state, group.members.count, 1)
        groups[group.groupID] = group
    }

    /// An empty book allowing `jobLimit` (at least 1) concurrent jobs.
    init(jobLimit: Int) { self.jobLimit = max(1, jobLimit) }

    /// Records a new job request (a repeated request number never gets here: the request
    /// ledger answers it). A group whose earlier job ended, failed or terminated, runs again:
    /// the server asks only when it still misses data of the group (fault tolerance, e.g. a
    /// job that exited 0 without sending everything). A group whose job is queued or live is
    /// a duplicate: two jobs of one group at once would only send the same data twice.
    mutating func request(groupID: UInt32, members: [JobMember]) -> Decision {
        if let existing = groups[groupID] {
            guard existing.state == .failed || existing.state == .terminated else { return .duplicate(existing) }
            store(Group(groupID: groupID, members: members, state: .waiting, exitCode: 0, reason: "",
                        job: nil, attempts: existing.attempts + 1))
            queue.append(groupID)
            return .accepted(retry: true)
        }
        store(Group(groupID: groupID, members: members, state: .waiting, exitCode: 0, reason: "",
                    job: nil, attempts: 1))
        queue.append(groupID)
        return .accepted(retry: false)
    }

    /// Jobs submitted and not finished.
    var liveJobCount: Int { groupOfJob.count }
    /// Groups waiting for a slot.
    var queuedCount: Int { queue.count }
    /// True when a queued group may be submitted now.
    var canDispatch: Bool { !queue.isEmpty && liveJobCount < jobLimit }

    /// Takes the oldest queued group if a slot is free; the caller must then call `submitted`.
    mutating func nextToSubmit() -> Group? {
        guard canDispatch else { return nil }
        let groupID = queue.removeFirst()
        return groups[groupID]
    }

    /// Records the scheduler's job (and its name in the scheduler) for a group taken with `nextToSubmit`.
    mutating func submitted(groupID: UInt32, as job: JobIdentifier, label: String? = nil) {
        groups[groupID]?.job = job
        groups[groupID]?.label = label
        groupOfJob[job] = groupID
    }

    /// Applies a scheduler update; returns the changed group, or nil for an unknown job.
    mutating func apply(_ update: JobUpdate) -> Group? {
        guard let groupID = groupOfJob[update.job], var group = groups[groupID] else { return nil }
        group.state = Self.protocolState(update.state)
        group.exitCode = update.exitCode
        group.reason = update.reason
        if update.state.isFinal {
            groupOfJob[update.job] = nil
            group.job = nil
        }
        store(group)
        return group
    }


    /// The scheduler's state in the wire protocol's terms.
    static func protocolState(_ state: SchedulerJobState) -> JobState {
        switch state {
        case .waiting: return .waiting
        case .running: return .running
        case .terminated: return .terminated
        case .failed: return .failed
        }
    }
}
