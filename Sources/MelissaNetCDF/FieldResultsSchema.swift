/// What one field's results file holds: its sizes, extra dimensions, variables and global
/// attributes. Generic: it knows nothing of statistics, the server decides the variables.
public struct FieldResultsSchema: Sendable {
    /// The field's name, stored as the global attribute `field`.
    public var field: String
    /// Length of the `time` dimension (at least 1).
    public var nbTimeSteps: Int
    /// Length of the `cell` dimension: the global field size (at least 1).
    public var cellCount: Int
    /// Dimensions besides time and cell, each with a coordinate variable.
    public var extraDimensions: [ExtraDimension]
    /// The data variables, in the order they are defined.
    public var variables: [ResultVariable]
    /// Global attributes written after `field` and `results_format_version`.
    public var globalAttributes: [(String, AttributeValue)]

    /// A schema; `create` validates it.
    public init(field: String, nbTimeSteps: Int, cellCount: Int, extraDimensions: [ExtraDimension] = [],
                variables: [ResultVariable], globalAttributes: [(String, AttributeValue)] = []) {
        self.field = field
        self.nbTimeSteps = nbTimeSteps
        self.cellCount = cellCount
        self.extraDimensions = extraDimensions
        self.variables = variables
        self.globalAttributes = globalAttributes
    }

    /// The first problem that would make the file unusable or ambiguous, nil when there is none.
    /// libnetcdf would refuse some of these too, but later and with a vaguer message.
    func problem() -> String? {
        if nbTimeSteps < 1 || cellCount < 1 {
            return "nbTimeSteps (\(nbTimeSteps)) and cellCount (\(cellCount)) must be at least 1"
        }
        var names: Set<String> = [FieldResultsFile.timeDimension, FieldResultsFile.cellDimension]
        for extra in extraDimensions {
            guard names.insert(extra.name).inserted else { return "dimension name '\(extra.name)' is used twice" }
            if extra.coordinates.isEmpty { return "extra dimension '\(extra.name)' has no coordinates" }
            if let labels = extra.labels {
                if labels.count != extra.coordinates.count {
                    return "extra dimension '\(extra.name)' has \(labels.count) labels for \(extra.coordinates.count) coordinates"
                }
                if let bad = labels.first(where: { $0.contains(",") }) {
                    return "label '\(bad)' of extra dimension '\(extra.name)' contains a comma, the labels separator"
                }
            }
        }
        let extraNames = Set(extraDimensions.map(\.name))
        for variable in variables {
            // In NetCDF a variable named like a dimension is that dimension's coordinate variable,
            // so e.g. a "quantile" variable needs a differently named dimension ("quantile_level").
            guard names.insert(variable.name).inserted else {
                return "variable name '\(variable.name)' is already used by a dimension or another variable"
            }
            if let extra = variable.extraDimension, !extraNames.contains(extra) {
                return "variable '\(variable.name)' uses undeclared extra dimension '\(extra)'"
            }
        }
        var attributes: Set<String> = FieldResultsFile.reservedGlobalAttributes
        for (name, _) in globalAttributes where !attributes.insert(name).inserted {
            return "global attribute '\(name)' is set twice (or reserved)"
        }
        return nil
    }
}
