/// The ZAP domain a socket names, so one process's handler admits each channel's own peers:
/// a client key opens the handshake and data sockets, never the launcher's or the
/// server-internal ones.
public enum ZAPDomain: String, CaseIterable, Sendable {
    /// The launcher's control socket (the server connects).
    case control
    /// Server rank 0's handshake socket (client rank 0 connects).
    case handshake
    /// A server rank's data socket (every client rank connects).
    case data
    /// A server rank's internal socket (the other server ranks connect).
    case `internal`
}

/// Who a ZAP handler admits under one domain: CURVE peers with one of `curveKeys`, and,
/// when `plainPassword` is set, PLAIN peers with user `ZAPPolicy.plainUser` and that password
/// (the data sockets of a study with `data_encryption` off).
public struct ZAPPolicy: Sendable {
    /// The user name a PLAIN peer gives.
    public static let plainUser = "melissa"
    /// Admitted CURVE public keys (Z85).
    public var curveKeys: [String]
    /// The PLAIN password admitted; nil refuses PLAIN.
    public var plainPassword: String?

    /// A policy admitting `curveKeys` and, optionally, PLAIN with `plainPassword`.
    public init(curveKeys: [String], plainPassword: String? = nil) {
        self.curveKeys = curveKeys
        self.plainPassword = plainPassword
    }
}
