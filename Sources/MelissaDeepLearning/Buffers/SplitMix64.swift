/// SplitMix64 (Steele, Lea & Flood 2014): a seeded generator whose whole state is one UInt64,
/// so a buffer's randomness is checkpointed in 8 bytes and a restored buffer draws the same numbers.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The whole state; `SplitMix64(state: s)` continues exactly where a generator with state `s` was.
    public var state: UInt64

    /// A generator whose sequence is fixed by `seed` (any value, 0 included).
    public init(seed: UInt64) { state = seed }

    /// A generator resumed from a saved `state`.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer uniform in 0..<bound (bound ≥ 1), without modulo bias.
    ///
    /// Our own Lemire draw rather than `Int.random(in:using:)`: the standard library may change how
    /// many words it consumes per draw, which would make a checkpoint continue differently after a
    /// toolchain upgrade.
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "index(below:) needs a positive bound")
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    /// Shuffles `array` in place (Fisher–Yates with `index(below:)`, for the same reason).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = index(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }
}
