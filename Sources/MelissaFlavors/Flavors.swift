import MelissaConfig
import MelissaDeepLearning
import MelissaMaximum
import MelissaSensitivity
import MelissaServer

/// Every flavor this build ships, in one list read by both executables: the launcher validates
/// a config against the same flavors the server runs. A new flavor adds one line here.
public enum Flavors {
    /// The flavors, the default (`sensitivity-analysis`) first.
    public static let all: [ServerFlavor] = [SensitivityServer.flavor, MaximumServer.flavor, DeepLearningServer.flavor]

    /// Their config entries, for `StudyConfig.load(path:flavors:)`.
    public static let registry = FlavorRegistry(all.map(\.spec))

    /// The flavor `server_class` names (a config loaded with `registry` always names one).
    public static func named(_ name: String) -> ServerFlavor? { all.first { $0.spec.name == name } }
}
