import Foundation

/// Readers of the sections with no cross-section rules: `launcher_config`, `client_config`, `server_config`.
extension ConfigValidator {
    /// Reads `launcher_config`; nil when a required key is missing or invalid.
    static func readLauncherConfig(_ object: [String: Any], path: ConfigPath,
                                   issues: IssueCollector) -> LauncherConfig? {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.launcherConfig, issues: issues)
        let scheduler = r.choice("scheduler", required: true, as: Scheduler.self)
        let argClient = r.stringArray("scheduler_arg_client", required: false)
        let argServer = r.stringArray("scheduler_arg_server", required: false)
        let jobLimit = r.int("job_limit", required: false, range: 1...Int.max)
        let timerDelay = r.number("timer_delay", required: false, greaterThan: 0, atMost: ConfigDefaults.maximumSeconds)
        let faultTolerance = r.bool("fault_tolerance", required: false)
        let maxServerRestarts = r.int("max_server_restarts", required: false, range: 0...ConfigDefaults.maximumServerRestarts)
        let launcherPort = r.int("launcher_port", required: false, range: 1...65535)
        let bindAddress = r.string("bind_address", required: false)
        let advertisedHost = r.string("advertised_host", required: false)
        checkAddresses(bind: bindAddress, advertised: advertisedHost, path: path, issues: issues)
        let serverTimeout = r.number("server_timeout", required: false, greaterThan: 0,
                                     atMost: ConfigDefaults.maximumSeconds)
        let stdOutput = r.bool("std_output", required: false)
        let verbosity = r.int("verbosity", required: false, range: 0...3)
        let httpPort = r.int("http_port", required: false, range: 1...65535)
        let httpHost = r.string("http_host", required: false)
        let httpToken = r.string("http_token", required: false)
        if let httpToken {
            if httpToken.utf8.count < ConfigDefaults.minimumTokenLength || httpToken.utf8.count > 256 {
                issues.add(path.appending("http_token"),
                           "must be \(ConfigDefaults.minimumTokenLength) to 256 characters long, got \(httpToken.utf8.count) (leave it out to have one generated)")
            } else if httpToken.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
                issues.add(path.appending("http_token"), "must be printable ASCII without spaces (it travels in an HTTP header)")
            }
        }
        guard let scheduler else { return nil }
        return LauncherConfig(
            scheduler: scheduler, schedulerArgClient: argClient ?? [], schedulerArgServer: argServer ?? [],
            jobLimit: jobLimit ?? ConfigDefaults.jobLimit, timerDelay: timerDelay ?? ConfigDefaults.timerDelay,
            faultTolerance: faultTolerance ?? ConfigDefaults.faultTolerance,
            maxServerRestarts: maxServerRestarts ?? ConfigDefaults.maxServerRestarts,
            launcherPort: launcherPort ?? ConfigDefaults.launcherPort,
            bindAddress: bindAddress, advertisedHost: advertisedHost,
            serverTimeout: serverTimeout ?? ConfigDefaults.serverTimeout,
            stdOutput: stdOutput ?? ConfigDefaults.stdOutput,
            verbosity: verbosity ?? ConfigDefaults.launcherVerbosity,
            httpPort: httpPort, httpHost: httpHost ?? ConfigDefaults.httpHost, httpToken: httpToken)
    }

    /// Reads `client_config`; nil when a required key is missing or invalid.
    static func readClientConfig(_ object: [String: Any], path: ConfigPath,
                                 issues: IssueCollector) -> ClientConfig? {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.clientConfig, issues: issues)
        let executable = r.string("executable_command", required: true)
        let defaultArgs = r.stringArray("command_default_args", required: false)
        let preprocessing = r.stringArray("preprocessing_commands", required: false)
        let persistentJobs = r.int("persistent_jobs", required: false, range: 1...ConfigDefaults.maximumSimulationCount)
        guard let executable else { return nil }
        return ClientConfig(executableCommand: executable, commandDefaultArgs: defaultArgs ?? [],
                            preprocessingCommands: preprocessing ?? [], persistentJobs: persistentJobs)
    }

    /// Reads `server_config` (every key has a default).
    static func readServerConfig(_ object: [String: Any], path: ConfigPath,
                                 issues: IssueCollector) -> ServerConfig {
        let r = ObjectReader(object: object, path: path, allowedKeys: ConfigSchema.serverConfig, issues: issues)
        let preprocessing = r.stringArray("preprocessing_commands", required: false)
        let connectionPort = r.int("connection_port", required: false, range: 1...65535)
        let dataPort = r.int("data_port", required: false, range: 1...65535)
        let bindAddress = r.string("bind_address", required: false)
        let advertisedHost = r.string("advertised_host", required: false)
        checkAddresses(bind: bindAddress, advertised: advertisedHost, path: path, issues: issues)
        let memoryLimit = r.number("memory_limit_mb", required: false, greaterThan: 0,
                                   atMost: ConfigDefaults.maximumMegabytes)
        let dataEncryption = r.bool("data_encryption", required: false)
        let connection = connectionPort ?? ConfigDefaults.connectionPort
        let data = dataPort ?? ConfigDefaults.dataPort
        let bothValid = (connectionPort != nil || object["connection_port"] == nil)
            && (dataPort != nil || object["data_port"] == nil)
        if bothValid, connection == data {
            issues.add(path.appending("data_port"),
                       "must differ from server_config.connection_port (both are \(data))")
        }
        return ServerConfig(preprocessingCommands: preprocessing ?? [], connectionPort: connection, dataPort: data,
                            bindAddress: bindAddress ?? ConfigDefaults.bindAddress, advertisedHost: advertisedHost,
                            memoryLimitMB: memoryLimit, dataEncryption: dataEncryption ?? true)
    }

    /// `bind_address` and `advertised_host` end up in ZeroMQ endpoints (`tcp://host:port`): a
    /// host name, an interface name or an IPv4 address; `*` (every interface) only to bind.
    static func checkAddresses(bind: String?, advertised: String?, path: ConfigPath, issues: IssueCollector) {
        for (key, value, wildcard) in [("bind_address", bind, true), ("advertised_host", advertised, false)] {
            guard let value else { continue }
            let allowed = { (c: Unicode.Scalar) in
                ("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
                    || c == "." || c == "-" || c == "_" || (wildcard && c == "*")
            }
            if !value.unicodeScalars.allSatisfy(allowed) || (wildcard && value.contains("*") && value != "*") {
                issues.add(path.appending(key), "must be a host name or an IPv4 address"
                           + (wildcard ? " (or \"*\" for every interface)" : "") + ", got \"\(value.prefix(80))\"")
            }
        }
    }
}
