import Foundation

/// Checks a parsed JSON document against the schema and builds the typed config.
///
/// Every key is checked even after a problem is found, so one run reports all issues.
/// Cross-key rules (bounds length, `l < u`, `group_size` versus the sweep size or the Sobol
/// group, covariance pairs versus field names, distinct server ports) are checked only when
/// the keys involved are individually valid. Each section's reader lives in its own file.
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

        let studyPath = ConfigPath.root.appending("study_options")
        let study = top.object("study_options", required: true).map {
            readStudyOptions($0, path: studyPath, issues: issues)
        }
        let saReading: SAReading
        if let saObject = top.object("sa_config", required: false) {
            saReading = readSAConfig(saObject, path: ConfigPath.root.appending("sa_config"),
                                     fieldNames: study?.fieldNames, fieldSizes: study?.fieldSizes, issues: issues)
        } else {
            // Absent: every statistic keeps its default (Sobol off). Present but not an object: Sobol is unknown.
            saReading = SAReading(config: SAConfig(),
                                  sobolIndices: root["sa_config"] == nil ? ConfigDefaults.sobolIndices : nil)
        }
        if let study {
            checkStudyAgainstSA(study, sobolIndices: saReading.sobolIndices, path: studyPath, issues: issues)
        }
        let studyOptions = study?.options
        let saConfig = saReading.config
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
}
