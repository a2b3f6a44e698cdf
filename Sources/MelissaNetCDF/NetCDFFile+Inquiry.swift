import CNetCDF

/// Questions about the file's structure: names, ids, lengths, shapes, types.
extension NetCDFFile {
    /// The id of the variable called `name`.
    public func variableID(named name: String) throws(NetCDFError) -> Int32 {
        var variable: Int32 = -1
        let status = nc_inq_varid(try openID("nc_inq_varid"), name, &variable)
        guard status == NC_NOERR else {
            throw .library(operation: "nc_inq_varid", path: path, variable: name, code: status)
        }
        return variable
    }

    /// The length of the dimension called `name`.
    public func dimensionLength(named name: String) throws(NetCDFError) -> Int {
        var dimension: Int32 = -1
        try call("nc_inq_dimid (\(name))") { nc_inq_dimid($0, name, &dimension) }
        var length = 0
        try call("nc_inq_dimlen (\(name))") { nc_inq_dimlen($0, dimension, &length) }
        return length
    }

    /// The name of variable `variable`.
    public func variableName(_ variable: Int32) throws(NetCDFError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(NC_MAX_NAME) + 1)
        let status = nc_inq_varname(try openID("nc_inq_varname"), variable, &buffer)
        guard status == NC_NOERR else {
            // Not through call(): naming the variable would recurse into this function.
            throw .library(operation: "nc_inq_varname", path: path, variable: "#\(variable)", code: status)
        }
        return Self.string(from: buffer)
    }

    /// The names of all variables, in definition order.
    public func variableNames() throws(NetCDFError) -> [String] {
        var count: Int32 = 0
        try call("nc_inq_varids") { nc_inq_varids($0, &count, nil) }
        var ids = [Int32](repeating: 0, count: Int(count))
        try call("nc_inq_varids") { nc_inq_varids($0, &count, &ids) }
        var names: [String] = []
        for variable in ids { names.append(try variableName(variable)) }
        return names
    }

    /// The variable's type, nil when it is neither double nor int64.
    public func variableType(_ variable: Int32) throws(NetCDFError) -> NetCDFType? {
        var type: nc_type = 0
        try call("nc_inq_vartype", variable: variable) { nc_inq_vartype($0, variable, &type) }
        return NetCDFType(code: type)
    }

    /// The names of the variable's dimensions, slowest-varying first.
    public func variableDimensionNames(_ variable: Int32) throws(NetCDFError) -> [String] {
        var names: [String] = []
        for dimension in try variableDimensionIDs(variable) {
            var buffer = [CChar](repeating: 0, count: Int(NC_MAX_NAME) + 1)
            try call("nc_inq_dimname", variable: variable) { nc_inq_dimname($0, dimension, &buffer) }
            names.append(Self.string(from: buffer))
        }
        return names
    }

    /// The variable's shape: the length of each of its dimensions, slowest-varying first.
    public func variableShape(_ variable: Int32) throws(NetCDFError) -> [Int] {
        var shape: [Int] = []
        for dimension in try variableDimensionIDs(variable) {
            var length = 0
            try call("nc_inq_dimlen", variable: variable) { nc_inq_dimlen($0, dimension, &length) }
            shape.append(length)
        }
        return shape
    }

    /// The number of dimensions of the variable.
    func variableRank(_ variable: Int32) throws(NetCDFError) -> Int {
        var rank: Int32 = 0
        try call("nc_inq_varndims", variable: variable) { nc_inq_varndims($0, variable, &rank) }
        return Int(rank)
    }

    private func variableDimensionIDs(_ variable: Int32) throws(NetCDFError) -> [Int32] {
        var ids = [Int32](repeating: 0, count: try variableRank(variable))
        try call("nc_inq_vardimid", variable: variable) { nc_inq_vardimid($0, variable, &ids) }
        return ids
    }

    /// A NUL-terminated name buffer as a String.
    static func string(from buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
