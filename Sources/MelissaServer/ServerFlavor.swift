import MelissaConfig
import MelissaTransport

/// A flavor as the server executable knows it: its config entry (`server_class` and section)
/// and how to make its server. Listed once per program (`MelissaFlavors.all`), so the launcher
/// validates exactly what the server runs.
public struct ServerFlavor: Sendable {
    /// The config side: name, section, validation.
    public let spec: FlavorSpec
    /// Makes this rank's server (every rank, before `run()`): the config, the study directory
    /// and the launcher's address.
    public let make: @Sendable (StudyConfig, String, String) throws -> BaseServer
    /// The MPI thread support the flavor needs (its own threads calling MPI); the server
    /// initialises MPI with it and refuses to start when the library provides less.
    public let mpiThreadLevel: MPIThreadLevel

    /// Pairs a config entry with its server.
    public init(spec: FlavorSpec, mpiThreadLevel: MPIThreadLevel = .single,
                make: @escaping @Sendable (StudyConfig, String, String) throws -> BaseServer) {
        self.spec = spec
        self.mpiThreadLevel = mpiThreadLevel
        self.make = make
    }
}
