/// `client_config`: the simulation each job runs.
public struct ClientConfig: Sendable, Equatable {
    /// `executable_command`: one executable path, or a command name looked up on `PATH` (no arguments here).
    public var executableCommand: String
    /// `command_default_args`: arguments passed to every run, before the sampled parameters.
    public var commandDefaultArgs: [String]
    /// `preprocessing_commands`: shell commands run in the job before the simulation.
    public var preprocessingCommands: [String]

    /// Creates client settings; values are not validated here (parsing validates).
    public init(executableCommand: String, commandDefaultArgs: [String] = [], preprocessingCommands: [String] = []) {
        self.executableCommand = executableCommand
        self.commandDefaultArgs = commandDefaultArgs
        self.preprocessingCommands = preprocessingCommands
    }
}
