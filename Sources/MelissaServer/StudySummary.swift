/// What rank 0 knows at the end of a study, handed to the flavor's `studyWillEnd` hook
/// (for its report) after the counters are summed over every rank.
public struct StudySummary: Sendable {
    /// Simulations in the study (groups × members for Sobol).
    public let simulations: Int
    public let finished: Int
    public let failed: Int
    /// Failed simulations with the reason each failed.
    public let failures: [(simulation: Int, reason: String)]
    /// Seconds from server start to the end of the study.
    public let wallTime: Double
    /// Receive and drop counters summed over every server rank.
    public let counters: ServerCounters
    public let serverRanks: Int
    /// Why the study ended early (nil when it ran to completion).
    public let stopReason: String?
    /// Problems that leave the results incomplete.
    public let errors: [String]
    /// The exit code the server will end with.
    public let exitCode: Int32
    /// Jobs run again with the same parameters, new parameter draws, groups given up, and
    /// server restarts (docs/FAULTS.md).
    public let resubmitted: Int
    public let redrawn: Int
    public let givenUp: Int
    public let serverRestarts: Int
}
