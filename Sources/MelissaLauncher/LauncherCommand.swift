import Foundation
import MelissaConfig
import MelissaProtocol
import MelissaSchedulers
import MelissaTransport

/// The `melissa-launcher` command: parses arguments, prepares the study, runs it.
public enum LauncherCommand {
    /// The launcher's version, printed by `--version`.
    public static let version = "0.1.0"

    /// Runs the launcher with `arguments` (argv without the program name); returns the exit status.
    /// `flavors` are the `server_class` values the config may name: the server's, so a flavor's
    /// section is validated before anything starts.
    public static func run(arguments: [String], flavors: FlavorRegistry = .builtIn) -> Int32 {
        let invocation: LauncherInvocation
        do { invocation = try LauncherInvocation.parse(arguments) } catch {
            Console.write(fd: 2, "melissa-launcher: error: \(error)\n\(LauncherInvocation.shortUsage)\n")
            return error.exitCode
        }
        switch invocation {
        case .help:
            Console.write(fd: 1, LauncherInvocation.usage + "\n")
            return LauncherExitCode.success
        case .version:
            Console.write(fd: 1, "melissa-launcher \(version) (control protocol v\(controlProtocolVersion))\n")
            return LauncherExitCode.success
        case let .run(configPath):
            return runStudy(configPath: configPath, flavors: flavors, resuming: false)
        case let .resume(studyDirectory):
            let configPath: String
            do { configPath = try StudyDirectory.recordedConfig(of: studyDirectory) } catch {
                Console.write(fd: 2, "melissa-launcher: error: \(error)\n")
                return error.exitCode
            }
            return runStudy(configPath: configPath, flavors: flavors, resuming: true, expectedDirectory: studyDirectory)
        }
    }

    /// Set-up in an order that creates nothing until every check passed: config, programs,
    /// then the study directory; then signals, socket, server; then the loop.
    /// `resuming`: the study directory exists and the server starts in restart mode, from
    /// its checkpoint (`expectedDirectory` must be where the config puts the study).
    private static func runStudy(configPath: String, flavors: FlavorRegistry, resuming: Bool, expectedDirectory: String? = nil) -> Int32 {
        let currentDirectory = FileManager.default.currentDirectoryPath
        let settings: LauncherSettings
        let setup: SchedulerSetup
        let serverProgram: String
        let keys: [KeyRole: CurveKeyPair]
        var warnings: [String] = []
        do throws(LauncherError) {
            let config: StudyConfig
            do { config = try StudyConfig.load(path: configPath, flavors: flavors) } catch { throw .config(error) }
            settings = LauncherSettings(config: config, configPath: configPath, currentDirectory: currentDirectory)
            setup = try SchedulerSetup.make(settings)
            let environment = ProcessInfo.processInfo.environment
            let server = try ServerExecutable.locate(override: environment[ServerExecutable.environmentKey],
                                                     currentDirectory: currentDirectory)
            serverProgram = server.path
            // What the study will run must exist before anything starts (docs/LAUNCHER.md).
            let preflight = Preflight(scheduler: settings.scheduler, searchPath: environment["PATH"],
                                      templatesDirectory: environment[InstallLayout.templatesDirectoryKey])
            let findings = [
                preflight.checkServer(path: server.path, origin: server.origin),
                preflight.checkTemplate(serverProgram: server.path),
                preflight.checkClient(executableCommand: config.clientConfig.executableCommand,
                                      preprocessing: config.clientConfig.preprocessingCommands),
            ].compactMap { $0 }
            var errors: [String] = []
            for finding in findings {
                switch finding {
                case let .error(text): errors.append(text)
                case let .warning(text): warnings.append(text)
                }
            }
            if !errors.isEmpty {
                throw .missingProgram(errors.joined(separator: "\nmelissa-launcher: error: ")
                                      + "\nmelissa-launcher: nothing was started")
            }
            if resuming {
                try StudyDirectory.checkResumable(settings.studyDirectory,
                                                  given: expectedDirectory.map { Paths.absolute($0, in: currentDirectory) })
            } else {
                try StudyDirectory.prepare(at: settings.studyDirectory, configFile: settings.configPath)
            }
            // The study's CURVE keys: made at the start, checked (private, ours) on a resume.
            do { keys = try StudyKeys.create(in: settings.studyDirectory) } catch {
                throw .studyDirectory(path: settings.studyDirectory, message: "keys: \(error)")
            }
        } catch {
            if case .config = error {
                Console.write(fd: 2, "\(error)\nmelissa-launcher: the configuration has errors; nothing was started\n")
            } else {
                Console.write(fd: 2, "melissa-launcher: error: \(error)\n")
            }
            return error.exitCode
        }

        let console = Console(verbosity: settings.verbosity)
        for warning in warnings { console.warning(warning) }
        (setup.scheduler as? BatchScheduler)?.log = { console.warning($0) }
        console.log(.notice, "study directory \(settings.studyDirectory)")
        // The signal mask must be set before libzmq starts its I/O threads (they inherit it);
        // otherwise a SIGTERM could land on one of them and kill the launcher outright.
        let signals: SignalFD
        do { signals = try SignalFD(signals: [SIGINT, SIGTERM, SIGCHLD]) } catch {
            console.error("cannot set up signal handling: \(error)")
            return LauncherExitCode.studyFailed
        }
        // A reader of our stdout going away must not kill the launcher (and its jobs with it).
        signal(SIGPIPE, SIG_IGN)

        let startTime = MonotonicClock.now()
        let context: ZMQContext
        let channel: ServerChannel
        // Only the study's server key gets through the launcher's socket (ZAP, RFC 27).
        let zap: ZAPHandler
        do {
            context = try ZMQContext()
            guard let launcherKeys = keys[.launcher], let serverKeys = keys[.server] else {
                console.error("the study's keys are incomplete")
                return LauncherExitCode.studyFailed
            }
            zap = try ZAPHandler(context: context, policies: [.control: ZAPPolicy(curveKeys: [serverKeys.publicKey])])
            channel = try ServerChannel(context: context, bindAddress: settings.bindAddress, host: settings.launcherHost,
                                        port: settings.launcherPort, keys: launcherKeys)
        } catch {
            console.error("cannot open the launcher socket on \(settings.bindAddress):\(settings.launcherPort) "
                          + "(launcher_config.bind_address, launcher_port): \(error)")
            return LauncherExitCode.studyFailed
        }
        // Stopped last, on every way out (its thread holds the context open).
        defer { zap.stop() }
        console.log(.notice, "launcher listening on \(channel.endpoint)"
                    + (settings.bindAddress == "127.0.0.1" ? "" : " (bound to \(settings.bindAddress))"))

        let endpoint = channel.endpoint
        // Every server of the study starts the same way; a restart (or a resumed study) adds
        // MELISSA_RESTART=1 so it reloads its checkpoint.
        let startServer = { (restarts: Int) throws -> Subprocess in
            var environment = ["MELISSA_LAUNCHER_ADDRESS": endpoint, "MELISSA_STUDY_DIR": settings.studyDirectory]
            if restarts > 0 || resuming {
                environment["MELISSA_RESTART"] = "1"
                environment["MELISSA_SERVER_RESTARTS"] = String(restarts)
            }
            return try Subprocess.spawn(SubprocessOptions(
                executable: setup.serverLauncher,
                arguments: setup.serverLauncherArguments + [serverProgram, settings.configPath],
                environmentOverrides: environment,
                workingDirectory: settings.studyDirectory,
                standardOutput: .file(settings.serverOutPath),
                standardError: .file(settings.serverErrPath)))
        }
        let server: Subprocess
        do {
            server = try startServer(0)
        } catch {
            console.error("cannot start the server: \(error)")
            return LauncherExitCode.studyFailed
        }
        console.log(.notice, "server started: \(setup.serverLauncher) \(setup.serverLauncherArguments.joined(separator: " ")) "
                    + "\(serverProgram) \(settings.configPath) (pid \(server.pid))")

        var publisher: StatusPublisher?
        if settings.httpPort != nil {
            do {
                let started = try StatusPublisher(settings: settings, startMonotonic: startTime)
                publisher = started
                let where_ = settings.httpToken == nil ? "the token is in \(settings.monitorTokenPath)" : "token: launcher_config.http_token"
                console.log(.notice, "study status at \(started.url) (JSON: status.json, Prometheus: metrics; \(where_))")
            } catch {
                console.error("\(error)")
                server.terminate(grace: settings.terminationGrace)
                return error.exitCode
            }
        }
        let launcher = Launcher(settings: settings, console: console, scheduler: setup.scheduler, channel: channel,
                                signals: signals, server: server, startTime: startTime, startServer: startServer,
                                releaseServer: setup.releaseServer, publisher: publisher)
        let code = launcher.run()
        if code == LauncherExitCode.interrupted(by: SIGINT) || code == LauncherExitCode.interrupted(by: SIGTERM) {
            console.log(.notice, "resume with: melissa-launcher --resume \(settings.studyDirectory)")
        }
        channel.socket.close()
        if zap.refusals.count > 0 {
            console.log(.notice, "refused \(zap.refusals.count) connection(s) without the study's key (last: \(zap.refusals.last))")
        }
        withExtendedLifetime(context) {}
        return code
    }
}
