import MelissaTransport

/// What the launcher needs from the study config, in one flat value.
///
/// Built from `StudyConfig` in exactly one place (`LauncherSettings+StudyConfig.swift`), so a
/// change in the config module's names touches only that adapter.
struct LauncherSettings: Equatable, Sendable {
    /// Absolute path of the config file the launcher was given (passed on to the server).
    var configPath: String
    /// Absolute path of the study directory (`output_dir`).
    var studyDirectory: String
    /// `launcher_config.scheduler` ("openmpi").
    var scheduler: String
    /// `scheduler_arg_client`: arguments between `mpirun` and a client script.
    var schedulerArgClient: [String]
    /// `scheduler_arg_server`: arguments between `mpirun` and `melissa-server`.
    var schedulerArgServer: [String]
    /// `job_limit`: most client jobs running at once.
    var jobLimit: Int
    /// `timer_delay`: longest sleep of the poll loop, in seconds.
    var timerDelay: Double
    /// `launcher_port`: first port tried for the launcher's socket.
    var launcherPort: Int
    /// `bind_address`: the interface the launcher's socket binds (`*` = all).
    var bindAddress: String = "127.0.0.1"
    /// `advertised_host`: the host in the address given to the server; nil = from `bindAddress`.
    var advertisedHost: String?
    /// `server_timeout`: seconds of silence after which the server counts as dead.
    var serverTimeout: Double
    /// `std_output`: keep client stdout/stderr in `client_logs/`.
    var stdOutput: Bool
    /// `verbosity`: 0 errors, 1 warnings and milestones, 2 job states, 3 debug.
    var verbosity: Int
    /// `parameter_sweep_size`: simulations in the study, shown until the server reports its own total.
    var simulationCount: Int
    /// `fault_tolerance`: restart a dead server from its checkpoint.
    var faultTolerance: Bool = true
    /// `max_server_restarts`: how many times.
    var maxServerRestarts: Int = 3
    /// `http_port`: the live status endpoint's port; nil = no endpoint.
    var httpPort: Int?
    /// `http_host`: the address it listens on.
    var httpHost: String = "127.0.0.1"
    /// `http_token`: its bearer token; nil = generated at start and written to `monitorTokenPath`.
    var httpToken: String?

    /// Seconds to wait for the server to exit after it sent `studyEnd`.
    var serverExitWait: Double = 30
    /// Seconds to wait for `studyEnd` or the server's exit after a SIGINT/SIGTERM.
    var stopWait: Double = 10
    /// Seconds between SIGTERM and SIGKILL when terminating jobs and the server.
    var terminationGrace: Double = 5
    /// Extra seconds the server gets to say hello, on top of `serverTimeout` (MPI start-up is slow).
    var helloAllowance: Double = 30

    /// The host the server connects to: `advertised_host`, else loopback when bound to it, this
    /// machine's host name when bound to every interface, else the bound address itself.
    var launcherHost: String {
        if let advertisedHost { return advertisedHost }
        switch bindAddress {
        case "127.0.0.1", "localhost", "lo": return "127.0.0.1"
        case "*", "0.0.0.0": return HostName.current()
        default: return bindAddress
        }
    }

    /// Where client output goes when `stdOutput` is on.
    var clientLogDirectory: String { studyDirectory + "/client_logs" }
    /// The server's stdout file.
    var serverOutPath: String { studyDirectory + "/server.out" }
    /// The server's stderr file.
    var serverErrPath: String { studyDirectory + "/server.err" }
    /// Seconds between two pings to the server.
    var pingPeriod: Double { max(1, serverTimeout / 4) }
    /// Silence after which a running server counts as dead: two ping periods.
    var silenceLimit: Double { 2 * pingPeriod }
    /// Where a generated status token is kept (mode 0600).
    var monitorTokenPath: String { studyDirectory + "/monitor.token" }
    /// The file that records which config file a study was started from (for `--resume`).
    var configPathRecord: String { studyDirectory + "/config.path" }
}
