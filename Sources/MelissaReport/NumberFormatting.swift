import Foundation

/// Locale-independent number formatting for SVG coordinates and axis labels.
enum NumberFormatting {
    /// A pixel coordinate with one decimal; non-finite input becomes "0" so no attribute ever holds "nan".
    ///
    /// Callers clamp coordinates into the plot area before they get here; this is the last
    /// line of defence, not the place where NaN handling happens.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = (value * 10).rounded()
        // Avoid "-0.0", which is valid but noisy in the output.
        if tenths == 0 { return "0" }
        let text = String(format: "%.1f", tenths / 10)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// An integer with thousands separators ("10,000"), for counts in running text.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }

    /// A tick label for `value` on an axis whose ticks are `step` apart.
    ///
    /// Uses just enough decimals to tell neighbouring ticks apart; very large or very small
    /// magnitudes switch to exponent notation so labels stay short enough not to overlap.
    static func tickLabel(_ value: Double, step: Double) -> String {
        guard value.isFinite, step.isFinite, step > 0 else { return "" }
        // Ticks are computed as multiples of the step; values that should be zero
        // come out as 1e-17 and would print as such.
        if abs(value) < step * 1e-9 { return "0" }
        let magnitude = max(abs(value), step)
        if magnitude >= 1e6 || step < 1e-4 {
            return String(format: "%.3g", value)
        }
        let decimals = max(0, Int((-log10(step)).rounded(.up) + (isQuarterStep(step) ? 1 : 0)))
        return String(format: "%.\(min(decimals, 6))f", value)
    }

    /// Whether the step's mantissa is 2.5 (e.g. 0.25), which needs one more decimal than its magnitude suggests.
    private static func isQuarterStep(_ step: Double) -> Bool {
        let mantissa = step / pow(10, floor(log10(step)))
        return abs(mantissa - 2.5) < 1e-9
    }
}
