/// Default values of optional keys, shared by the parser and the public initializers.
@usableFromInline
enum ConfigDefaults {
    @usableFromInline static let seed = 0
    @usableFromInline static let simulationTimeout = 400.0
    @usableFromInline static let crashesBeforeRedraw = 1
    @usableFromInline static let maxRedraws = 2
    /// Largest `max_redraws`: each redraw is a documented event, not a retry loop.
    @usableFromInline static let maximumRedraws = 1000
    @usableFromInline static let studyVerbosity = 1
    @usableFromInline static let groupSize = 1
    @usableFromInline static let zmqHWM = 0
    @usableFromInline static let mean = true
    @usableFromInline static let variance = true
    @usableFromInline static let skewness = false
    @usableFromInline static let kurtosis = false
    @usableFromInline static let minimum = false
    @usableFromInline static let maximum = false
    @usableFromInline static let thresholdExceedance = false
    @usableFromInline static let quantiles = false
    @usableFromInline static let sobolIndices = false
    @usableFromInline static let cacheLimitMB = 256.0
    @usableFromInline static let sampler = SamplerKind.uniform
    @usableFromInline static let jobLimit = 2
    @usableFromInline static let timerDelay = 1.0
    @usableFromInline static let faultTolerance = true
    @usableFromInline static let maxServerRestarts = 3
    /// Largest `max_server_restarts`: a server that keeps dying needs a person, not a loop.
    @usableFromInline static let maximumServerRestarts = 100
    @usableFromInline static let launcherPort = 5555
    @usableFromInline static let serverTimeout = 60.0
    @usableFromInline static let stdOutput = true
    @usableFromInline static let launcherVerbosity = 1
    /// `launcher_config.http_host`: loopback, so the status is not on the network unless asked.
    @usableFromInline static let httpHost = "127.0.0.1"
    /// Shortest `launcher_config.http_token` accepted: a guessable token is no protection.
    @usableFromInline static let minimumTokenLength = 16
    @usableFromInline static let connectionPort = 2003
    @usableFromInline static let dataPort = 5000
    @usableFromInline static let bindAddress = "*"

    /// Upper bound for every duration in seconds (about 11.5 days), so it fits in Int32 milliseconds.
    @usableFromInline static let maximumSeconds = 1_000_000.0
    /// Largest `nb_time_steps` accepted.
    @usableFromInline static let maximumTimeSteps = 10_000_000
    /// Longest field name, in UTF-8 bytes.
    @usableFromInline static let maximumFieldNameBytes = 255
    /// Most values in `threshold_values` and in `quantile_values`.
    @usableFromInline static let maximumStatisticValues = 64
    /// Most cells in `report_probes`.
    @usableFromInline static let maximumReportProbes = 16
    /// Largest `field_sizes` entry (2^40 cells): far beyond any real mesh, small enough that byte counts stay exact.
    @usableFromInline static let maximumFieldSize = 1 << 40
    /// Largest size in MiB (`cache_limit_mb`, `memory_limit_mb`): 10^9 MiB, about a pebibyte, so sums cannot overflow.
    @usableFromInline static let maximumMegabytes = 1_000_000_000.0
    /// Widest accepted `sobol_convergence_width`: Sobol indices lie in [0, 1], so no useful interval is wider than 2.
    @usableFromInline static let maximumSobolConvergenceWidth = 2.0
    /// Most simulations in one study: simulation ids travel as 32-bit unsigned integers.
    @usableFromInline static let maximumSimulationCount = Int(UInt32.max)
}
