import Foundation

/// Checks a parsed JSON document against the schema and builds the typed config.
///
/// Every key is checked even after a problem is found, so one run reports all issues.
/// Cross-key rules (bounds length, `l < u`, `group_size` versus the sweep size, distinct
/// server ports) are checked only when the keys involved are individually valid.
enum ConfigValidator {
    /// The typed config (with `canonicalJSON` as given), or every issue found (sorted by key path) as a `ConfigError`.
    static func validate(_ document: Any, source: String, canonicalJSON: Data = Data(),
                         extraIssues: [ConfigIssue] = []) -> Result<StudyConfig, ConfigError> {
        let issues = IssueCollector()
        extraIssues.forEach(issues.add)
        let config = build(document, issues: issues, canonicalJSON: canonicalJSON)
        if let config, issues.isEmpty {
            return .success(config)
        }
        var all = issues.all
        if all.isEmpty {
            // Unreachable when every nil is paired with an issue; kept so a bug cannot pass silently.
            all = [ConfigIssue(keyPath: "", message: "config rejected for an unknown reason")]
        }
        return .failure(ConfigError(source: source, issues: all))
    }

    private static func build(_ document: Any, issues: IssueCollector, canonicalJSON: Data) -> StudyConfig? {
        let json = JSONValue(document)
        guard case .object(let root) = json else {
            issues.add(.root, "the top level must be a JSON object, got \(json.kindName)")
            return nil
        }
        let top = ObjectReader(object: root, path: .root, allowedKeys: ConfigSchema.topLevel, issues: issues)
        let outputDir = top.string("output_dir", required: true)
        let serverClass = top.choice("server_class", required: false, as: ServerClass.self)
        let serverFilename = top.string("server_filename", required: false, allowEmpty: true)

        let studyOptions = top.object("study_options", required: true).flatMap {
            readStudyOptions($0, path: ConfigPath.root.appending("study_options"), issues: issues)
        }
        let saConfig = top.object("sa_config", required: false).map {
            readSAConfig($0, path: ConfigPath.root.appending("sa_config"), issues: issues)
        } ?? SAConfig()
        let launcherConfig = top.object("launcher_config", required: true).flatMap {
            readLauncherConfig($0, path: ConfigPath.root.appending("launcher_config"), issues: issues)
        }
        let clientConfig = top.object("client_config", required: true).flatMap {
            readClientConfig($0, path: ConfigPath.root.appending("client_config"), issues: issues)
        }
        let serverConfig = top.object("server_config", required: false).map {
            readServerConfig($0, path: ConfigPath.root.appending("server_config"), issues: issues)
        } ?? ServerConfig()

        guard let outputDir, let studyOptions, let launcherConfig, let clientConfig else {
            return nil
        }
        return StudyConfig(outputDir: outputDir, serverClass: serverClass ?? ConfigDefaults.serverClass,
                           serverFilename: serverFilename, studyOptions: studyOptions, saConfig: saConfig,
                           launcherConfig: launcherConfig, clientConfig: clientConfig,
                           serverConfig: serverConfig, canonicalJSON: canonicalJSON)
    }

    private static func readStudyOptions(_ object: [String: Any], path: ConfigPath,
                                         issues: IssueCollector) -> StudyOptions? {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.studyOptions, issues: issues)
        let positive = 1...Int.max
        let fieldNames = r.stringArray("field_names", required: true)
        let sweepSize = r.int("parameter_sweep_size", required: true, range: positive)
        let nbParameters = r.int("nb_parameters", required: true, range: positive)
        let nbTimeSteps = r.int("nb_time_steps", required: true, range: 1...ConfigDefaults.maximumTimeSteps)
        let seed = r.int("seed", required: false, range: 0...Int.max)
        let simulationTimeout = r.number("simulation_timeout", required: false, greaterThan: 0,
                                         atMost: ConfigDefaults.maximumSeconds)
        let crashes = r.int("crashes_before_redraw", required: false, range: positive)
        let verbosity = r.int("verbosity", required: false, range: 0...3)
        let groupSize = r.int("group_size", required: false, range: positive)
        let lBounds = r.numberArray("l_bounds", required: true)
        let uBounds = r.numberArray("u_bounds", required: true)
        let zmqHWM = r.int("zmq_hwm", required: false, range: 0...Int(Int32.max))

        if let fieldNames {
            checkFieldNames(fieldNames, path: path.appending("field_names"), issues: issues)
        }
        if let groupSize, let sweepSize, groupSize > sweepSize {
            issues.add(path.appending("group_size"),
                       "must not exceed parameter_sweep_size (\(sweepSize)), got \(groupSize)")
        }
        var boundsLengthsOK = true
        if let nbParameters {
            for (name, bounds) in [("l_bounds", lBounds), ("u_bounds", uBounds)] {
                if let bounds, bounds.count != nbParameters {
                    issues.add(path.appending(name),
                               "has \(bounds.count) value\(bounds.count == 1 ? "" : "s") but nb_parameters is \(nbParameters)")
                    boundsLengthsOK = false
                }
            }
        }
        if let lBounds, let uBounds, boundsLengthsOK, lBounds.count == uBounds.count {
            for index in lBounds.indices where !(lBounds[index] < uBounds[index]) {
                issues.add(path.appending("u_bounds").appending(index: index),
                           "must be greater than l_bounds[\(index)] (\(ObjectReader.format(lBounds[index]))), "
                           + "got \(ObjectReader.format(uBounds[index]))")
            }
        }

        guard let fieldNames, let sweepSize, let nbParameters, let nbTimeSteps, let lBounds, let uBounds else {
            return nil
        }
        return StudyOptions(
            fieldNames: fieldNames, parameterSweepSize: sweepSize, nbParameters: nbParameters,
            nbTimeSteps: nbTimeSteps, seed: seed ?? ConfigDefaults.seed,
            simulationTimeout: simulationTimeout ?? ConfigDefaults.simulationTimeout,
            crashesBeforeRedraw: crashes ?? ConfigDefaults.crashesBeforeRedraw,
            verbosity: verbosity ?? ConfigDefaults.studyVerbosity, groupSize: groupSize ?? ConfigDefaults.groupSize,
            lBounds: lBounds, uBounds: uBounds, zmqHWM: zmqHWM ?? ConfigDefaults.zmqHWM)
    }

    private static func checkFieldNames(_ names: [String], path: ConfigPath, issues: IssueCollector) {
        if names.isEmpty {
            issues.add(path, "must list at least one field name")
        }
        var firstIndex: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if name.isEmpty {
                issues.add(path.appending(index: index), "must not be empty")
                continue
            }
            let bytes = name.utf8.count
            if bytes > ConfigDefaults.maximumFieldNameBytes {
                issues.add(path.appending(index: index),
                           "is \(bytes) bytes in UTF-8; at most \(ConfigDefaults.maximumFieldNameBytes) allowed")
            }
            if let first = firstIndex[name] {
                issues.add(path.appending(index: index),
                           "duplicate field name \(quoted(name)) (also at field_names[\(first)])")
            } else {
                firstIndex[name] = index
            }
        }
    }

    private static func readSAConfig(_ object: [String: Any], path: ConfigPath, issues: IssueCollector) -> SAConfig {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.saConfig, issues: issues)
        return SAConfig(mean: r.bool("mean", required: false) ?? ConfigDefaults.mean,
                        variance: r.bool("variance", required: false) ?? ConfigDefaults.variance)
    }

    private static func readLauncherConfig(_ object: [String: Any], path: ConfigPath,
                                           issues: IssueCollector) -> LauncherConfig? {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.launcherConfig, issues: issues)
        let scheduler = r.choice("scheduler", required: true, as: Scheduler.self)
        let argClient = r.stringArray("scheduler_arg_client", required: false)
        let argServer = r.stringArray("scheduler_arg_server", required: false)
        let jobLimit = r.int("job_limit", required: false, range: 1...Int.max)
        let timerDelay = r.number("timer_delay", required: false, greaterThan: 0, atMost: ConfigDefaults.maximumSeconds)
        let faultTolerance = r.bool("fault_tolerance", required: false)
        let launcherPort = r.int("launcher_port", required: false, range: 1...65535)
        let serverTimeout = r.number("server_timeout", required: false, greaterThan: 0,
                                     atMost: ConfigDefaults.maximumSeconds)
        let stdOutput = r.bool("std_output", required: false)
        let verbosity = r.int("verbosity", required: false, range: 0...3)
        guard let scheduler else { return nil }
        return LauncherConfig(
            scheduler: scheduler, schedulerArgClient: argClient ?? [], schedulerArgServer: argServer ?? [],
            jobLimit: jobLimit ?? ConfigDefaults.jobLimit, timerDelay: timerDelay ?? ConfigDefaults.timerDelay,
            faultTolerance: faultTolerance ?? ConfigDefaults.faultTolerance,
            launcherPort: launcherPort ?? ConfigDefaults.launcherPort,
            serverTimeout: serverTimeout ?? ConfigDefaults.serverTimeout,
            stdOutput: stdOutput ?? ConfigDefaults.stdOutput,
            verbosity: verbosity ?? ConfigDefaults.launcherVerbosity)
    }

    private static func readClientConfig(_ object: [String: Any], path: ConfigPath,
                                         issues: IssueCollector) -> ClientConfig? {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.clientConfig, issues: issues)
        let executable = r.string("executable_command", required: true)
        let defaultArgs = r.stringArray("command_default_args", required: false)
        let preprocessing = r.stringArray("preprocessing_commands", required: false)
        guard let executable else { return nil }
        return ClientConfig(executableCommand: executable, commandDefaultArgs: defaultArgs ?? [],
                            preprocessingCommands: preprocessing ?? [])
    }

    private static func readServerConfig(_ object: [String: Any], path: ConfigPath,
                                         issues: IssueCollector) -> ServerConfig {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.serverConfig, issues: issues)
        let preprocessing = r.stringArray("preprocessing_commands", required: false)
        let connectionPort = r.int("connection_port", required: false, range: 1...65535)
        let dataPort = r.int("data_port", required: false, range: 1...65535)
        let bindAddress = r.string("bind_address", required: false)
        let advertisedHost = r.string("advertised_host", required: false)
        let connection = connectionPort ?? ConfigDefaults.connectionPort
        let data = dataPort ?? ConfigDefaults.dataPort
        let bothValid = (connectionPort != nil || object["connection_port"] == nil)
            && (dataPort != nil || object["data_port"] == nil)
        if bothValid, connection == data {
            issues.add(path.appending("data_port"),
                       "must differ from server_config.connection_port (both are \(data))")
        }
        return ServerConfig(preprocessingCommands: preprocessing ?? [], connectionPort: connection, dataPort: data,
                            bindAddress: bindAddress ?? ConfigDefaults.bindAddress, advertisedHost: advertisedHost)
    }
}
