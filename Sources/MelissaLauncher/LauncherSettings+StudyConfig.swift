import MelissaConfig

extension LauncherSettings {
    /// The adapter from the config module: the only code that reads `StudyConfig` fields.
    /// `config` must come from `StudyConfig.load`, which already resolved `outputDir`
    /// against the config file's directory; both paths are made absolute here regardless.
    init(config: StudyConfig, configPath: String, currentDirectory: String) {
        let launcher = config.launcherConfig
        self.init(
            configPath: Paths.absolute(configPath, in: currentDirectory),
            studyDirectory: Paths.absolute(config.outputDir, in: currentDirectory),
            scheduler: launcher.scheduler.rawValue,
            schedulerArgClient: launcher.schedulerArgClient,
            schedulerArgServer: launcher.schedulerArgServer,
            jobLimit: max(1, launcher.jobLimit),
            timerDelay: launcher.timerDelay,
            launcherPort: launcher.launcherPort,
            // Slurm and OAR may put the server on another node than the launcher's.
            bindAddress: launcher.bindAddress ?? (launcher.scheduler == .openmpi ? "127.0.0.1" : "*"),
            advertisedHost: launcher.advertisedHost,
            serverTimeout: launcher.serverTimeout,
            stdOutput: launcher.stdOutput,
            verbosity: launcher.verbosity,
            simulationCount: config.simulationCount,
            faultTolerance: launcher.faultTolerance,
            maxServerRestarts: launcher.maxServerRestarts,
            httpPort: launcher.httpPort,
            httpHost: launcher.httpHost,
            httpToken: launcher.httpToken)
    }
}
