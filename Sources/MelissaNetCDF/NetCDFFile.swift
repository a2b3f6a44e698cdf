import CNetCDF

/// An open NetCDF file: a thin wrapper over one libnetcdf id that turns status codes into
/// `NetCDFError`s naming the file and variable. Closed by `close()`, or by deinit if still open.
///
/// Not Sendable: libnetcdf is not thread-safe, so a file stays on the thread that opened it.
public final class NetCDFFile {
    /// The path the file was created or opened with (named in every error).
    public let path: String
    private let id: Int32
    private var isOpen = true

    private init(path: String, id: Int32) {
        self.path = path
        self.id = id
    }

    deinit {
        // Last resort: an error here cannot be reported, callers who care call close().
        if isOpen { _ = nc_close(id) }
    }

    /// Creates (or replaces) a NetCDF-4 file, left in define mode.
    public static func create(path: String) throws(NetCDFError) -> NetCDFFile {
        var id: Int32 = -1
        let status = nc_create(path, NC_NETCDF4 | NC_CLOBBER, &id)
        guard status == NC_NOERR else {
            throw .library(operation: "nc_create", path: path, variable: nil, code: status)
        }
        return NetCDFFile(path: path, id: id)
    }

    /// Opens an existing file, read-only unless `writable`.
    public static func open(path: String, writable: Bool = false) throws(NetCDFError) -> NetCDFFile {
        var id: Int32 = -1
        let status = nc_open(path, writable ? NC_WRITE : NC_NOWRITE, &id)
        guard status == NC_NOERR else {
            throw .library(operation: "nc_open", path: path, variable: nil, code: status)
        }
        return NetCDFFile(path: path, id: id)
    }

    /// Flushes and closes the file; later calls on this object fail with `.closed`.
    public func close() throws(NetCDFError) {
        guard isOpen else { throw .closed(operation: "nc_close", path: path) }
        // libnetcdf releases the id even when the final flush fails, so never close twice.
        isOpen = false
        let status = nc_close(id)
        guard status == NC_NOERR else {
            throw .library(operation: "nc_close", path: path, variable: nil, code: status)
        }
    }

    /// Leaves define mode so data can be written.
    public func endDefinitions() throws(NetCDFError) {
        try call("nc_enddef") { nc_enddef($0) }
    }

    /// Defines a fixed-length dimension and returns its id. Lengths start at 1: libnetcdf reads
    /// 0 as "unlimited", which the results files never need.
    public func defineDimension(_ name: String, length: Int) throws(NetCDFError) -> Int32 {
        guard length >= 1 else {
            throw .invalidRequest(operation: "nc_def_dim", path: path, variable: nil,
                                  reason: "dimension '\(name)' needs a length of at least 1, not \(length)")
        }
        var dimension: Int32 = -1
        try call("nc_def_dim") { nc_def_dim($0, name, length, &dimension) }
        return dimension
    }

    /// Defines a variable over the given dimension ids (slowest-varying first) and returns its id.
    public func defineVariable(_ name: String, type: NetCDFType, dimensions: [Int32]) throws(NetCDFError) -> Int32 {
        var variable: Int32 = -1
        let status = nc_def_var(try openID("nc_def_var"), name, type.code, Int32(dimensions.count), dimensions, &variable)
        guard status == NC_NOERR else {
            throw .library(operation: "nc_def_var", path: path, variable: name, code: status)
        }
        return variable
    }

    /// Sets a variable's storage: chunked with one chunk length per dimension, or contiguous
    /// when `chunkSizes` is nil.
    public func setChunking(variable: Int32, chunkSizes: [Int]?) throws(NetCDFError) {
        guard let chunkSizes else {
            try call("nc_def_var_chunking", variable: variable) { nc_def_var_chunking($0, variable, NC_CONTIGUOUS, nil) }
            return
        }
        let rank = try variableRank(variable)
        guard chunkSizes.count == rank, chunkSizes.allSatisfy({ $0 >= 1 }) else {
            throw .invalidRequest(operation: "nc_def_var_chunking", path: path, variable: variableNameForError(variable),
                                  reason: "chunk sizes \(chunkSizes) for a variable of rank \(rank)")
        }
        try call("nc_def_var_chunking", variable: variable) { nc_def_var_chunking($0, variable, NC_CHUNKED, chunkSizes) }
    }

    /// The libnetcdf id, or `.closed` once the file is closed.
    func openID(_ operation: String) throws(NetCDFError) -> Int32 {
        guard isOpen else { throw .closed(operation: operation, path: path) }
        return id
    }

    /// Runs one libnetcdf call on the open file and turns a failing status into an error
    /// naming the operation, the file and (when given) the variable.
    func call(_ operation: String, variable: Int32? = nil, _ body: (Int32) -> Int32) throws(NetCDFError) {
        let status = body(try openID(operation))
        guard status == NC_NOERR else {
            throw .library(operation: operation, path: path, variable: variable.map(variableNameForError), code: status)
        }
    }

    /// A variable's name for an error message; best effort, as the error may be about the id itself.
    func variableNameForError(_ variable: Int32) -> String {
        if variable == NC_GLOBAL { return "global attributes" }
        return (try? variableName(variable)) ?? "#\(variable)"
    }
}
