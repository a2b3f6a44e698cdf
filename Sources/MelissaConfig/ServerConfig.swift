/// `server_config`: where the server listens and how clients reach it.
public struct ServerConfig: Sendable, Equatable {
    /// `preprocessing_commands`: shell commands run in the server job before the server.
    public var preprocessingCommands: [String]
    /// `connection_port`: TCP port for the clients' connection handshake.
    public var connectionPort: Int
    /// `data_port`: TCP port clients send field data to (differs from `connectionPort`).
    public var dataPort: Int
    /// `bind_address`: interface the server binds (`*` for all).
    public var bindAddress: String
    /// `advertised_host`: host name clients use to reach the server; nil means the machine's host name at run time.
    public var advertisedHost: String?
    /// `memory_limit_mb`: the server refuses to start when its computed per-rank state exceeds this many MiB; nil = no limit.
    public var memoryLimitMB: Double?
    /// `data_encryption`: CURVE on the data sockets (authenticated and encrypted); false uses
    /// PLAIN with the study's data password (authenticated, not encrypted, faster).
    public var dataEncryption: Bool

    /// Creates server settings; values are not validated here (parsing validates).
    public init(preprocessingCommands: [String] = [],
                connectionPort: Int = ConfigDefaults.connectionPort,
                dataPort: Int = ConfigDefaults.dataPort,
                bindAddress: String = ConfigDefaults.bindAddress,
                advertisedHost: String? = nil,
                memoryLimitMB: Double? = nil,
                dataEncryption: Bool = true) {
        self.preprocessingCommands = preprocessingCommands
        self.connectionPort = connectionPort
        self.dataPort = dataPort
        self.bindAddress = bindAddress
        self.advertisedHost = advertisedHost
        self.memoryLimitMB = memoryLimitMB
        self.dataEncryption = dataEncryption
    }
}
