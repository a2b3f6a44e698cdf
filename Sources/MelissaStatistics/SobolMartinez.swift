#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sobol first-order and total indices per (step, cell) by the Martinez estimators
/// (correlation form), from pick-freeze groups.
///
/// A group is p + 2 simulations: A, B and C_1 … C_p, where C_k is A with input column k
/// taken from B. Per (step, cell) the state holds the running means and centred second
/// moments of Y_A, Y_B and every Y_Ck and the co-moments of (Y_A, Y_Ck) and (Y_B, Y_Ck)
/// (Welford updates); the count is per step. Then
///
///     S_k  = corr(Y_B, Y_Ck)        ST_k = 1 − corr(Y_A, Y_Ck)
///
/// Record of 4p + 4 doubles per (step, cell):
/// `meanA, meanB, M2A, M2B, then per k: meanCk, M2Ck, CoA_Ck, CoB_Ck`.
public struct SobolMartinez: Sendable {
    public let nbParameters: Int
    public let nbTimeSteps: Int
    public let blockSize: Int
    /// Groups folded in, per step.
    private(set) var counts: [Int]
    private(set) var state: [Double]

    /// z for a two-sided 95 % normal interval.
    public static let z95 = 1.959964

    static func recordDoubles(_ p: Int) -> Int { 4 * p + 4 }

    public init(nbParameters p: Int, nbTimeSteps: Int, blockSize: Int) {
        precondition(p >= 1, "nbParameters \(p) < 1")
        precondition(nbTimeSteps >= 0 && blockSize >= 0, "negative dimensions \(nbTimeSteps) × \(blockSize)")
        nbParameters = p
        self.nbTimeSteps = nbTimeSteps
        self.blockSize = blockSize
        counts = [Int](repeating: 0, count: nbTimeSteps)
        state = [Double](repeating: 0, count: nbTimeSteps * blockSize * Self.recordDoubles(p))
    }

    /// Bytes of state per (time step, cell); the per-step count (8 bytes per step) comes on top.
    public static func bytesPerCell(nbParameters: Int) -> Int { recordDoubles(nbParameters) * MemoryLayout<Double>.size }

    public var stateBytes: Int { (state.count + counts.count) * 8 }

    /// Folds one group's step: `members` holds (p+2) × blockSize values, member-major:
    /// A, B, C_1 … C_p (C_k = A with column k from B). Nothing is allocated.
    public mutating func update(step: Int, members: UnsafeBufferPointer<Double>) {
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        let p = nbParameters, block = blockSize
        precondition(members.count == (p + 2) * block, "members hold \(members.count) values, expected (\(p) + 2) × \(block)")
        counts[step] += 1
        guard block > 0, let input = members.baseAddress else { return }
        let n = Double(counts[step])
        let stride = Self.recordDoubles(p)
        state.withUnsafeMutableBufferPointer { s in
            var r = s.baseAddress! + step * block * stride
            for c in 0 ..< block {
                let a = input[c], b = input[block + c]
                let dA = a - r[0]
                let meanA = r[0] + dA / n
                let dA2 = a - meanA
                r[0] = meanA
                r[2] += dA * dA2
                let dB = b - r[1]
                let meanB = r[1] + dB / n
                let dB2 = b - meanB
                r[1] = meanB
                r[3] += dB * dB2
                var q = r + 4
                var ck = input + 2 * block + c
                for _ in 0 ..< p {
                    let y = ck.pointee
                    let d = y - q[0]
                    let mean = q[0] + d / n
                    q[0] = mean
                    q[1] += d * (y - mean)
                    q[2] += d * dA2
                    q[3] += d * dB2
                    q += 4
                    ck += block
                }
                r += stride
            }
        }
    }

    /// Groups folded in at `step` (every cell of a step has the same count).
    public func count(step: Int) -> Int { counts[step] }

    private func checkOutput(_ k: Int, _ step: Int, _ outputs: UnsafeMutableBufferPointer<Double>...) {
        precondition(k >= 0 && k < nbParameters, "parameter \(k) outside 0..<\(nbParameters)")
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        for o in outputs { precondition(o.count == blockSize, "output holds \(o.count) values, block has \(blockSize)") }
    }

    /// Calls `body(cell, corr(Y_A, Y_Ck), corr(Y_B, Y_Ck))` for every cell of `step`
    /// (NaN when a variance is zero or n < 2).
    @inline(__always)
    private func correlations(_ k: Int, _ step: Int, _ body: (Int, Double, Double) -> Void) {
        let stride = Self.recordDoubles(nbParameters)
        let defined = counts[step] >= 2
        state.withUnsafeBufferPointer { s in
            guard var r = s.baseAddress.map({ $0 + step * blockSize * stride }) else { return }
            for c in 0 ..< blockSize {
                let m2A = r[2], m2B = r[3], m2C = r[4 + 4 * k + 1]
                let coA = r[4 + 4 * k + 2], coB = r[4 + 4 * k + 3]
                let dA = m2A * m2C, dB = m2B * m2C
                let rA = defined && dA > 0 ? coA / dA.squareRoot() : .nan
                let rB = defined && dB > 0 ? coB / dB.squareRoot() : .nan
                body(c, rA, rB)
                r += stride
            }
        }
    }

    /// S_k = corr(Y_B, Y_Ck) for parameter k, step, all cells (NaN with n < 2 or a zero variance).
    public func firstOrder(parameter k: Int, step: Int, into output: UnsafeMutableBufferPointer<Double>) {
        checkOutput(k, step, output)
        correlations(k, step) { c, _, rB in output[c] = rB }
    }

    /// ST_k = 1 − corr(Y_A, Y_Ck) for parameter k, step, all cells (NaN with n < 2 or a zero variance).
    public func totalOrder(parameter k: Int, step: Int, into output: UnsafeMutableBufferPointer<Double>) {
        checkOutput(k, step, output)
        correlations(k, step) { c, rA, _ in output[c] = 1 - rA }
    }

    /// Half-width of the Fisher interval in z space at n samples.
    private func fisherHalfWidth(step: Int) -> Double {
        let n = counts[step]
        return n >= 4 ? Self.z95 / Double(n - 3).squareRoot() : .nan
    }

    /// r clamped to [−1, 1] (rounding can push a sample correlation a hair beyond); NaN stays NaN.
    @inline(__always)
    static func clamped(_ r: Double) -> Double { r > 1 ? 1 : r < -1 ? -1 : r }

    /// Fisher bounds of a correlation.
    @inline(__always)
    private static func fisher(_ r: Double, _ h: Double) -> (lower: Double, upper: Double) {
        let z = atanh(clamped(r))
        return (tanh(z - h), tanh(z + h))
    }

    /// 95 % bounds of S_k: tanh(atanh(r) ± 1.959964/sqrt(n − 3)). NaN when n < 4 or S_k is NaN.
    public func firstOrderInterval(parameter k: Int, step: Int, lower: UnsafeMutableBufferPointer<Double>,
                                   upper: UnsafeMutableBufferPointer<Double>) {
        checkOutput(k, step, lower, upper)
        let h = fisherHalfWidth(step: step)
        correlations(k, step) { c, _, rB in
            let (lo, hi) = Self.fisher(rB, h)
            lower[c] = lo
            upper[c] = hi
        }
    }

    /// 95 % bounds of ST_k = 1 − r: [1 − tanh(atanh(r) + h), 1 − tanh(atanh(r) − h)].
    /// NaN when n < 4 or ST_k is NaN.
    public func totalOrderInterval(parameter k: Int, step: Int, lower: UnsafeMutableBufferPointer<Double>,
                                   upper: UnsafeMutableBufferPointer<Double>) {
        checkOutput(k, step, lower, upper)
        let h = fisherHalfWidth(step: step)
        correlations(k, step) { c, rA, _ in
            let (lo, hi) = Self.fisher(rA, h)
            lower[c] = 1 - hi
            upper[c] = 1 - lo
        }
    }

    /// Widest 95 % interval over every step, cell, parameter and both index kinds (for the
    /// early-stop test). +infinity while any step with data has n < 4, or if no step has
    /// data; steps with no data are ignored. Cells whose index is undefined (a zero
    /// variance) are skipped; if every index of every step with data is undefined, 0.
    ///
    /// The width of tanh(z ± h) around r = tanh z is computed without transcendental
    /// functions per cell: 2·sinh(2h)·(1 − r²) / (1 + r² + cosh(2h)·(1 − r²)).
    public func widestInterval() -> Double {
        var widest = 0.0
        var anyData = false
        let p = nbParameters
        for step in 0 ..< nbTimeSteps where counts[step] > 0 {
            anyData = true
            if counts[step] < 4 { return .infinity }
            let h = fisherHalfWidth(step: step)
            let s2h = 2 * sinh(2 * h), c2h = cosh(2 * h)
            @inline(__always) func width(_ r: Double) -> Double {
                let rc = Self.clamped(r)
                let u = 1 - rc * rc
                return s2h * u / (1 + rc * rc + c2h * u)
            }
            for k in 0 ..< p {
                correlations(k, step) { _, rA, rB in
                    // NaN widths fail both comparisons and are skipped.
                    let wA = width(rA), wB = width(rB)
                    if wA > widest { widest = wA }
                    if wB > widest { widest = wB }
                }
            }
        }
        return anyData ? widest : .infinity
    }

    // MARK: - Encoding

    /// Versioned, checksummed byte encoding of the whole state (docs/STATISTICS.md, "State encoding").
    public func encoded() -> [UInt8] {
        let capacity = StateFormat.commonHeaderBytes + 16 + 8 * counts.count + 8 + 8 * state.count + 4
        var w = StateWriter(kind: StateKind.sobol, nbTimeSteps: nbTimeSteps, blockSize: blockSize, capacity: capacity)
        w.u64(UInt64(nbParameters))
        w.u32(UInt32(Self.recordDoubles(nbParameters)))
        w.u32(0)
        for c in counts { w.u64(UInt64(c)) }
        w.u64(UInt64(state.count))
        state.withUnsafeBufferPointer { w.f64s($0) }
        return w.finish()
    }

    public init(decoding bytes: [UInt8]) throws(StatisticsStateError) {
        var r = StateReader(bytes)
        let (steps, block) = try r.commonHeader(kind: StateKind.sobol)
        let p = try r.size("nbParameters")
        let recordDoubles = Int(try r.u32())
        let reserved = try r.u32()
        guard p >= 1, p <= (Int(UInt32.max) - 4) / 4 else { throw .invalidValue(what: "nbParameters", value: Double(p)) }
        guard recordDoubles == Self.recordDoubles(p) else {
            throw .inconsistentSizes(what: "record length in doubles", declared: recordDoubles, expected: Self.recordDoubles(p))
        }
        guard steps <= (bytes.count - r.offset) / 8 else {
            throw .truncated(needed: r.offset + 8 * steps, available: bytes.count)
        }
        var counts = [Int]()
        counts.reserveCapacity(steps)
        for _ in 0 ..< steps { counts.append(try r.size("group count")) }
        let count = try r.payloadHeader(expected: checkedProduct(steps, block, recordDoubles))
        guard reserved == 0 else { throw .invalidValue(what: "reserved field", value: Double(reserved)) }
        var state = [Double](repeating: 0, count: count)
        try state.withUnsafeMutableBufferPointer { (s) throws(StatisticsStateError) in try r.f64s(into: s) }
        nbParameters = p
        nbTimeSteps = steps
        self.blockSize = block
        self.counts = counts
        self.state = state
    }
}
