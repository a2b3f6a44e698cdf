import CZMQ

/// A CURVE key pair as libzmq uses it: 32-byte keys, Z85-encoded as 40 characters.
public struct CurveKeyPair: Equatable, Sendable {
    /// The public key, Z85 (40 characters).
    public let publicKey: String
    /// The secret key, Z85 (40 characters).
    public let secretKey: String

    /// A pair from two Z85 keys; nil unless both are 40 valid Z85 characters.
    public init?(publicKey: String, secretKey: String) {
        guard Self.decode(publicKey) != nil, Self.decode(secretKey) != nil else { return nil }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh pair from libzmq (which draws it from libsodium's random source).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        guard zmq_has("curve") == 1 else { throw ZMQError("zmq_has", "this libzmq has no CURVE support") }
        var publicBuffer = [CChar](repeating: 0, count: 41)
        var secretBuffer = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicBuffer, &secretBuffer) == 0 else { throw ZMQError("zmq_curve_keypair") }
        let text = { (buffer: [CChar]) in String(decoding: buffer.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        guard let pair = CurveKeyPair(publicKey: text(publicBuffer), secretKey: text(secretBuffer)) else {
            throw ZMQError("zmq_curve_keypair", "libzmq returned keys that do not decode")
        }
        return pair
    }

    /// The 32 bytes of a Z85 key, as ZAP requests carry them; nil unless `z85` is 40 Z85 characters.
    public static func decode(_ z85: String) -> [UInt8]? {
        let characters = Array(z85.utf8)
        guard characters.count == 40, characters.allSatisfy(isZ85) else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        let decoded = out.withUnsafeMutableBufferPointer { buffer in
            (characters + [0]).withUnsafeBufferPointer { text in
                text.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 41) { zmq_z85_decode(buffer.baseAddress, $0) }
            }
        }
        return decoded == nil ? nil : out
    }

    /// The Z85 alphabet (ZeroMQ RFC 32).
    private static let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    private static func isZ85(_ byte: UInt8) -> Bool { alphabet.contains(byte) }
}

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
