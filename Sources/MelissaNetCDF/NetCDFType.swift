import CNetCDF

/// The variable types the results files use: doubles for statistics, 64-bit integers for counts.
public enum NetCDFType: Sendable, Equatable {
    case double
    case int64

    /// The libnetcdf type code.
    var code: nc_type {
        switch self {
        case .double: NC_DOUBLE
        case .int64: NC_INT64
        }
    }

    /// The type for a libnetcdf code, nil for types the results layer does not use.
    init?(code: nc_type) {
        switch code {
        case NC_DOUBLE: self = .double
        case NC_INT64: self = .int64
        default: return nil
        }
    }
}
