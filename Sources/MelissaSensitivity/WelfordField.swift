/// Mean and variance of one field on one server rank, per time step and cell, updated in
/// one pass per value (Welford). State is laid out step-major so one message updates a
/// contiguous run of memory.
public struct WelfordField {
    public let nbTimeSteps: Int
    public let blockSize: Int
    /// Samples folded in, per (step, cell).
    public private(set) var counts: [Int64]
    /// Running mean, per (step, cell).
    public private(set) var mean: [Double]
    /// Running sum of squared deviations from the mean, per (step, cell).
    public private(set) var m2: [Double]

    public init(nbTimeSteps: Int, blockSize: Int) {
        self.nbTimeSteps = nbTimeSteps
        self.blockSize = blockSize
        counts = [Int64](repeating: 0, count: nbTimeSteps * blockSize)
        mean = [Double](repeating: 0, count: nbTimeSteps * blockSize)
        m2 = [Double](repeating: 0, count: nbTimeSteps * blockSize)
    }

    /// Folds `values` into cells `localOffset ..< localOffset + values.count` of `step`.
    public mutating func update(step: Int, localOffset: Int, values: UnsafeBufferPointer<Double>) {
        let base = step * blockSize + localOffset
        precondition(step < nbTimeSteps && localOffset + values.count <= blockSize)
        counts.withUnsafeMutableBufferPointer { n in
            mean.withUnsafeMutableBufferPointer { mu in
                m2.withUnsafeMutableBufferPointer { s in
                    for j in 0..<values.count {
                        let i = base + j
                        let x = values[j]
                        n[i] += 1
                        let delta = x - mu[i]
                        mu[i] += delta / Double(n[i])
                        s[i] += delta * (x - mu[i])
                    }
                }
            }
        }
    }

    /// Unbiased sample variance per (step, cell): M2 / (n - 1); 0 with fewer than 2 samples.
    public var variance: [Double] {
        zip(m2, counts).map { s, n in n > 1 ? s / Double(n - 1) : 0 }
    }
}
