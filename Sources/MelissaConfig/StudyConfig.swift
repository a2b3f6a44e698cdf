import Foundation

/// A validated Melissa study configuration (the launcher's and server's JSON file).
///
/// Build one with `StudyConfig.load(path:)` or `StudyConfig.parse(data:source:)`; both check
/// every key before returning. Property names follow the JSON keys in camel case.
public struct StudyConfig: Sendable, Equatable {
    /// `output_dir`: directory the study writes into (resolved against the config file's directory by `load`).
    public let outputDir: String
    /// `server_class`: which server flavor runs the study.
    public let serverClass: ServerClass
    /// `server_filename`: accepted for Melissa compatibility and otherwise ignored.
    public let serverFilename: String?
    /// `study_options`: the ensemble: fields, parameters, sizes, bounds.
    public let studyOptions: StudyOptions
    /// `sa_config`: which sensitivity-analysis statistics the server computes.
    public let saConfig: SAConfig
    /// `launcher_config`: how the launcher runs jobs.
    public let launcherConfig: LauncherConfig
    /// `client_config`: the simulation executable and what runs before it.
    public let clientConfig: ClientConfig
    /// `server_config`: the server's ports and addresses.
    public let serverConfig: ServerConfig
    /// The parsed, comment-free config re-serialized with sorted keys: stable bytes to hash for checkpoint fingerprints.
    ///
    /// Independent of comments, whitespace and key order in the file; not changed by `resolvingPaths`.
    public let canonicalJSON: Data

    /// Largest config file accepted, in bytes (16 MiB).
    public static let maximumFileSize = 16 * 1024 * 1024

    init(outputDir: String, serverClass: ServerClass, serverFilename: String?, studyOptions: StudyOptions,
         saConfig: SAConfig, launcherConfig: LauncherConfig, clientConfig: ClientConfig,
         serverConfig: ServerConfig, canonicalJSON: Data) {
        self.outputDir = outputDir
        self.serverClass = serverClass
        self.serverFilename = serverFilename
        self.studyOptions = studyOptions
        self.saConfig = saConfig
        self.launcherConfig = launcherConfig
        self.clientConfig = clientConfig
        self.serverConfig = serverConfig
        self.canonicalJSON = canonicalJSON
    }

    /// The same config with other canonical bytes (set by the loader once validation passed).
    func replacingCanonicalJSON(_ data: Data) -> StudyConfig {
        StudyConfig(outputDir: outputDir, serverClass: serverClass, serverFilename: serverFilename,
                    studyOptions: studyOptions, saConfig: saConfig, launcherConfig: launcherConfig,
                    clientConfig: clientConfig, serverConfig: serverConfig, canonicalJSON: data)
    }
}

/// The server flavors `server_class` may name.
public enum ServerClass: String, Sendable, Equatable, CaseIterable {
    /// Sensitivity analysis: iterative statistics (moments, extrema, thresholds, quantiles, Sobol indices) over the ensemble.
    case sensitivityAnalysis = "sensitivity-analysis"
    /// The example flavor of docs/FLAVORS.md: per-cell maximum and count over the ensemble.
    case maximum = "maximum"
}
