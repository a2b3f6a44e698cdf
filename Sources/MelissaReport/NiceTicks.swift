import Foundation

/// Axis tick positions at "nice" values (1, 2, 2.5, 5 × 10^k apart) covering a range.
public struct NiceTicks: Sendable, Equatable {
    /// Distance between neighbouring ticks.
    public var step: Double
    /// Tick values in increasing order, all inside the range they were computed for.
    public var values: [Double]

    /// Computes about `target` ticks inside `lower...upper`, never closer than `minimumStep`;
    /// a degenerate or non-finite range yields no ticks.
    public init(lower: Double, upper: Double, target: Int = 6, minimumStep: Double = 0) {
        guard lower.isFinite, upper.isFinite, upper > lower, target > 0 else {
            self.step = 0
            self.values = []
            return
        }
        let step = max(NiceTicks.niceStep(for: (upper - lower) / Double(target)), minimumStep)
        self.step = step
        var values: [Double] = []
        let first = (lower / step).rounded(.up)
        let last = (upper / step).rounded(.down)
        // Counting in integer multiples of the step avoids accumulating rounding error.
        if first <= last, last - first < 1000 {
            var k = first
            while k <= last {
                values.append(k * step)
                k += 1
            }
        }
        self.values = values
    }

    /// The smallest nice number (1, 2, 2.5, 5 × 10^k) not below `rough`.
    public static func niceStep(for rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let exponent = floor(log10(rough))
        let base = pow(10, exponent)
        // Shave off rounding noise: 1.2 / 6 is 0.20000000000000004, which must give 0.2, not 0.25.
        let fraction = rough / base * (1 - 1e-9)
        let nice: Double
        if fraction <= 1 { nice = 1 } else if fraction <= 2 { nice = 2 } else if fraction <= 2.5 { nice = 2.5 } else if fraction <= 5 { nice = 5 } else { nice = 10 }
        return nice * base
    }

    /// `lower...upper` widened outward to the nearest multiples of a nice step, so the axis ends on a tick.
    public static func roundedOutward(lower: Double, upper: Double, target: Int = 6) -> (lower: Double, upper: Double) {
        guard lower.isFinite, upper.isFinite, upper > lower, target > 0 else { return (lower, upper) }
        let step = niceStep(for: (upper - lower) / Double(target))
        return ((lower / step).rounded(.down) * step, (upper / step).rounded(.up) * step)
    }
}
