import MelissaProtocol

/// Which server rank gets which sub-slice of one client rank's values (N-to-M redistribution).
///
/// The global field is the concatenation of every client rank's local values in rank order;
/// `BlockPartition` cuts it into one contiguous block per server rank. A client rank sends each
/// server rank the overlap of its slice with that rank's block, as one message.
public struct RedistributionPlan: Equatable, Sendable {
    /// One data message: `count` values starting at `localStart` in the local buffer,
    /// landing at `globalOffset` in server rank `serverRank`'s block.
    public struct Piece: Equatable, Sendable {
        /// The server rank that receives this piece.
        public var serverRank: Int
        /// Index of the piece's first value in the local buffer.
        public var localStart: Int
        /// Index of the piece's first value in the global field (the header's offset).
        public var globalOffset: UInt64
        /// Number of values (the header's count); never 0.
        public var count: Int
    }

    /// A header-only message (count 0) for a server rank whose block is empty, so it still
    /// learns the global size and can count the time step complete.
    public struct EmptyBlockNotice: Equatable, Sendable {
        /// The server rank whose block is empty.
        public var serverRank: Int
        /// The (empty) block's start, a valid offset in the global field.
        public var globalOffset: UInt64
    }

    /// Size of the whole field over all client ranks.
    public let globalSize: UInt64
    /// Global index of this rank's first value (exclusive prefix sum of local sizes).
    public let localOffset: UInt64
    /// Number of values this rank holds.
    public let localSize: Int
    /// Data messages this rank sends each time step, in server-rank order.
    public let pieces: [Piece]
    /// Header-only messages this rank sends each step: only client rank 0 sends them, so each
    /// empty-block server rank gets exactly one per step.
    public let emptyBlockNotices: [EmptyBlockNotice]

    /// Plans the messages of client rank `clientRank` holding `[localOffset, localOffset + localSize)`.
    public init(globalSize: UInt64, localOffset: UInt64, localSize: Int, serverCount: Int, clientRank: Int) {
        precondition(localSize >= 0 && serverCount >= 1)
        self.globalSize = globalSize
        self.localOffset = localOffset
        self.localSize = localSize
        let partition = BlockPartition(globalSize: globalSize, serverCount: serverCount)
        let slice = localOffset..<(localOffset + UInt64(localSize))
        pieces = partition.overlaps(of: slice).map { overlap in
            Piece(serverRank: overlap.rank,
                  localStart: Int(overlap.range.lowerBound - localOffset),
                  globalOffset: overlap.range.lowerBound,
                  count: Int(overlap.range.upperBound - overlap.range.lowerBound))
        }
        var notices: [EmptyBlockNotice] = []
        if clientRank == 0 {
            for rank in 0..<serverCount {
                let block = partition.block(rank)
                if block.isEmpty { notices.append(EmptyBlockNotice(serverRank: rank, globalOffset: block.lowerBound)) }
            }
        }
        emptyBlockNotices = notices
    }
}
