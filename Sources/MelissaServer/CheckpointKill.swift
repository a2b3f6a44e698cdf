import MelissaCheckpoint

/// Fault injection for crash-safety tests (`MELISSA_FAULT_KILL_IN_CHECKPOINT`): a server rank
/// that kills itself with SIGKILL while it writes a given checkpoint, in a given server run.
public struct CheckpointKill: Equatable, Sendable {
    /// The server rank that dies.
    public var rank: Int
    /// The checkpoint number it dies writing.
    public var sequence: UInt64
    /// Where in the write.
    public var stage: CheckpointStore.WriteStage
    /// In which server run: 0 the study's first, n its n-th restart (`MELISSA_SERVER_RESTARTS`).
    public var restart: Int

    /// Parses a comma-separated list of `<rank>:<checkpoint number>[:half|renames][@<restart>]`
    /// (stage `half` and restart 0 by default); unset or empty is no fault. Anything else is
    /// refused naming the variable, so a typo never runs a fault test without its fault.
    public static func parse(_ raw: String?) throws -> [CheckpointKill] {
        guard let raw, !raw.isEmpty else { return [] }
        return try raw.split(separator: ",", omittingEmptySubsequences: false).map { item in
            let bad = ServerError.environment(
                "MELISSA_FAULT_KILL_IN_CHECKPOINT must be a comma-separated list of <rank>:<checkpoint number ≥ 1>[:half|renames][@<restart ≥ 0>], got '\(raw)'")
            let at = item.split(separator: "@", omittingEmptySubsequences: false)
            guard at.count <= 2 else { throw bad }
            var restart = 0
            if at.count == 2 {
                guard let n = Int(at[1]), n >= 0 else { throw bad }
                restart = n
            }
            let parts = at[0].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let stage = parts.count == 3 ? CheckpointStore.WriteStage(rawValue: parts[2]) : parts.count == 2 ? .halfWritten : nil
            guard let stage, let rank = Int(parts[0]), rank >= 0, let sequence = UInt64(parts[1]), sequence >= 1 else { throw bad }
            return CheckpointKill(rank: rank, sequence: sequence, stage: stage, restart: restart)
        }
    }
}
