/// How a global field of `globalSize` values is cut into one contiguous block per server rank.
public struct BlockPartition: Equatable, Sendable {
    public let globalSize: UInt64
    public let serverCount: Int

    public init(globalSize: UInt64, serverCount: Int) {
        precondition(serverCount >= 1)
        self.globalSize = globalSize
        self.serverCount = serverCount
    }

    /// Half-open global index range of server rank `rank`; sizes differ by at most one.
    public func block(_ rank: Int) -> Range<UInt64> {
        let m = UInt64(serverCount)
        let base = globalSize / m
        let extra = globalSize % m
        let r = UInt64(rank)
        let start = r * base + min(r, extra)
        return start..<(start + base + (r < extra ? 1 : 0))
    }

    /// The pieces of the slice `slice` each server rank must receive: (rank, overlap), non-empty only.
    public func overlaps(of slice: Range<UInt64>) -> [(rank: Int, range: Range<UInt64>)] {
        var out: [(rank: Int, range: Range<UInt64>)] = []
        for rank in 0..<serverCount {
            let b = block(rank)
            let lo = max(b.lowerBound, slice.lowerBound)
            let hi = min(b.upperBound, slice.upperBound)
            if lo < hi { out.append((rank, lo..<hi)) }
        }
        return out
    }
}
