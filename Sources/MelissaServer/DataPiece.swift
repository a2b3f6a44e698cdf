import MelissaProtocol

/// The slice of a field a server rank owns, learned from the first data message.
public struct FieldLayout: Sendable, Equatable {
    public let globalSize: UInt64
    public let block: Range<UInt64>
    public var blockSize: UInt64 { block.upperBound - block.lowerBound }
}

/// One accepted data message handed to the flavor; `values` is valid until the next poll.
public struct DataPiece {
    public let header: DataHeader
    /// The receiving rank's block of this field.
    public let layout: FieldLayout
    /// The values, float64, borrowed from the ZeroMQ message (or an aligned copy).
    public let values: UnsafeBufferPointer<Double>

    /// Index of the first value within this rank's block.
    public var localOffset: Int { Int(header.offset - layout.block.lowerBound) }
}
