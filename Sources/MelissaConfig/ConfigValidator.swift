import Foundation

/// Checks a parsed JSON document against the schema and builds the typed config.
///
/// Every key is checked even after a problem is found, so one run reports all issues.
/// Cross-key rules (bounds length, `l < u`, `group_size` versus the sweep size or the Sobol
/// group, covariance pairs versus field names, distinct server ports) are checked only when
/// the keys involved are individually valid. Each section's reader lives in its own file.
enum ConfigValidator {
    /// The typed config (with `canonicalJSON` as given), or every issue found (sorted by key path) as a `ConfigError`.
    static func validate(_ document: Any, source: String, flavors: FlavorRegistry = .builtIn,
                         canonicalJSON: Data = Data(),
                         extraIssues: [ConfigIssue] = []) -> Result<StudyConfig, ConfigError> {
        let issues = IssueCollector()
        extraIssues.forEach(issues.add)
        let config = build(document, flavors: flavors, issues: issues, canonicalJSON: canonicalJSON)
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

    private static func build(_ document: Any, flavors: FlavorRegistry, issues: IssueCollector,
                              canonicalJSON: Data) -> StudyConfig? {
        let json = JSONValue(document)
        guard case .object(let root) = json else {
            issues.add(.root, "the top level must be a JSON object, got \(json.kindName)")
            return nil
        }
        let flavorSections = flavors.specs.compactMap(\.sectionName)
        let top = ObjectReader(object: root, path: .root, allowedKeys: ConfigSchema.topLevel + flavorSections,
                               issues: issues)
        let outputDir = top.string("output_dir", required: true)
        let flavor = readServerClass(top, flavors: flavors)
        let serverFilename = top.string("server_filename", required: false, allowEmpty: true)

        let studyPath = ConfigPath.root.appending("study_options")
        let study = top.object("study_options", required: true).map {
            readStudyOptions($0, path: studyPath, issues: issues)
        }
        let settings = flavor.flatMap {
            readFlavorSection($0, root: root, flavors: flavors, study: study?.context ?? StudyContext(), issues: issues)
        }
        let launcherConfig = top.object("launcher_config", required: true).flatMap {
            readLauncherConfig($0, path: ConfigPath.root.appending("launcher_config"), issues: issues)
        }
        let clientConfig = top.object("client_config", required: true).flatMap {
            readClientConfig($0, path: ConfigPath.root.appending("client_config"), issues: issues)
        }
        let serverConfig = top.object("server_config", required: false).map {
            readServerConfig($0, path: ConfigPath.root.appending("server_config"), issues: issues)
        } ?? ServerConfig()

        guard let outputDir, let flavor, let settings, let studyOptions = study?.options, let launcherConfig,
              let clientConfig else {
            return nil
        }
        let config = StudyConfig(outputDir: outputDir, serverClass: flavor.name, serverFilename: serverFilename,
                                 studyOptions: studyOptions, flavorSettings: settings,
                                 launcherConfig: launcherConfig, clientConfig: clientConfig,
                                 serverConfig: serverConfig, canonicalJSON: canonicalJSON)
        if clientConfig.persistentJobs != nil, config.jobGroupSize != 1 {
            // A persistent job runs one simulation at a time; a group's members run together.
            issues.add(ConfigPath.root.appending("client_config").appending("persistent_jobs"),
                       "needs one simulation per job, but this study groups \(config.jobGroupSize) per job "
                       + (config.samplingPlan.joined ? "(server_class '\(flavor.name)' runs each draw's members together)"
                                                      : "(study_options.group_size)")
                       + "; leave persistent_jobs out, or set group_size to 1")
            return nil
        }
        return config
    }

    /// `server_class`, looked up in the registry (left out: sensitivity analysis); an unknown
    /// name is reported with the nearest registered one.
    private static func readServerClass(_ top: ObjectReader, flavors: FlavorRegistry) -> FlavorSpec? {
        let valid = flavors.names.map { "'\($0)'" }.joined(separator: ", ")
        guard top.object["server_class"] != nil else {
            if let spec = flavors.spec(named: FlavorRegistry.defaultName) { return spec }
            top.issues.add(ConfigPath.root.appending("server_class"), "missing; this program has no default flavor (valid values: \(valid))")
            return nil
        }
        guard let name = top.string("server_class", required: false) else { return nil }
        if let spec = flavors.spec(named: name) { return spec }
        var message = "unknown value \(quoted(name)); "
        if let suggestion = KeySuggestion.nearest(to: name, among: flavors.names) {
            message += "did you mean '\(suggestion)'? "
        }
        top.issues.add(ConfigPath.root.appending("server_class"), message + "valid values: \(valid)")
        return nil
    }

    /// Reads the chosen flavor's section (an empty one when it is absent) and reports the
    /// sections of other flavors, which this study would silently ignore.
    private static func readFlavorSection(_ flavor: FlavorSpec, root: [String: Any], flavors: FlavorRegistry,
                                          study: StudyContext, issues: IssueCollector) -> (any FlavorSettings)? {
        for other in flavors.specs where other.name != flavor.name {
            guard let name = other.sectionName, root[name] != nil, name != flavor.sectionName else { continue }
            issues.add(ConfigPath.root.appending(name),
                       "belongs to server_class '\(other.name)', but this study's server_class is '\(flavor.name)'"
                       + (flavor.sectionName.map { "; its settings go in \($0)" } ?? "; remove this section"))
        }
        var object: [String: Any] = [:]
        if let name = flavor.sectionName, root[name] != nil {
            // Unknown top-level keys are the caller's reader's to report: allow every key here.
            let top = ObjectReader(object: root, path: .root, allowedKeys: Array(root.keys), issues: issues)
            guard let found = top.object(name, required: false) else { return nil }
            object = found
        }
        let path = flavor.sectionName.map { ConfigPath.root.appending($0) } ?? .root
        let reader = ObjectReader(object: object, path: path, allowedKeys: flavor.sectionKeys, issues: issues)
        guard let settings = flavor.read(SectionReader(reader), study) else { return nil }
        if !flavor.checksStudyOptions, let p = study.nbParameters {
            checkStudyAgainstPlan(study, plan: settings.samplingPlan(nbParameters: p), flavor: flavor.name,
                                  path: ConfigPath.root.appending("study_options"), issues: issues)
        }
        return settings
    }
}
