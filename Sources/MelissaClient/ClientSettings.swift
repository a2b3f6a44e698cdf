import Glibc
import MelissaTransport

/// The keys a client authenticates with (docs/SECURITY.md): its study's client pair, the
/// server's public key, and the data password for servers whose data sockets use PLAIN.
public struct ClientCredentials: Equatable, Sendable {
    /// The study's client key pair.
    public var keys: CurveKeyPair
    /// The study's server public key (Z85).
    public var serverPublicKey: String
    /// The study's data password, or why it could not be read (only needed when the
    /// handshake reply asks for PLAIN, so a study without one still runs encrypted).
    public var dataPassword: Result<String, StudyKeysError>

    /// A client's credentials: CURVE keys, and the data password or why it is missing.
    public init(keys: CurveKeyPair, serverPublicKey: String, dataPassword: Result<String, StudyKeysError>) {
        self.keys = keys
        self.serverPublicKey = serverPublicKey
        self.dataPassword = dataPassword
    }
}

/// The client's configuration, read from the environment the launcher gives each simulation.
public struct ClientSettings: Equatable, Sendable {
    /// `MELISSA_SIMU_ID`: this simulation's id in the study.
    public var simulationID: UInt32
    /// `MELISSA_SERVER_ADDRESS`: server rank 0's handshake endpoint.
    public var serverAddress: String
    /// `MELISSA_CONNECT_TIMEOUT`: seconds to wait for the handshake reply (default 60).
    public var connectTimeout: Double
    /// `MELISSA_ZMQ_HWM`: send high-water mark of each data socket, in messages (nil = libzmq's default).
    public var sendHighWaterMark: Int32?
    /// `MELISSA_FINALIZE_TIMEOUT`: seconds `melissa_finalize` waits at most for the server to
    /// take every queued time step (default 300); a dead server must not hang the simulation.
    public var finalizeTimeout: Double
    /// The study's keys from `$MELISSA_STUDY_DIR/keys` when that directory exists (every
    /// study the launcher runs has one); nil connects without CURVE.
    public var credentials: ClientCredentials?
    /// `MELISSA_OFFLINE` (`1`): the study runs offline (`study_options.offline`); nothing is
    /// connected or sent, and melissa_init, melissa_send and melissa_finalize only check their
    /// arguments.
    public var offline = false

    /// Default handshake timeout in seconds.
    public static let defaultConnectTimeout: Double = 60
    /// Default flush timeout of `melissa_finalize` in seconds.
    public static let defaultFinalizeTimeout: Double = 300

    /// Builds settings from explicit values (tests, Swift simulations).
    public init(simulationID: UInt32, serverAddress: String,
                connectTimeout: Double = ClientSettings.defaultConnectTimeout, sendHighWaterMark: Int32? = nil,
                finalizeTimeout: Double = ClientSettings.defaultFinalizeTimeout, credentials: ClientCredentials? = nil) {
        self.simulationID = simulationID
        self.serverAddress = serverAddress
        self.connectTimeout = connectTimeout
        self.sendHighWaterMark = sendHighWaterMark
        self.finalizeTimeout = finalizeTimeout
        self.credentials = credentials
    }

    /// Reads and validates the `MELISSA_*` variables; errors name the variable and what was expected.
    public init(environment: [String: String]) throws(ClientError) {
        simulationID = try Self.simulationID(environment)
        offline = try Self.offline(environment)
        // Offline, no server is reached: its address is not needed.
        serverAddress = offline && environment["MELISSA_SERVER_ADDRESS"] == nil ? "" : try Self.serverAddress(environment)
        connectTimeout = try Self.timeout(environment, name: "MELISSA_CONNECT_TIMEOUT", default: Self.defaultConnectTimeout)
        sendHighWaterMark = try Self.highWaterMark(environment)
        finalizeTimeout = try Self.timeout(environment, name: "MELISSA_FINALIZE_TIMEOUT", default: Self.defaultFinalizeTimeout)
        credentials = try Self.credentials(environment)
    }

    private static func credentials(_ env: [String: String]) throws(ClientError) -> ClientCredentials? {
        let name = "MELISSA_STUDY_DIR"
        guard let study = env[name], !study.isEmpty else { return nil }
        var info = stat()
        guard stat(StudyKeys.directory(in: study), &info) == 0 else { return nil }
        do {
            let password: Result<String, StudyKeysError>
            do throws(StudyKeysError) { password = .success(try StudyKeys.loadDataPassword(in: study)) } catch { password = .failure(error) }
            return ClientCredentials(keys: try StudyKeys.load(.client, in: study),
                               serverPublicKey: try StudyKeys.load(.server, in: study).publicKey,
                               dataPassword: password)
        } catch {
            throw .invalidEnvironment(variable: name, value: study, expected: "a study whose keys this client can read (\(error))")
        }
    }

    private static func simulationID(_ env: [String: String]) throws(ClientError) -> UInt32 {
        let name = "MELISSA_SIMU_ID"
        let expected = "a non-negative integer below 2^32"
        guard let raw = env[name] else { throw .missingEnvironment(variable: name, expected: expected) }
        // Only plain digits: UInt32("+3") would pass, but a sign is not something the launcher writes.
        guard !raw.isEmpty, raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = UInt32(raw) else {
            throw .invalidEnvironment(variable: name, value: raw, expected: expected)
        }
        return id
    }

    private static func offline(_ env: [String: String]) throws(ClientError) -> Bool {
        let name = "MELISSA_OFFLINE"
        switch env[name] {
        case nil, "", "0": return false
        case "1": return true
        case let value?: throw .invalidEnvironment(variable: name, value: value, expected: "1 (offline study) or 0")
        }
    }

    private static func serverAddress(_ env: [String: String]) throws(ClientError) -> String {
        let name = "MELISSA_SERVER_ADDRESS"
        let expected = "a ZeroMQ endpoint such as tcp://host:port"
        guard let raw = env[name] else { throw .missingEnvironment(variable: name, expected: expected) }
        guard Self.isValidEndpoint(raw) else {
            throw .invalidEnvironment(variable: name, value: raw, expected: expected)
        }
        return raw
    }

    /// Accepts `tcp://host:port` (port 1...65535) and `ipc://path`; the only transports a server binds.
    /// Checking here turns a typo into a clear message instead of a 60 s handshake timeout.
    static func isValidEndpoint(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") { return endpoint.utf8.count > "ipc://".utf8.count }
        guard endpoint.hasPrefix("tcp://") else { return false }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return false }
        let host = rest[..<colon]
        let port = rest[rest.index(after: colon)...]
        guard !host.isEmpty, !host.contains("/"),
              !port.isEmpty, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let number = Int(port), (1...65535).contains(number) else { return false }
        return true
    }

    private static func timeout(_ env: [String: String], name: String, default value: Double) throws(ClientError) -> Double {
        guard let raw = env[name], !raw.isEmpty else { return value }
        // Fractions are allowed (tests use short ones); the cap keeps the millisecond value in an Int32.
        guard let seconds = Double(raw), seconds > 0, seconds <= 2_000_000 else {
            throw .invalidEnvironment(variable: name, value: raw, expected: "a number of seconds in (0, 2000000]")
        }
        return seconds
    }

    private static func highWaterMark(_ env: [String: String]) throws(ClientError) -> Int32? {
        let name = "MELISSA_ZMQ_HWM"
        guard let raw = env[name], !raw.isEmpty else { return nil }
        guard let hwm = Int32(raw), hwm >= 0 else {
            throw .invalidEnvironment(variable: name, value: raw,
                                      expected: "a non-negative number of messages (0 = unlimited)")
        }
        return hwm
    }
}
