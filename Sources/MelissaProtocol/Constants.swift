/// The version the data channel carries; a peer with another one is refused.
public let protocolVersion: UInt16 = 1

/// The server ranks' internal channel's version: 3 since `groupRedrawn` lists the redrawn
/// simulations (every rank knows every simulation's parameters; docs/PROTOCOL.md, section 8).
public let internalProtocolVersion: UInt16 = 3

/// The client handshake's version: 3 since the reply says how data is routed over the server
/// ranks (the flavor's choice; docs/PROTOCOL.md, section 3).
public let handshakeProtocolVersion: UInt16 = 3

/// The launcher <-> server control channel's version: 3 since a request for a group whose
/// earlier job ended runs a new job (2 added session ids and request numbers;
/// docs/PROTOCOL.md, section 7).
public let controlProtocolVersion: UInt16 = 3

/// The four-byte tag that starts every message and names its channel.
public enum Magic: Sendable {
    /// Client handshake (client rank 0 <-> server rank 0).
    case handshake
    /// Simulation data (client rank -> server rank).
    case data
    /// Launcher <-> server control.
    case control
    /// Server rank <-> server rank 0 coordination.
    case internalRank

    /// The magic as ASCII text.
    public var text: String {
        switch self {
        case .handshake: return "MLSH"
        case .data: return "MLSD"
        case .control: return "MLSC"
        case .internalRank: return "MLSI"
        }
    }

    /// The magic as bytes.
    public var bytes: [UInt8] { Array(text.utf8) }

    /// The protocol version a message of this channel carries.
    public var version: UInt16 {
        switch self {
        case .control: return controlProtocolVersion
        case .handshake: return handshakeProtocolVersion
        case .data: return protocolVersion
        case .internalRank: return internalProtocolVersion
        }
    }

    /// The four bytes read as one little-endian integer: the decoders compare one word, not
    /// four bytes in an array (pinned against `bytes` by the protocol tests).
    public var word: UInt32 {
        switch self {
        case .handshake: return 0x4853_4C4D // "MLSH"
        case .data: return 0x4453_4C4D // "MLSD"
        case .control: return 0x4353_4C4D // "MLSC"
        case .internalRank: return 0x4953_4C4D // "MLSI"
        }
    }
}

/// Upper bounds a decoder enforces before allocating anything.
public enum Limits {
    /// Longest string field (names, endpoints, reasons, paths).
    public static let maxString = 4096
    /// Most fields a study may declare.
    public static let maxFields = 1024
    /// Most server ranks a handshake reply may list.
    public static let maxServerRanks = 65_536
    /// Most simulations one job request may carry.
    public static let maxGroupSize = 65_536
    /// Most simulations one `holdingsQuery` or `holdingsReport` names.
    public static let maxHoldings = 65_536
    /// Most parameters one `NextSimulationReply` may carry.
    public static let maxParameters = 65_536
    /// Most float64 values in one data message (1 GiB of payload).
    public static let maxValuesPerMessage: UInt64 = 1 << 27
}
