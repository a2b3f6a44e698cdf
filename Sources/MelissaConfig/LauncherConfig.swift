/// `launcher_config`: how the launcher starts and watches jobs.
public struct LauncherConfig: Sendable, Equatable {
    /// `scheduler`: the batch system or MPI launcher that runs jobs.
    public var scheduler: Scheduler
    /// `scheduler_arg_client`: extra scheduler arguments for client jobs.
    public var schedulerArgClient: [String]
    /// `scheduler_arg_server`: extra scheduler arguments for the server job.
    public var schedulerArgServer: [String]
    /// `job_limit`: most jobs (server included) running at once.
    public var jobLimit: Int
    /// `timer_delay`: seconds between two polls of job states.
    public var timerDelay: Double
    /// `fault_tolerance`: restart crashed clients and the server.
    public var faultTolerance: Bool
    /// `max_server_restarts`: times a dead server is restarted from its checkpoint.
    public var maxServerRestarts: Int
    /// `launcher_port`: TCP port the launcher listens on for the server.
    public var launcherPort: Int
    /// `bind_address`: the interface the launcher's control socket binds; nil = by scheduler
    /// (loopback for `openmpi`, every interface for `slurm` and `oar`, whose server may run on
    /// another node).
    public var bindAddress: String?
    /// `advertised_host`: the host name the server connects to; nil = derived from the bind address.
    public var advertisedHost: String?
    /// `server_timeout`: seconds without news from the server before it counts as lost.
    public var serverTimeout: Double
    /// `std_output`: keep clients' stdout/stderr in files in the study directory.
    public var stdOutput: Bool
    /// `verbosity`: launcher log level, 0 (errors) to 3 (debug).
    public var verbosity: Int
    /// `http_port`: where the launcher serves the live study status over HTTP; nil = off.
    public var httpPort: Int?
    /// `http_host`: the address the status endpoint listens on (loopback unless told otherwise).
    public var httpHost: String
    /// `http_token`: the bearer token every status request needs; nil = one is generated.
    public var httpToken: String?

    /// Creates launcher settings; values are not validated here (parsing validates).
    public init(scheduler: Scheduler,
                schedulerArgClient: [String] = [],
                schedulerArgServer: [String] = [],
                jobLimit: Int = ConfigDefaults.jobLimit,
                timerDelay: Double = ConfigDefaults.timerDelay,
                faultTolerance: Bool = ConfigDefaults.faultTolerance,
                maxServerRestarts: Int = ConfigDefaults.maxServerRestarts,
                launcherPort: Int = ConfigDefaults.launcherPort,
                bindAddress: String? = nil,
                advertisedHost: String? = nil,
                serverTimeout: Double = ConfigDefaults.serverTimeout,
                stdOutput: Bool = ConfigDefaults.stdOutput,
                verbosity: Int = ConfigDefaults.launcherVerbosity,
                httpPort: Int? = nil, httpHost: String = ConfigDefaults.httpHost, httpToken: String? = nil) {
        self.scheduler = scheduler
        self.schedulerArgClient = schedulerArgClient
        self.schedulerArgServer = schedulerArgServer
        self.jobLimit = jobLimit
        self.timerDelay = timerDelay
        self.faultTolerance = faultTolerance
        self.maxServerRestarts = maxServerRestarts
        self.launcherPort = launcherPort
        self.bindAddress = bindAddress
        self.advertisedHost = advertisedHost
        self.serverTimeout = serverTimeout
        self.stdOutput = stdOutput
        self.verbosity = verbosity
        self.httpPort = httpPort
        self.httpHost = httpHost
        self.httpToken = httpToken
    }
}

/// The schedulers `launcher_config.scheduler` may name.
public enum Scheduler: String, Sendable, Equatable, CaseIterable {
    /// Jobs run with Open MPI's `mpirun` on the current allocation or machine.
    case openmpi
    /// Jobs go through Slurm (`sbatch`, `squeue`/`sacct`, `scancel`); the server runs under `srun`.
    case slurm
    /// Jobs go through OAR (`oarsub`, `oarstat`, `oardel`); the server runs under `mpirun`
    /// in the launcher's own allocation.
    case oar
}
