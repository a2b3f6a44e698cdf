import CNetCDF

/// Hyperslab reads and writes: `start` and `count` give, per dimension (slowest-varying first),
/// the first index and the number of indices; values are in C order.
///
/// Every request is checked against the variable's rank and shape and the buffer's size before
/// libnetcdf sees it, so a bad request is an error naming the variable, never a memory fault.
/// Values are converted by libnetcdf when the variable's type differs (e.g. reading int64 as
/// double); NC_ERANGE reports values the target type cannot hold.
extension NetCDFFile {
    /// Writes doubles into the hyperslab `start`/`count` of `variable`.
    public func write(_ values: UnsafeBufferPointer<Double>, variable: Int32, start: [Int], count: [Int]) throws(NetCDFError) {
        try checkHyperslab("nc_put_vara_double", variable: variable, start: start, count: count, elements: values.count)
        guard let base = values.baseAddress else { return }  // empty hyperslab: nothing to write
        try call("nc_put_vara_double", variable: variable) { nc_put_vara_double($0, variable, start, count, base) }
    }

    /// Writes 64-bit integers into the hyperslab `start`/`count` of `variable`.
    public func write(_ values: UnsafeBufferPointer<Int64>, variable: Int32, start: [Int], count: [Int]) throws(NetCDFError) {
        try checkHyperslab("nc_put_vara_longlong", variable: variable, start: start, count: count, elements: values.count)
        guard let base = values.baseAddress else { return }
        try call("nc_put_vara_longlong", variable: variable) { nc_put_vara_longlong($0, variable, start, count, base) }
    }

    /// Reads the hyperslab `start`/`count` of `variable` as doubles, in C order.
    public func read(variable: Int32, start: [Int], count: [Int]) throws(NetCDFError) -> [Double] {
        let elements = try checkHyperslab("nc_get_vara_double", variable: variable, start: start, count: count, elements: nil)
        var values = [Double](repeating: 0, count: elements)
        guard elements > 0 else { return values }
        try call("nc_get_vara_double", variable: variable) { nc_get_vara_double($0, variable, start, count, &values) }
        return values
    }

    /// Reads the hyperslab `start`/`count` of `variable` as 64-bit integers, in C order.
    public func readInt64(variable: Int32, start: [Int], count: [Int]) throws(NetCDFError) -> [Int64] {
        let elements = try checkHyperslab("nc_get_vara_longlong", variable: variable, start: start, count: count, elements: nil)
        var values = [Int64](repeating: 0, count: elements)
        guard elements > 0 else { return values }
        try call("nc_get_vara_longlong", variable: variable) { nc_get_vara_longlong($0, variable, start, count, &values) }
        return values
    }

    /// Checks `start`/`count` against the variable's shape and, when given, the buffer's element
    /// count; returns the number of elements the hyperslab holds.
    @discardableResult
    func checkHyperslab(_ operation: String, variable: Int32, start: [Int], count: [Int], elements: Int?) throws(NetCDFError) -> Int {
        let shape = try variableShape(variable)
        guard start.count == shape.count, count.count == shape.count else {
            throw refused(operation, variable, "start \(start) and count \(count) for a variable of rank \(shape.count)")
        }
        var total = 1
        for axis in shape.indices {
            let (first, length, size) = (start[axis], count[axis], shape[axis])
            // Written so nothing can overflow: first <= size, then length <= size - first.
            guard first >= 0, length >= 0, first <= size, length <= size - first else {
                throw refused(operation, variable, "hyperslab start \(start) count \(count) is outside shape \(shape)")
            }
            total *= length  // cannot overflow: bounded by the variable's element count
        }
        if let elements, elements != total {
            throw refused(operation, variable, "buffer holds \(elements) values but hyperslab count \(count) needs \(total)")
        }
        return total
    }

    private func refused(_ operation: String, _ variable: Int32, _ reason: String) -> NetCDFError {
        .invalidRequest(operation: operation, path: path, variable: variableNameForError(variable), reason: reason)
    }
}
