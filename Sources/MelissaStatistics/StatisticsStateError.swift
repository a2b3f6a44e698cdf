/// Why an encoded statistics state (checkpoint) was refused by `init(decoding:)`.
///
/// Every case carries the numbers that made the decoder refuse, so a log line says what
/// was wrong and by how much. The byte layout is in docs/STATISTICS.md ("State encoding").
public enum StatisticsStateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The input ends before a field it needs: `needed` bytes are required (counted from
    /// the start of the input), only `available` are there.
    case truncated(needed: Int, available: Int)
    /// The first four bytes are not `MLSS`; `found` holds them as a little-endian `u32`.
    case badMagic(found: UInt32)
    /// The format version is not one this build reads.
    case unsupportedVersion(found: Int, supported: Int)
    /// The encoding is of another kind of state (1 = FieldStatistics, 2 = SobolMartinez,
    /// 3 = CovarianceStatistics).
    case wrongKind(expected: Int, found: Int)
    /// The CRC-32 stored in the last four bytes differs from the one computed over the rest.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// A declared size disagrees with the others or with the input length (`what` names
    /// it; `declared` is the value in the bytes, `expected` the one the other fields imply).
    case inconsistentSizes(what: String, declared: Int, expected: Int)
    /// A header field holds a value that no state can have (unknown flag bits, a quantile
    /// level outside (0, 1), a NaN threshold, a non-zero reserved field, …).
    case invalidValue(what: String, value: Double)

    public var description: String {
        switch self {
        case let .truncated(needed, available):
            return "statistics state truncated: needs \(needed) bytes, only \(available) available"
        case let .badMagic(found):
            let hex = String(found, radix: 16)
            return "not a statistics state: magic 0x\(String(repeating: "0", count: max(0, 8 - hex.count)))\(hex) (little-endian u32), expected \"MLSS\" (0x53534c4d)"
        case let .unsupportedVersion(found, supported):
            return "statistics state format version \(found) is not supported (this build reads version \(supported))"
        case let .wrongKind(expected, found):
            return "statistics state is of kind \(found) (\(StateKind.name(found))), expected kind \(expected) (\(StateKind.name(expected)))"
        case let .checksumMismatch(stored, computed):
            return "statistics state checksum mismatch: stored CRC-32 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))"
        case let .inconsistentSizes(what, declared, expected):
            return "statistics state sizes inconsistent: \(what) is \(declared), expected \(expected)"
        case let .invalidValue(what, value):
            return "statistics state holds an invalid value: \(what) = \(value)"
        }
    }
}
