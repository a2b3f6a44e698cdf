/// Series colours: the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies.
public enum ChartPalette {
    /// The colours in the order series get them; yellow comes last because it is faint on white.
    public static let colors: [String] = [
        "#0072B2", // blue
        "#E69F00", // orange
        "#009E73", // bluish green
        "#D55E00", // vermillion
        "#CC79A7", // reddish purple
        "#56B4E9", // sky blue
        "#000000", // black
        "#F0E442", // yellow
    ]

    /// The colour of series `index` (cycling past the end of the palette).
    public static func color(_ index: Int) -> String {
        colors[((index % colors.count) + colors.count) % colors.count]
    }

    /// A dash pattern for series `index`, so that series sharing a colour after the palette wraps still differ.
    public static func dashArray(_ index: Int) -> String? {
        let patterns = [nil, "6 3", "2 2", "8 3 2 3"]
        let cycle = (max(index, 0) / colors.count) % patterns.count
        return patterns[cycle]
    }
}
