/// What a batch system's word for a job's state means for the launcher.
public enum BatchJobPhase: Equatable, Sendable {
    /// Queued, held or being set up: nothing of it runs yet.
    case waiting
    /// Started (or suspended after starting, or finishing its epilog).
    case running
    /// Over: `state` is terminated or failed, with the exit code and why.
    case final(state: SchedulerJobState, exitCode: Int32, reason: String)
    /// A word this code does not know: keep the previous state and look again later.
    case unknown(String)
}

/// Slurm's job states (`squeue -O State`, `sacct -o State`) mapped onto the server's job states.
///
/// The table follows Slurm 22.05's `squeue(1)` "JOB STATE CODES". Every final state other
/// than COMPLETED is a failure; the exit code is the job's (`ExitCode` / `exit_code`), or
/// 128 + signal when it was killed, or -1 when Slurm ended it without an exit (cancel,
/// node failure, time limit).
public enum SlurmStates {
    /// Interprets one job's state word, its reason, and its exit code.
    public static func phase(state rawState: String, reason: String, exit: SlurmExit) -> BatchJobPhase {
        // sacct writes "CANCELLED by 0"; squeue writes "CANCELLED".
        let state = rawState.split(separator: " ").first.map(String.init)?.uppercased() ?? ""
        let why = reason == "None" || reason.isEmpty ? "" : " (\(reason))"
        switch state {
        case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT":
            return .waiting
        case "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING":
            return .running
        case "COMPLETED":
            return .final(state: .terminated, exitCode: 0, reason: "")
        case "FAILED":
            return .final(state: .failed, exitCode: exit.shellCode, reason: "Slurm job failed, \(exit)\(why)")
        case "CANCELLED":
            return .final(state: .failed, exitCode: exit.signal > 0 ? exit.shellCode : -1,
                          reason: "Slurm job cancelled\(rawState.contains(" by ") ? " " + rawState.split(separator: " ", maxSplits: 1)[1] : "")\(why)")
        case "TIMEOUT":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job reached its time limit\(why)")
        case "NODE_FAIL":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job ended by a node failure\(why)")
        case "BOOT_FAIL":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job's node failed to boot\(why)")
        case "DEADLINE":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job missed its deadline\(why)")
        case "OUT_OF_MEMORY":
            return .final(state: .failed, exitCode: exit.code != 0 || exit.signal != 0 ? exit.shellCode : -1,
                          reason: "Slurm job ran out of memory\(why)")
        case "PREEMPTED":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job was preempted\(why)")
        case "REVOKED":
            return .final(state: .failed, exitCode: -1, reason: "Slurm job was revoked (federation)\(why)")
        default:
            return .unknown(rawState)
        }
    }
}

/// A Slurm job's exit: `ExitCode` "3:0" in sacct/scontrol (code:signal), or the raw wait
/// status in `squeue -O exit_code` (768 = code 3).
public struct SlurmExit: Equatable, Sendable, CustomStringConvertible {
    /// The exit code of the batch script.
    public var code: Int32
    /// The signal that killed it, 0 if none.
    public var signal: Int32

    /// A code and signal.
    public init(code: Int32, signal: Int32) {
        self.code = code
        self.signal = signal
    }

    /// No exit yet (or a clean one).
    public static let none = SlurmExit(code: 0, signal: 0)

    /// Parses "3:0"; nil when malformed.
    public init?(codeColonSignal text: String) {
        let parts = text.trimmed.split(separator: ":")
        guard parts.count == 2, let code = Int32(parts[0]), let signal = Int32(parts[1]) else { return nil }
        self.init(code: code, signal: signal)
    }

    /// Parses a raw wait status ("768"); nil when malformed.
    public init?(waitStatus text: String) {
        guard let raw = Int32(text.trimmed), raw >= 0 else { return nil }
        self.init(code: (raw >> 8) & 0xff, signal: raw & 0x7f)
    }

    /// 128 + signal when killed, else the code (as a shell reports it).
    public var shellCode: Int32 { signal > 0 ? 128 + signal : code }

    /// "exit code 3" or "killed by signal 9 (SIGKILL)".
    public var description: String {
        if signal > 0 {
            return "killed by signal \(signal)\(ExitStatus.name(of: signal).map { " (\($0))" } ?? "")"
        }
        return "exit code \(code)"
    }
}
