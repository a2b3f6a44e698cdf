import CNetCDF

/// Attributes: written and read by name, on a variable or (variable nil) on the file.
extension NetCDFFile {
    /// Writes (or replaces) attribute `name` on `variable`, or a global attribute when nil.
    public func putAttribute(_ name: String, _ value: AttributeValue, variable: Int32? = nil) throws(NetCDFError) {
        let target = variable ?? NC_GLOBAL
        let operation = "put attribute '\(name)'"
        switch value {
        case .text(let text):
            // NetCDF text is a byte count, not a C string: store the UTF-8 bytes without a NUL.
            let bytes = Array(text.utf8).map { CChar(bitPattern: $0) }
            try call(operation, variable: target) { nc_put_att_text($0, target, name, bytes.count, bytes) }
        case .double(var number):
            try call(operation, variable: target) { nc_put_att_double($0, target, name, NC_DOUBLE, 1, &number) }
        case .doubles(let numbers):
            try call(operation, variable: target) { nc_put_att_double($0, target, name, NC_DOUBLE, numbers.count, numbers) }
        case .int64(var number):
            try call(operation, variable: target) { nc_put_att_longlong($0, target, name, NC_INT64, 1, &number) }
        }
    }

    /// Reads attribute `name` of `variable`, or a global attribute when nil
    /// (see `AttributeValue` for how NetCDF types map back).
    public func readAttribute(_ name: String, variable: Int32? = nil) throws(NetCDFError) -> AttributeValue {
        let target = variable ?? NC_GLOBAL
        let operation = "read attribute '\(name)'"
        var type: nc_type = 0
        var length = 0
        try call(operation, variable: target) { nc_inq_att($0, target, name, &type, &length) }
        switch type {
        case NC_CHAR:
            var bytes = [CChar](repeating: 0, count: length)
            try call(operation, variable: target) { nc_get_att_text($0, target, name, &bytes) }
            return .text(String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case NC_DOUBLE, NC_FLOAT:
            var numbers = [Double](repeating: 0, count: length)
            try call(operation, variable: target) { nc_get_att_double($0, target, name, &numbers) }
            return length == 1 ? .double(numbers[0]) : .doubles(numbers)
        case _ where length == 1 && [NC_BYTE, NC_SHORT, NC_INT, NC_INT64, NC_UBYTE, NC_USHORT, NC_UINT].contains(type):
            var number: Int64 = 0
            try call(operation, variable: target) { nc_get_att_longlong($0, target, name, &number) }
            return .int64(number)
        default:
            throw .invalidRequest(operation: operation, path: path, variable: variableNameForError(target),
                                  reason: "attribute of NetCDF type \(type) with \(length) values is not supported")
        }
    }

    /// The names of the attributes of `variable`, or the global ones when nil, in storage order.
    public func attributeNames(variable: Int32? = nil) throws(NetCDFError) -> [String] {
        let target = variable ?? NC_GLOBAL
        var count: Int32 = 0
        try call("nc_inq_varnatts", variable: target) { nc_inq_varnatts($0, target, &count) }
        var names: [String] = []
        for index in 0..<count {
            var buffer = [CChar](repeating: 0, count: Int(NC_MAX_NAME) + 1)
            try call("nc_inq_attname", variable: target) { nc_inq_attname($0, target, index, &buffer) }
            names.append(Self.string(from: buffer))
        }
        return names
    }
}
