/// An extra dimension (e.g. "parameter", "threshold", "quantile") with its coordinate values.
public struct ExtraDimension: Sendable, Equatable {
    /// The dimension's name, also the name of its coordinate variable.
    public var name: String
    /// One coordinate per index; their count is the dimension's length (at least 1).
    public var coordinates: [Double]
    /// The coordinate variable's `units` attribute.
    public var units: String
    /// The coordinate variable's `description` attribute.
    public var description: String
    /// Optional names, one per coordinate (e.g. parameter names), stored comma-separated in the
    /// coordinate variable's text attribute `labels`; so a label may not contain a comma.
    public var labels: [String]?

    /// An extra dimension; `labels`, when given, needs one entry per coordinate.
    public init(name: String, coordinates: [Double], units: String = "", description: String = "",
                labels: [String]? = nil) {
        self.name = name
        self.coordinates = coordinates
        self.units = units
        self.description = description
        self.labels = labels
    }
}
