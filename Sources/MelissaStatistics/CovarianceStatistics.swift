/// Covariance between two fields per (step, cell), sample (n − 1) normalisation.
///
/// Record of 4 doubles per (step, cell): `n, meanX, meanY, C` where C is the co-moment
/// Σ (x − x̄)(y − ȳ), updated by C += (x − x̄_old)(y − ȳ_new).
public struct CovarianceStatistics: Sendable {
    public let nbTimeSteps: Int
    public let blockSize: Int
    private(set) var state: [Double]

    static let recordDoubles = 4
    public static let bytesPerCell: Int = recordDoubles * MemoryLayout<Double>.size

    public init(nbTimeSteps: Int, blockSize: Int) {
        precondition(nbTimeSteps >= 0 && blockSize >= 0, "negative dimensions \(nbTimeSteps) × \(blockSize)")
        self.nbTimeSteps = nbTimeSteps
        self.blockSize = blockSize
        state = [Double](repeating: 0, count: nbTimeSteps * blockSize * Self.recordDoubles)
    }

    public var stateBytes: Int { state.count * 8 }

    /// Folds the pairs (x[i], y[i]) into cells `localOffset + i` of `step`.
    public mutating func update(step: Int, localOffset: Int, x: UnsafeBufferPointer<Double>, y: UnsafeBufferPointer<Double>) {
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        precondition(x.count == y.count, "x holds \(x.count) values, y \(y.count)")
        precondition(localOffset >= 0 && x.count <= blockSize - localOffset,
                     "cells \(localOffset)..<\(localOffset + x.count) outside the block of \(blockSize)")
        guard let xs = x.baseAddress, let ys = y.baseAddress else { return }
        let first = (step * blockSize + localOffset) * Self.recordDoubles
        state.withUnsafeMutableBufferPointer { s in
            var r = s.baseAddress! + first
            var lastN = -1.0, reciprocal = 0.0
            for i in 0 ..< x.count {
                let xv = xs[i], yv = ys[i]
                let n = r[0] + 1
                r[0] = n
                if n != lastN { lastN = n; reciprocal = 1 / n }
                let dx = xv - r[1]
                r[1] += dx * reciprocal
                let my = r[2] + (yv - r[2]) * reciprocal
                r[2] = my
                r[3] += dx * (yv - my)
                r += 4
            }
        }
    }

    /// C / (n − 1) per cell of `step`; NaN with fewer than 2 samples.
    public func extractCovariance(step: Int, into output: UnsafeMutableBufferPointer<Double>) {
        extract(step, output) { $0[0] >= 2 ? $0[3] / ($0[0] - 1) : .nan }
    }

    /// Samples folded in per cell of `step`.
    public func extractCount(step: Int, into output: UnsafeMutableBufferPointer<Double>) {
        extract(step, output) { $0[0] }
    }

    private func extract(_ step: Int, _ output: UnsafeMutableBufferPointer<Double>, _ f: (UnsafePointer<Double>) -> Double) {
        precondition(step >= 0 && step < nbTimeSteps, "step \(step) outside 0..<\(nbTimeSteps)")
        precondition(output.count == blockSize, "output holds \(output.count) values, block has \(blockSize)")
        state.withUnsafeBufferPointer { s in
            guard let base = s.baseAddress else { return }
            for c in 0 ..< blockSize { output[c] = f(base + (step * blockSize + c) * Self.recordDoubles) }
        }
    }

    // MARK: - Encoding

    /// Versioned, checksummed byte encoding of the whole state (docs/STATISTICS.md, "State encoding").
    public func encoded() -> [UInt8] {
        let capacity = StateFormat.commonHeaderBytes + 8 + 8 + 8 * state.count + 4
        var w = StateWriter(kind: StateKind.covariance, nbTimeSteps: nbTimeSteps, blockSize: blockSize, capacity: capacity)
        w.u32(UInt32(Self.recordDoubles))
        w.u32(0)
        w.u64(UInt64(state.count))
        state.withUnsafeBufferPointer { w.f64s($0) }
        return w.finish()
    }

    public init(decoding bytes: [UInt8]) throws(StatisticsStateError) {
        var r = StateReader(bytes)
        let (steps, block) = try r.commonHeader(kind: StateKind.covariance)
        let recordDoubles = Int(try r.u32())
        let reserved = try r.u32()
        guard recordDoubles == Self.recordDoubles else {
            throw .inconsistentSizes(what: "record length in doubles", declared: recordDoubles, expected: Self.recordDoubles)
        }
        let count = try r.payloadHeader(expected: checkedProduct(steps, block, recordDoubles))
        guard reserved == 0 else { throw .invalidValue(what: "reserved field", value: Double(reserved)) }
        var state = [Double](repeating: 0, count: count)
        try state.withUnsafeMutableBufferPointer { (s) throws(StatisticsStateError) in try r.f64s(into: s) }
        nbTimeSteps = steps
        blockSize = block
        self.state = state
    }
}
