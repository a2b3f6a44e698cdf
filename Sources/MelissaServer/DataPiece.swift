import MelissaProtocol

/// The slice of a field a server rank owns, learned from the first data message.
public struct FieldLayout: Sendable, Equatable {
    public let globalSize: UInt64
    public let block: Range<UInt64>
    public var blockSize: UInt64 { block.upperBound - block.lowerBound }
}

/// One admitted data message, handed to the flavor's `apply(_:)`. Its values are borrowed from
/// the ZeroMQ message: `withValues` lends them for the duration of a closure only, because the
/// next message reuses the memory. A flavor that keeps values copies them.
public struct DataPiece {
    public let header: DataHeader
    /// The receiving rank's block of this field.
    public let layout: FieldLayout
    /// The values, float64, borrowed from the ZeroMQ message (or an aligned copy).
    let values: UnsafeBufferPointer<Double>
    /// Bytes of the whole message (header included), for the ingest rate.
    let messageBytes: Int
    /// True when this piece is the first this rank admits for its field (its layout is new).
    let learnsLayout: Bool

    /// Index of the first value within this rank's block.
    public var localOffset: Int { Int(header.offset - layout.block.lowerBound) }

    /// Number of values (`header.count`).
    public var count: Int { values.count }

    /// Calls `body` with the piece's `count` values; the buffer is valid only during the call.
    public func withValues<Result>(_ body: (UnsafeBufferPointer<Double>) throws -> Result) rethrows -> Result {
        try body(values)
    }
}
