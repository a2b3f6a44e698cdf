import MelissaConfig
import MelissaTransport

/// The open files one server rank needs for its client connections: every client rank of every
/// simulation running at once holds one TCP connection to it (each client rank connects to
/// every server rank its slice reaches; the budget assumes all of them). Checked at start, from
/// the config, and again when a handshake shows more client ranks than the config said, so a
/// study that cannot fit stops with the remedy instead of failing mid-study when the server
/// runs out of descriptors (libzmq then leaves connections unaccepted and their data never comes).
public struct ConnectionBudget: Sendable, Equatable {
    /// Descriptors a rank uses besides client connections (its sockets, libzmq's and MPI's
    /// internals, logs, checkpoint and result files). Measured: 33 on an idle rank, and exactly
    /// one more per client connection (docs/PERFORMANCE.md, "Connection budget"); the rest is
    /// headroom for result files and the flavor.
    public static let reserved = 256

    /// Simulations that may run at once: `job_limit` jobs of `jobGroupSize` simulations,
    /// at most the study's simulations.
    public var concurrentSimulations: Int
    /// Client ranks per simulation: from `scheduler_arg_client`, raised by any handshake that says more.
    public var ranksPerSimulation: Int
    /// Where `ranksPerSimulation` comes from, for messages.
    public var ranksSource: String
    /// Where `concurrentSimulations` comes from, for messages.
    public var concurrencySource: String

    public init(concurrentSimulations: Int, ranksPerSimulation: Int, ranksSource: String, concurrencySource: String) {
        self.concurrentSimulations = concurrentSimulations
        self.ranksPerSimulation = ranksPerSimulation
        self.ranksSource = ranksSource
        self.concurrencySource = concurrencySource
    }

    /// The budget a study's config implies before any client connected.
    public init(config: StudyConfig) {
        let launcher = config.launcherConfig
        let group = max(1, config.jobGroupSize)
        let ranks = ClientRankCount.perSimulation(scheduler: launcher.scheduler, arguments: launcher.schedulerArgClient,
                                                  groupSize: group)
        self.init(concurrentSimulations: max(1, min(launcher.jobLimit * group, config.simulationCount)),
                  ranksPerSimulation: ranks ?? 1,
                  ranksSource: ranks == nil ? "1, scheduler_arg_client names no rank count" : "launcher_config.scheduler_arg_client",
                  concurrencySource: "launcher_config.job_limit \(launcher.jobLimit) × \(group) simulation(s) per job"
                      + (launcher.jobLimit * group > config.simulationCount ? ", capped at the study's \(config.simulationCount)" : ""))
    }

    /// Client connections one server rank may have to hold at once.
    public var clientConnections: Int { concurrentSimulations * ranksPerSimulation }

    /// Descriptors one server rank needs: the reserve plus one per client connection.
    public var neededDescriptors: Int { Self.reserved + clientConnections }

    /// Nil when the budget fits in `limit`; otherwise the error, naming the numbers and the remedies.
    public func refusal(limit: FileDescriptorLimit) -> String? {
        guard neededDescriptors > limit.soft else { return nil }
        let fitting = max(0, (limit.soft - Self.reserved) / max(1, ranksPerSimulation))
        let raise = "raise the hard limit where the server runs (ulimit -Hn, /etc/security/limits.conf, or Slurm's PropagateResourceLimits)"
        let remedy = fitting > 0
            ? "To fix it, \(raise), lower launcher_config.job_limit (\(fitting) simulation(s) of \(ranksPerSimulation) rank(s) fit), or use fewer client ranks per simulation"
            : "Not even one simulation of \(ranksPerSimulation) rank(s) fits: \(raise), or use fewer client ranks per simulation"
        return "connection budget exceeded: \(concurrentSimulations) simulation(s) at once (\(concurrencySource)) "
            + "× \(ranksPerSimulation) client rank(s) each (\(ranksSource)) need \(clientConnections) connections, "
            + "\(neededDescriptors) open files per server rank with the server's own \(Self.reserved), but the limit is "
            + "\(limit.soft) (RLIMIT_NOFILE of the server's processes, hard limit \(limit.hard)). " + remedy
    }
}
