/// The pick-freeze design behind Sobol indices (Saltelli): from two independent points A and B,
/// the p + 2 parameter sets A, B, C_1, ..., C_p, where C_k is A with coordinate k taken from B.
public enum PickFreeze {
    /// The p + 2 rows A, B, C_1 ... C_p for points `a` and `b` of equal length p.
    ///
    /// Row order is the simulation order inside a Sobol group: member 0 is A, member 1 is B and
    /// member k + 1 is C_k (1-based k), which the statistics rely on to join the group's results.
    public static func expand(a: [Double], b: [Double]) -> [[Double]] {
        precondition(a.count == b.count, "pick-freeze needs A and B of equal length, got \(a.count) and \(b.count)")
        var rows = [a, b]
        rows.reserveCapacity(a.count + 2)
        for k in a.indices {
            var c = a
            c[k] = b[k]
            rows.append(c)
        }
        return rows
    }
}

/// Parameter sets of a Sobol study: pick-freeze groups drawn from a base sampler of dimension 2p.
///
/// Each base point is split into A (its first p coordinates) and B (its last p). Drawing A and B
/// from one 2p-dimensional point, rather than two consecutive p-dimensional points, keeps them
/// independent for quasi-random sequences, whose consecutive points are strongly correlated.
///
/// `nextGroup()` returns a whole group. `next()` returns the same rows one at a time, so calling it
/// p + 2 times per group gives simulation ids in group order (group g holds ids g(p+2) ..< (g+1)(p+2)),
/// and a server that asks `next()` once per simulation needs no Sobol-specific code.
public struct PickFreezeSampler: ParameterSampler {
    /// p: the number of parameters of each simulation.
    public let nbParameters: Int
    private var base: any ParameterSampler
    /// Rows of the current group not yet returned by `next()`, and the next one to return.
    private var pending: [[Double]] = []
    private var pendingIndex = 0

    /// Simulations per group: A, B and one C_k per parameter.
    public var groupSize: Int { nbParameters + 2 }

    /// Wraps `base`, which must return points of 2 × `nbParameters` coordinates (A then B).
    public init(base: any ParameterSampler, nbParameters: Int) {
        precondition(nbParameters >= 1, "a pick-freeze group needs at least one parameter")
        self.base = base
        self.nbParameters = nbParameters
    }

    /// A fresh group of p + 2 rows (A, B, C_1 ... C_p); rows of a group partly read through `next()` are dropped.
    ///
    /// Use this to redraw a whole Sobol group whose simulations failed.
    public mutating func nextGroup() -> [[Double]] {
        pending = []
        pendingIndex = 0
        let point = base.next()
        precondition(point.count == 2 * nbParameters,
                     "pick-freeze base sampler returned \(point.count) values, expected \(2 * nbParameters)")
        return PickFreeze.expand(a: Array(point[..<nbParameters]), b: Array(point[nbParameters...]))
    }

    /// The next row: A, B, C_1 ... C_p of one group, then the rows of the next group.
    public mutating func next() -> [Double] {
        if pendingIndex == pending.count {
            pending = nextGroup()
        }
        let row = pending[pendingIndex]
        pendingIndex += 1
        return row
    }
}
