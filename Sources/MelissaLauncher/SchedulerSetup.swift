import Glibc
import MelissaSchedulers

/// The scheduler `launcher_config.scheduler` names, and how the server is started under it.
struct SchedulerSetup {
    /// Runs the client jobs.
    let scheduler: any JobScheduler
    /// The program that starts the server's ranks (`mpirun`, `srun`).
    let serverLauncher: String
    /// Its arguments before the server program (`scheduler_arg_server` and the job's name).
    let serverLauncherArguments: [String]
    /// Removes what the batch system may still hold of a stopped server (its Slurm job);
    /// nothing for `mpirun`, whose ranks die with their process group.
    let releaseServer: (_ log: (String) -> Void) -> Void

    /// Builds the backend; throws when its commands are missing, before anything starts.
    /// A batch backend's notices (a status query that failed) go to `log` once it is set.
    static func make(_ settings: LauncherSettings) throws(LauncherError) -> SchedulerSetup {
        let logDirectory = settings.stdOutput ? settings.clientLogDirectory : nil
        let runner = SchedulerCommand(scratchDirectory: settings.studyDirectory + "/scheduler")
        // Unique to this launcher, so this study's jobs are found by name (and only they).
        let prefix = "melissa.\(getpid())"
        do throws(SchedulerError) {
            switch settings.scheduler {
            case "openmpi":
                let openmpi = try OpenMPIScheduler(clientArguments: settings.schedulerArgClient,
                                                   workingDirectory: settings.studyDirectory, logDirectory: logDirectory,
                                                   terminationGrace: settings.terminationGrace)
                return SchedulerSetup(scheduler: openmpi, serverLauncher: openmpi.mpirun,
                                      serverLauncherArguments: settings.schedulerArgServer, releaseServer: { _ in })
            case "slurm":
                let slurm = try SlurmBatchSystem(clientArguments: settings.schedulerArgClient,
                                                 workingDirectory: settings.studyDirectory, logDirectory: logDirectory,
                                                 jobNamePrefix: prefix, runner: runner)
                let srun = try ExecutableSearch.find("srun", searchPath: ExecutableSearch.currentPath())
                let batch = BatchScheduler(system: slurm, pollInterval: settings.timerDelay,
                                           cancelWait: settings.terminationGrace + 25)
                let serverName = "\(prefix).server"
                return SchedulerSetup(
                    scheduler: batch, serverLauncher: srun,
                    serverLauncherArguments: ["--job-name=\(serverName)", "--chdir=\(settings.studyDirectory)"]
                        + settings.schedulerArgServer,
                    releaseServer: { log in slurm.cancel(named: serverName, wait: settings.terminationGrace + 25, log: log) })
            case "oar":
                let oar = try OARBatchSystem(clientArguments: settings.schedulerArgClient,
                                             workingDirectory: settings.studyDirectory, logDirectory: logDirectory,
                                             jobNamePrefix: prefix, runner: runner)
                let batch = BatchScheduler(system: oar, pollInterval: settings.timerDelay,
                                           cancelWait: settings.terminationGrace + 25)
                // OAR has no blocking job launcher like srun: the launcher runs inside the OAR
                // job that holds the server's resources, and starts the server with mpirun there.
                let mpirun = try ExecutableSearch.find("mpirun", searchPath: ExecutableSearch.currentPath())
                return SchedulerSetup(scheduler: batch, serverLauncher: mpirun,
                                      serverLauncherArguments: settings.schedulerArgServer, releaseServer: { _ in })
            default:
                throw SchedulerError.unsupportedScheduler(settings.scheduler)
            }
        } catch {
            throw .missingProgram("launcher_config.scheduler is \(settings.scheduler) but \(error); "
                                  + "install its commands or fix PATH")
        }
    }
}
