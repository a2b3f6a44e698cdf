import Foundation

/// A validated Melissa study configuration (the launcher's and server's JSON file).
///
/// The core sections are typed here; the chosen flavor's own section (`sa_config`, ...) is
/// read by the flavor (see `FlavorRegistry`) and kept as `flavorSettings`.
///
/// Build one with `StudyConfig.load(path:)` or `StudyConfig.parse(data:source:)`; both check
/// every key before returning. Property names follow the JSON keys in camel case.
public struct StudyConfig: Sendable, Equatable {
    /// `output_dir`: directory the study writes into (resolved against the config file's directory by `load`).
    public let outputDir: String
    /// `server_class`: which server flavor runs the study (a name in the registry the config was read with).
    public let serverClass: String
    /// `server_filename`: accepted for Melissa compatibility and otherwise ignored.
    public let serverFilename: String?
    /// `study_options`: the ensemble: fields, parameters, sizes, bounds.
    public let studyOptions: StudyOptions
    /// The chosen flavor's section, as its reader built it (`SAConfig` for sensitivity analysis).
    public let flavorSettings: any FlavorSettings
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

    init(outputDir: String, serverClass: String, serverFilename: String?, studyOptions: StudyOptions,
         flavorSettings: any FlavorSettings, launcherConfig: LauncherConfig, clientConfig: ClientConfig,
         serverConfig: ServerConfig, canonicalJSON: Data) {
        self.outputDir = outputDir
        self.serverClass = serverClass
        self.serverFilename = serverFilename
        self.studyOptions = studyOptions
        self.flavorSettings = flavorSettings
        self.launcherConfig = launcherConfig
        self.clientConfig = clientConfig
        self.serverConfig = serverConfig
        self.canonicalJSON = canonicalJSON
    }

    /// The same config with other canonical bytes (set by the loader once validation passed).
    func replacingCanonicalJSON(_ data: Data) -> StudyConfig {
        StudyConfig(outputDir: outputDir, serverClass: serverClass, serverFilename: serverFilename,
                    studyOptions: studyOptions, flavorSettings: flavorSettings, launcherConfig: launcherConfig,
                    clientConfig: clientConfig, serverConfig: serverConfig, canonicalJSON: data)
    }
}

extension StudyConfig {
    /// `sa_config` of a sensitivity-analysis study; every default (statistics off but mean and
    /// variance) for any other flavor, which has no such section.
    public var saConfig: SAConfig { flavorSettings as? SAConfig ?? SAConfig() }

    /// The flavor's settings as `type`, or nil when the study's flavor has other settings.
    public func settings<T: FlavorSettings>(as type: T.Type) -> T? { flavorSettings as? T }

    /// How this study's draws become simulations (the flavor's choice).
    public var samplingPlan: SamplingPlan { flavorSettings.samplingPlan(nbParameters: studyOptions.nbParameters) }

    public static func == (lhs: StudyConfig, rhs: StudyConfig) -> Bool {
        lhs.outputDir == rhs.outputDir && lhs.serverClass == rhs.serverClass && lhs.serverFilename == rhs.serverFilename
            && lhs.studyOptions == rhs.studyOptions && lhs.flavorSettings.isEqual(to: rhs.flavorSettings)
            && lhs.launcherConfig == rhs.launcherConfig && lhs.clientConfig == rhs.clientConfig
            && lhs.serverConfig == rhs.serverConfig && lhs.canonicalJSON == rhs.canonicalJSON
    }
}
