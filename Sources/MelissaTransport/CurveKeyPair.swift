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
