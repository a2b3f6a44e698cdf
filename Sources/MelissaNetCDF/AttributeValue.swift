/// The value of a NetCDF attribute, global or attached to a variable.
///
/// Reading back maps NC_CHAR to `.text`, one integer to `.int64`, one floating-point value to
/// `.double` and any other number of floating-point values to `.doubles`: a one-element
/// `.doubles` therefore reads back as `.double` (NetCDF does not tell them apart).
public enum AttributeValue: Sendable, Equatable {
    case text(String)
    case double(Double)
    case doubles([Double])
    case int64(Int64)
}
