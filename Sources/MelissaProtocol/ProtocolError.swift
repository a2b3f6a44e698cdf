/// Why a byte buffer was refused by a decoder; carries enough context to log.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the layout needs at `offset`.
    case truncated(message: String, needed: Int, available: Int)
    /// The first four bytes are not the magic of this channel.
    case badMagic(expected: String, got: [UInt8])
    /// The peer speaks another protocol version.
    case versionMismatch(ours: UInt16, theirs: UInt16)
    /// A kind code this channel does not define.
    case unknownKind(channel: String, kind: UInt16)
    /// A length or count field is larger than the channel allows.
    case oversized(what: String, value: UInt64, limit: UInt64)
    /// Bytes left over after a complete message.
    case trailingBytes(message: String, count: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8(what: String)
    /// A field has a value the layout forbids.
    case invalidValue(what: String, detail: String)

    public var description: String {
        switch self {
        case let .truncated(message, needed, available):
            return "truncated \(message): needs \(needed) bytes, got \(available)"
        case let .badMagic(expected, got):
            let hex = got.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            return "bad magic: expected '\(expected)', got [\(hex)]"
        case let .versionMismatch(ours, theirs):
            return "protocol version mismatch: peer speaks version \(theirs), this side speaks version \(ours)"
        case let .unknownKind(channel, kind):
            return "unknown \(channel) message kind \(kind)"
        case let .oversized(what, value, limit):
            return "\(what) \(value) exceeds the limit \(limit)"
        case let .trailingBytes(message, count):
            return "\(count) unexpected trailing bytes after \(message)"
        case let .invalidUTF8(what):
            return "\(what) is not valid UTF-8"
        case let .invalidValue(what, detail):
            return "invalid \(what): \(detail)"
        }
    }
}
