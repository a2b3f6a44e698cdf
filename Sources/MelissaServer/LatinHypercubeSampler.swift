/// Latin hypercube sampling: `count` points such that, in every dimension, each of the `count`
/// equal strata of the range holds exactly one point, placed uniformly inside its stratum.
///
/// Each dimension pairs points with strata through its own random permutation, drawn step by
/// step (Fisher–Yates), so point i only costs O(d). After `count` points the next point starts a
/// fresh hypercube of the same size with new permutations: in a fault-tolerant study, parameter
/// sets drawn again after crashes come from such a new hypercube, so the study as a whole is then
/// no longer exactly one Latin hypercube. Memory: 4 bytes per stratum and dimension.
public struct LatinHypercubeSampler: ParameterSampler, Sendable {
    /// Lower bound of each parameter (inclusive).
    public let lowerBounds: [Double]
    /// Upper bound of each parameter (exclusive).
    public let upperBounds: [Double]
    /// Points per hypercube (and strata per dimension).
    public let count: Int
    private var rng: Xoshiro256StarStar
    /// Per dimension, a permutation of the strata whose first `position` entries are already drawn.
    private var strata: [[UInt32]]
    /// Points already taken from the current hypercube.
    private var position = 0

    /// A Latin hypercube of `count` points over the bounds; throws for invalid bounds or a count outside 1 ... 2^32 − 1.
    public init(lowerBounds: [Double], upperBounds: [Double], seed: UInt64, count: Int) throws(SamplerError) {
        try SamplerError.validate(lowerBounds: lowerBounds, upperBounds: upperBounds)
        guard count >= 1, count <= Int(UInt32.max) else { throw .invalidCount(count) }
        self.lowerBounds = lowerBounds
        self.upperBounds = upperBounds
        self.count = count
        rng = Xoshiro256StarStar(seed: seed)
        strata = lowerBounds.map { _ in (0..<UInt32(count)).map { $0 } }
    }

    /// The next point; the first `count` points form one Latin hypercube, the next `count` another, and so on.
    public mutating func next() -> [Double] {
        if position == count {
            // Any arrangement is a valid starting array for Fisher–Yates, so the old permutations are reused as is.
            position = 0
        }
        var point: [Double] = []
        point.reserveCapacity(lowerBounds.count)
        for dimension in lowerBounds.indices {
            let stratum = drawStratum(dimension: dimension)
            point.append(scaleUnit(unitValue(in: stratum), lower: lowerBounds[dimension],
                                   upper: upperBounds[dimension]))
        }
        position += 1
        return point
    }

    /// One Fisher–Yates step on dimension `dimension`'s permutation: a stratum not yet used in this hypercube.
    private mutating func drawStratum(dimension: Int) -> Int {
        let remaining = UInt64(count - position)
        let pick = position + Int(rng.nextBelow(remaining))
        strata[dimension].swapAt(position, pick)
        return Int(strata[dimension][position])
    }

    /// A value uniform in [stratum / count, (stratum + 1) / count), kept below the upper edge despite rounding.
    private mutating func unitValue(in stratum: Int) -> Double {
        let n = Double(count)
        let value = (Double(stratum) + rng.nextUnitDouble()) / n
        let edge = (Double(stratum) + 1) / n
        return value < edge ? value : edge.nextDown
    }
}
