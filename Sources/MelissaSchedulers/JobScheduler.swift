/// One simulation of a job: its id and the client script that runs it.
public struct SimulationSpec: Equatable, Hashable, Sendable {
    /// The simulation id the server assigned.
    public var simulationID: UInt32
    /// Path of the client script (absolute, or relative to the scheduler's working directory).
    public var script: String

    /// Creates a member for `simulationID` running `script`.
    public init(simulationID: UInt32, script: String) {
        self.simulationID = simulationID
        self.script = script
    }
}

/// Identifies a job a scheduler accepted; unique for the scheduler's lifetime.
public struct JobIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// The scheduler's own number for the job.
    public let rawValue: UInt64

    /// Wraps a scheduler-assigned number.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// "job 3".
    public var description: String { "job \(rawValue)" }
}

/// A job's state as a scheduler sees it. Mirrors the wire protocol's `JobState` on purpose
/// but is its own type, so this module does not depend on the protocol.
public enum SchedulerJobState: Sendable, Equatable, CustomStringConvertible {
    /// Accepted, nothing started yet.
    case waiting
    /// At least one member was started and not every member has exited.
    case running
    /// Every member exited with code 0.
    case terminated
    /// A member exited non-zero, was killed, or could not start (or the job was cancelled).
    case failed

    /// True for `terminated` and `failed`: no further update follows.
    public var isFinal: Bool { self == .terminated || self == .failed }

    /// The state as a lowercase word.
    public var description: String {
        switch self {
        case .waiting: return "waiting"
        case .running: return "running"
        case .terminated: return "terminated"
        case .failed: return "failed"
        }
    }
}

/// A state change reported by `JobScheduler.poll()`.
public struct JobUpdate: Equatable, Sendable, CustomStringConvertible {
    /// The job that changed.
    public var job: JobIdentifier
    /// Its new state.
    public var state: SchedulerJobState
    /// 0 unless failed: the failing member's exit code, 128 + signal when it was killed,
    /// -1 when it never started or the job was cancelled.
    public var exitCode: Int32
    /// Empty unless failed: why, e.g. "simulation 3 exited with code 1".
    public var reason: String

    /// Creates an update.
    public init(job: JobIdentifier, state: SchedulerJobState, exitCode: Int32 = 0, reason: String = "") {
        self.job = job
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
    }

    /// "job 3 failed (exit code 1): simulation 3 exited with code 1".
    public var description: String {
        reason.isEmpty ? "\(job) \(state)" : "\(job) \(state) (exit code \(exitCode)): \(reason)"
    }
}

/// A batch system or MPI launcher that runs jobs (groups of simulations) for the launcher.
///
/// Single-threaded by design: the launcher calls it from its one poll loop, so nothing
/// here locks. Every job moves waiting -> running -> terminated/failed, and `poll()`
/// reports each state once, in that order (a job that already ended by the first poll
/// still reports `running` before its final state, so the server sees a uniform story;
/// only a job that could not start at all goes straight to `failed`).
public protocol JobScheduler: AnyObject {
    /// Short name for logs ("openmpi").
    var name: String { get }
    /// Jobs accepted and not yet reported terminated/failed.
    var liveJobCount: Int { get }
    /// Starts a job whose members run concurrently. Never throws: a member that cannot
    /// start makes the job fail, which `poll()` reports like any other failure.
    func submit(_ members: [SimulationSpec]) -> JobIdentifier
    /// Checks every live job without blocking and returns the state changes since the last call.
    func poll() -> [JobUpdate]
    /// Stops one job (graceful, then forced); the next `poll()` reports it failed.
    func cancel(_ job: JobIdentifier)
    /// Stops every live job at once, with one shared grace period.
    func cancelAll()
    /// How logs name a live job ("job 3", "slurm job 1234").
    func label(of job: JobIdentifier) -> String
}

extension JobScheduler {
    /// The launcher's own number ("job 3") unless the backend knows better.
    public func label(of job: JobIdentifier) -> String { "\(name) \(job)" }
}
