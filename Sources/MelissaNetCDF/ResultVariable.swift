/// One variable of a field's results file.
public struct ResultVariable: Sendable, Equatable {
    /// The NetCDF variable name, e.g. "mean" or "sobol_first".
    public var name: String
    /// nil for a (time, cell) variable, or the name of one extra dimension declared in the
    /// schema for an (extra, time, cell) variable.
    public var extraDimension: String?
    /// Stored as int64 (counts) rather than double.
    public var isInteger: Bool
    /// The `units` attribute ("1" or "" for dimensionless).
    public var units: String
    /// The `description` attribute: what the values are, in a sentence.
    public var description: String

    /// A variable; without an extra dimension, double, with empty units unless told otherwise.
    public init(name: String, extraDimension: String? = nil, isInteger: Bool = false,
                units: String = "", description: String = "") {
        self.name = name
        self.extraDimension = extraDimension
        self.isInteger = isInteger
        self.units = units
        self.description = description
    }
}
