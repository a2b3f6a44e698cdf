import CNetCDF

/// A failed NetCDF operation, with the file, the variable and libnetcdf's own message.
public enum NetCDFError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libnetcdf returned the status `code` from `operation` (a C function name).
    case library(operation: String, path: String, variable: String?, code: Int32)
    /// A request refused before reaching libnetcdf: a hyperslab outside the variable, a buffer
    /// of the wrong size, an invalid schema, a value an integer variable cannot hold.
    case invalidRequest(operation: String, path: String, variable: String?, reason: String)
    /// The file was used after `close()`.
    case closed(operation: String, path: String)

    /// The file the failed operation was about.
    public var path: String {
        switch self {
        case .library(_, let path, _, _), .invalidRequest(_, let path, _, _), .closed(_, let path): path
        }
    }

    /// The variable the failed operation was about, when there was one.
    public var variable: String? {
        switch self {
        case .library(_, _, let variable, _), .invalidRequest(_, _, let variable, _): variable
        case .closed: nil
        }
    }

    /// libnetcdf's text for the status code (nc_strerror), for library errors.
    public var libraryMessage: String? {
        guard case .library(_, _, _, let code) = self else { return nil }
        return String(cString: nc_strerror(code))
    }

    /// One line: the operation, the file, the variable and why it failed.
    public var description: String {
        switch self {
        case .library(let operation, let path, let variable, _):
            "\(operation) failed for \(path)\(Self.naming(variable)): \(libraryMessage ?? "")"
        case .invalidRequest(let operation, let path, let variable, let reason):
            "\(operation) refused for \(path)\(Self.naming(variable)): \(reason)"
        case .closed(let operation, let path):
            "\(operation) on \(path): the file is already closed"
        }
    }

    private static func naming(_ variable: String?) -> String {
        variable.map { " (variable '\($0)')" } ?? ""
    }
}
