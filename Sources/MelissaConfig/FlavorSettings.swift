/// What a flavor's config section holds once validated: the flavor reads its own keys, and the
/// base server asks it only these questions.
public protocol FlavorSettings: Sendable {
    /// How the flavor's simulations are made from parameter draws, given `nb_parameters`.
    func samplingPlan(nbParameters: Int) -> SamplingPlan
    /// Seconds between checkpoints (the section's `checkpoint_interval`); nil keeps the default.
    var checkpointInterval: Double? { get }
    /// Whether `other` holds the same settings (`StudyConfig` equality).
    func isEqual(to other: any FlavorSettings) -> Bool
    /// A copy whose relative file paths are joined to `directory` (the config file's), as
    /// `StudyConfig.load` does for the core keys; `ConfigPaths.resolve` does the join.
    func resolvingPaths(relativeTo directory: String) -> any FlavorSettings
}

extension FlavorSettings {
    public func samplingPlan(nbParameters: Int) -> SamplingPlan { .independent }
    public var checkpointInterval: Double? { nil }
    public func resolvingPaths(relativeTo directory: String) -> any FlavorSettings { self }
}

/// The path join the config applies to relative paths, for flavors that hold paths of their own.
public enum ConfigPaths {
    /// `path` if absolute, else `directory/path` normalized (lexically, no file-system access).
    public static func resolve(_ path: String, against directory: String) -> String {
        PathResolution.resolve(path, against: directory)
    }
}

extension FlavorSettings where Self: Equatable {
    public func isEqual(to other: any FlavorSettings) -> Bool { (other as? Self) == self }
}

/// How parameter draws become simulations; the flavor chooses it, the base server follows it
/// (sampling, job groups, redraws, `parameters.csv`).
public struct SamplingPlan: Sendable, Equatable {
    /// Simulations made from one draw (1, or p + 2 for Sobol's pick-freeze group A, B, C_1..C_p).
    public var membersPerDraw: Int
    /// Values drawn at once, as a multiple of `nb_parameters` (2 for pick-freeze: A and B side by side).
    public var drawWidth: Int
    /// Whether one draw's simulations run as one job and are redrawn together (their data is joined).
    public var joined: Bool
    /// A label per member for `parameters.csv` (e.g. A, B, C1...); empty writes no role column.
    public var roles: [String]

    /// A plan; `roles` is empty or has `membersPerDraw` labels.
    public init(membersPerDraw: Int, drawWidth: Int, joined: Bool, roles: [String] = []) {
        self.membersPerDraw = membersPerDraw
        self.drawWidth = drawWidth
        self.joined = joined
        self.roles = roles
    }

    /// One simulation per draw of `nb_parameters` values, grouped into jobs by `group_size`.
    public static let independent = SamplingPlan(membersPerDraw: 1, drawWidth: 1, joined: false)
}

/// The settings of a flavor that has no config section of its own.
public struct NoFlavorSettings: FlavorSettings, Equatable, CustomStringConvertible {
    /// Settings with every default.
    public init() {}
    public var description: String { "none" }
}
