import MelissaConfig

/// `maximum_config`: the maximum flavor's own config section. It shows how a flavor adds a
/// section without touching `MelissaConfig`: keys, defaults and validation live here.
public struct MaximumSettings: FlavorSettings, Equatable {
    /// `checkpoint_interval`: seconds between checkpoints; nil keeps the server's default (300).
    public var checkpointInterval: Double?

    /// Settings with the given interval (nil: the default).
    public init(checkpointInterval: Double? = nil) {
        self.checkpointInterval = checkpointInterval
    }

    /// The registry entry: `server_class: "maximum"`, section `maximum_config`.
    public static let spec = FlavorSpec(
        name: MaximumServer.flavorName,
        summary: "per-cell maximum and count over the ensemble (the example flavor of docs/FLAVORS.md)",
        sectionName: "maximum_config", sectionKeys: ["checkpoint_interval"],
        read: { section, _ in
            // The bound every duration in the config has (sa_config.checkpoint_interval's too).
            MaximumSettings(checkpointInterval: section.number("checkpoint_interval", greaterThan: 0,
                                                               atMost: 1_000_000))
        })
}
