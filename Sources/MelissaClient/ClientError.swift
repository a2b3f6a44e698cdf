import MelissaProtocol
import MelissaTransport

/// Why the client library cannot go on; each case names what it was doing and with what.
public enum ClientError: Error, CustomStringConvertible {
    /// A required environment variable is not set.
    case missingEnvironment(variable: String, expected: String)
    /// An environment variable is set to something unusable.
    case invalidEnvironment(variable: String, value: String, expected: String)
    /// The host stores numbers big-endian; the wire format ships raw little-endian float64.
    case bigEndianHost
    /// An MPI call on the client communicator failed.
    case mpi(MPIError, during: String)
    /// A ZeroMQ call failed.
    case transport(ZMQError, during: String)
    /// Server rank 0 did not answer the handshake in time.
    case serverTimeout(address: String, seconds: Double)
    /// The server refused this simulation, with its reason.
    case refused(address: String, reason: String)
    /// The server speaks another wire protocol version.
    case versionMismatch(address: String, client: UInt16, server: UInt16)
    /// The server's answer could not be decoded.
    case malformedReply(address: String, ProtocolError)
    /// Client rank 0 failed the handshake; other ranks get its message through the broadcast.
    case handshakeFailedOnRankZero(message: String)
    /// The handshake broadcast carried bytes this library does not understand.
    case malformedBroadcast(byteCount: Int)
    /// The server's data sockets want PLAIN (`data_encryption` off) and this client has no
    /// readable data password.
    case dataPasswordUnavailable(reason: String)
    /// `register` was called twice for the same field.
    case duplicateRegistration(field: String)
    /// `send` (or a query) named a field that was never registered.
    case unregisteredField(field: String, registered: [String])
    /// A negative or too large local size.
    case invalidLocalSize(field: String, size: Int, limit: UInt64)
    /// `send` got a buffer whose length differs from the registered local size.
    case wrongValueCount(field: String, expected: Int, got: Int)
    /// More time steps than a u32 step counter can number.
    case timeStepOverflow(field: String)
    /// The client was used after `finalize()`.
    case finalized(operation: String)

    /// The message printed after `melissa: `, naming what failed and with what.
    public var description: String {
        switch self {
        case let .missingEnvironment(variable, expected):
            return "environment variable \(variable) is not set (expected \(expected)); "
                + "simulations are normally started by the Melissa launcher, which sets it"
        case let .invalidEnvironment(variable, value, expected):
            return "environment variable \(variable)='\(value)' is invalid: expected \(expected)"
        case .bigEndianHost:
            return "this host is big-endian; the Melissa wire protocol sends little-endian float64 values"
        case let .mpi(error, during):
            return "MPI failure while \(during): \(error)"
        case let .transport(error, during):
            return "ZeroMQ failure while \(during): \(error)"
        case let .serverTimeout(address, seconds):
            return "no answer from the Melissa server at \(address) after \(Self.format(seconds)) s "
                + "(is the server running? raise MELISSA_CONNECT_TIMEOUT to wait longer)"
        case let .refused(address, reason):
            return "the Melissa server at \(address) refused this simulation: \(reason)"
        case let .versionMismatch(address, client, server):
            return "protocol version mismatch with the Melissa server at \(address): "
                + "this client library speaks version \(client), the server speaks version \(server)"
        case let .malformedReply(address, error):
            return "malformed handshake reply from the Melissa server at \(address): \(error)"
        case let .handshakeFailedOnRankZero(message):
            return "client rank 0 failed the handshake: \(message)"
        case let .malformedBroadcast(count):
            return "malformed handshake broadcast from client rank 0 (\(count) bytes)"
        case let .dataPasswordUnavailable(reason):
            return "the Melissa server's data sockets use PLAIN authentication (server_config.data_encryption is false) "
                + "and this client cannot read the study's data password: \(reason)"
        case let .duplicateRegistration(field):
            return "field '\(field)' is already registered (melissa_init called twice for it)"
        case let .unregisteredField(field, registered):
            return "field '\(field)' was never registered (registered: [\(registered.joined(separator: ", "))]); "
                + "call melissa_init for it first"
        case let .invalidLocalSize(field, size, limit):
            return "invalid local size \(size) for field '\(field)': expected 0...\(limit)"
        case let .wrongValueCount(field, expected, got):
            return "field '\(field)' was registered with \(expected) local values but send got \(got)"
        case let .timeStepOverflow(field):
            return "field '\(field)' sent more than \(UInt32.max) time steps"
        case let .finalized(operation):
            return "\(operation) called after melissa_finalize"
        }
    }

    /// Seconds without a useless ".0" (60 rather than 60.0).
    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }
}
