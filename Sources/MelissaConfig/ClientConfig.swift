/// `client_config`: the simulation each job runs.
public struct ClientConfig: Sendable, Equatable {
    /// `executable_command`: one executable path, or a command name looked up on `PATH` (no arguments here).
    public var executableCommand: String
    /// `command_default_args`: arguments passed to every run, before the sampled parameters.
    public var commandDefaultArgs: [String]
    /// `preprocessing_commands`: shell commands run in the job before the simulation.
    public var preprocessingCommands: [String]
    /// `persistent_jobs`: run the study with at most this many client jobs, each running
    /// simulations one after another as it asks for them (`melissa_fetch_next_parameters`); nil
    /// (the default): one job per simulation group.
    public var persistentJobs: Int?

    /// Creates client settings; values are not validated here (parsing validates).
    public init(executableCommand: String, commandDefaultArgs: [String] = [], preprocessingCommands: [String] = [],
                persistentJobs: Int? = nil) {
        self.executableCommand = executableCommand
        self.commandDefaultArgs = commandDefaultArgs
        self.preprocessingCommands = preprocessingCommands
        self.persistentJobs = persistentJobs
    }
}
