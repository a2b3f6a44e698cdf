import CZMQ

/// How a socket authenticates its peers (docs/SECURITY.md): CURVE (authenticated and
/// encrypted) or PLAIN (a password, not encrypted), with the ZAP domain its handler checks.
extension ZMQSocket {
    /// Makes this socket a CURVE server with `keys` for `domain`: peers must complete the CURVE
    /// handshake (and pass the context's ZAP handler for that domain) before anything is delivered.
    public func becomeCurveServer(_ keys: CurveKeyPair, domain: ZAPDomain) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.rawValue.utf8))
        try setOption(ZMQ_CURVE_SERVER, 1)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: try Self.binary(keys.secretKey))
    }

    /// Makes this socket a CURVE client with `keys`, talking to the server whose public key is `serverPublicKey`.
    public func becomeCurveClient(_ keys: CurveKeyPair, serverPublicKey: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: try Self.binary(serverPublicKey))
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: try Self.binary(keys.publicKey))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: try Self.binary(keys.secretKey))
    }

    /// Makes this socket a PLAIN server for `domain`: peers are authenticated by user and
    /// password (the context's ZAP handler checks them) and traffic is not encrypted.
    public func becomePlainServer(domain: ZAPDomain) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.rawValue.utf8))
        try setOption(ZMQ_PLAIN_SERVER, 1)
    }

    /// Makes this socket a PLAIN client giving `ZAPPolicy.plainUser` and `password`.
    public func becomePlainClient(password: String) throws(ZMQError) {
        try setOption(ZMQ_PLAIN_USERNAME, bytes: Array(ZAPPolicy.plainUser.utf8))
        try setOption(ZMQ_PLAIN_PASSWORD, bytes: Array(password.utf8))
    }

    /// The 32 bytes libzmq takes for a key (no reliance on its Z85 length conventions).
    private static func binary(_ z85: String) throws(ZMQError) -> [UInt8] {
        guard let bytes = CurveKeyPair.decode(z85) else { throw ZMQError("zmq_setsockopt", "not a Z85 CURVE key") }
        return bytes
    }
}
