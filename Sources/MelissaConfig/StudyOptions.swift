/// `study_options`: what the ensemble is made of.
public struct StudyOptions: Sendable, Equatable {
    /// `field_names`: names of the fields clients send (non-empty, unique, each 1...255 UTF-8 bytes).
    public var fieldNames: [String]
    /// `parameter_sweep_size`: number of parameter sets to run; in a Sobol study, the number of pick-freeze groups.
    public var parameterSweepSize: Int
    /// `nb_parameters`: number of input parameters per simulation.
    public var nbParameters: Int
    /// `nb_time_steps`: time steps each simulation sends (1...10_000_000).
    public var nbTimeSteps: Int
    /// `seed`: seed of the parameter sampler.
    public var seed: Int
    /// `simulation_timeout`: seconds without news from a simulation before it counts as crashed.
    public var simulationTimeout: Double
    /// `crashes_before_redraw`: crashes of one group before its parameters are drawn again.
    public var crashesBeforeRedraw: Int
    /// `max_redraws`: new parameter draws a failing group gets before it is given up.
    public var maxRedraws: Int
    /// `verbosity`: server log level, 0 (errors) to 3 (debug).
    public var verbosity: Int
    /// `group_size`: simulations per job (at most `parameterSweepSize`); see `StudyConfig.jobGroupSize` for Sobol studies.
    public var groupSize: Int
    /// `l_bounds`: lower bound of each parameter (length `nbParameters`).
    public var lBounds: [Double]
    /// `u_bounds`: upper bound of each parameter, each greater than the lower one.
    public var uBounds: [Double]
    /// `zmq_hwm`: ZeroMQ high-water mark for the server's sockets; 0 keeps ZeroMQ's default.
    public var zmqHWM: Int
    /// `sampler`: how parameter sets are drawn (uniform random, Halton, Latin hypercube).
    public var sampler: SamplerKind
    /// `field_sizes`: global cell count of each field (parallel to `fieldNames`), or nil when not declared.
    ///
    /// When given, the server checks its memory before the study starts and refuses clients that send another size.
    public var fieldSizes: [Int]?

    /// `offline`: run the sweep without streaming (Melissa's offline mode): clients send
    /// nothing, and a simulation is finished when its job exits 0. Makes validation sets.
    public var offline: Bool

    /// Creates study options; values are not validated here (parsing validates).
    public init(fieldNames: [String], parameterSweepSize: Int, nbParameters: Int, nbTimeSteps: Int,
                seed: Int = ConfigDefaults.seed,
                simulationTimeout: Double = ConfigDefaults.simulationTimeout,
                crashesBeforeRedraw: Int = ConfigDefaults.crashesBeforeRedraw,
                maxRedraws: Int = ConfigDefaults.maxRedraws,
                verbosity: Int = ConfigDefaults.studyVerbosity,
                groupSize: Int = ConfigDefaults.groupSize,
                lBounds: [Double], uBounds: [Double],
                zmqHWM: Int = ConfigDefaults.zmqHWM,
                sampler: SamplerKind = ConfigDefaults.sampler,
                fieldSizes: [Int]? = nil, offline: Bool = false) {
        self.fieldNames = fieldNames
        self.parameterSweepSize = parameterSweepSize
        self.nbParameters = nbParameters
        self.nbTimeSteps = nbTimeSteps
        self.seed = seed
        self.simulationTimeout = simulationTimeout
        self.crashesBeforeRedraw = crashesBeforeRedraw
        self.maxRedraws = maxRedraws
        self.verbosity = verbosity
        self.groupSize = groupSize
        self.lBounds = lBounds
        self.uBounds = uBounds
        self.zmqHWM = zmqHWM
        self.sampler = sampler
        self.fieldSizes = fieldSizes
        self.offline = offline
    }
}
