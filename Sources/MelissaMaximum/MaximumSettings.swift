import MelissaConfig
import MelissaProtocol

/// `maximum_config`: the maximum flavor's own config section. It shows how a flavor adds a
/// section without touching `MelissaConfig`: keys, defaults and validation live here.
public struct MaximumSettings: FlavorSettings, Equatable {
    /// `routing`: how clients split their data over the server ranks.
    public enum Routing: String, CaseIterable, Sendable {
        /// One block of cells per server rank, every step (the default, like statistics).
        case cellBlocks = "cell-blocks"
        /// Whole fields, step t to server rank t mod M.
        case steps = "steps"
        /// Whole fields, every step of simulation s to server rank s mod M.
        case simulations = "simulations"

        /// The wire protocol's routing.
        public var dataRouting: DataRouting {
            switch self {
            case .cellBlocks: return .cellBlocks
            case .steps: return .stepRoundRobin
            case .simulations: return .simulationRoundRobin
            }
        }
    }

    /// `checkpoint_interval`: seconds between checkpoints; nil keeps the server's default (300).
    public var checkpointInterval: Double?
    /// `routing`: cell blocks (default), or whole steps to one rank.
    public var routing: Routing

    /// Settings with the given interval (nil: the default) and routing.
    public init(checkpointInterval: Double? = nil, routing: Routing = .cellBlocks) {
        self.checkpointInterval = checkpointInterval
        self.routing = routing
    }

    /// The registry entry: `server_class: "maximum"`, section `maximum_config`.
    public static let spec = FlavorSpec(
        name: MaximumServer.flavorName,
        summary: "per-cell maximum and count over the ensemble (the example flavor of docs/FLAVORS.md)",
        sectionName: "maximum_config", sectionKeys: ["checkpoint_interval", "routing"],
        read: { section, _ in
            // The bound every duration in the config has (sa_config.checkpoint_interval's too).
            MaximumSettings(checkpointInterval: section.number("checkpoint_interval", greaterThan: 0,
                                                               atMost: 1_000_000),
                            routing: section.choice("routing", as: Routing.self) ?? .cellBlocks)
        })
}
