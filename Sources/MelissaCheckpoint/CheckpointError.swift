/// Why a checkpoint could not be written, read or used. Every case says which file (or
/// section) and what was wrong, so a refused checkpoint is explained in one log line.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not start with the checkpoint magic.
    case notACheckpoint(path: String)
    /// Written by another format version.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// Written for another study configuration.
    case otherStudy(path: String, found: UInt64, expected: UInt64)
    /// Written by a server with another number of ranks.
    case otherCommSize(path: String, found: UInt32, expected: UInt32)
    /// Written by another rank.
    case otherRank(path: String, found: UInt32, expected: UInt32)
    /// Fewer bytes than a length or field needs (a cut file, or a lying length).
    case truncated(source: String, field: String, offset: Int, needed: UInt64, available: Int)
    /// A header or section checksum does not match its bytes.
    case badChecksum(source: String, section: String, stored: UInt32, computed: UInt32)
    /// A field holds a value that cannot be right (e.g. a count beyond the study).
    case invalidValue(source: String, field: String, detail: String)
    /// A system call failed.
    case io(path: String, operation: String, message: String)

    public var description: String {
        switch self {
        case let .notACheckpoint(path):
            return "\(path) is not a checkpoint (no MLSCKPT magic at its start)"
        case let .unsupportedVersion(path, found, supported):
            return "checkpoint \(path) has format version \(found); this server reads version \(supported)"
        case let .otherStudy(path, found, expected):
            return "checkpoint \(path) belongs to another study (fingerprint \(Self.hex(found)), this study is \(Self.hex(expected))): it was written for a different configuration"
        case let .otherCommSize(path, found, expected):
            return "checkpoint \(path) was written by a server of \(found) ranks; this server has \(expected)"
        case let .otherRank(path, found, expected):
            return "checkpoint \(path) belongs to rank \(found), not rank \(expected)"
        case let .truncated(source, field, offset, needed, available):
            return "checkpoint \(source) is truncated: \(field) at offset \(offset) needs \(needed) bytes, \(available) remain"
        case let .badChecksum(source, section, stored, computed):
            return "checkpoint \(source): checksum mismatch in \(section) (stored \(Self.hex32(stored)), computed \(Self.hex32(computed))): the file is corrupt"
        case let .invalidValue(source, field, detail):
            return "checkpoint \(source): invalid \(field): \(detail)"
        case let .io(path, operation, message):
            return "checkpoint \(path): \(operation) failed: \(message)"
        }
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16, uppercase: false) }
    static func hex32(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: false) }
}
