#if canImport(Glibc)
import Glibc
#endif

/// The per-field results file (`results/<field>.nc`, docs/RESULTS.md): its layout, and the
/// writes server ranks make into it one after the other.
///
/// Fill values: no `_FillValue` attribute is set, so libnetcdf's default fill (9.969e36 for
/// doubles) marks cells no rank ever wrote (netCDF4-python masks them), while NaN is an
/// ordinary stored value meaning "undefined" (e.g. a variance from fewer than 2 samples).
/// A NaN `_FillValue` would have merged the two.
public enum FieldResultsFile {
    /// The name of the time dimension and its coordinate variable.
    public static let timeDimension = "time"
    /// The name of the cell dimension and its coordinate variable.
    public static let cellDimension = "cell"
    /// The version of this layout, stored as the global attribute `results_format_version`.
    public static let formatVersion: Int64 = 1
    /// Global attributes `create` writes itself.
    static let reservedGlobalAttributes: Set<String> = ["field", "results_format_version"]

    /// Creates the file with dimensions time, cell and the extra ones, coordinate variables time (0..T-1) and cell (0..N-1) and each extra dimension's coordinates, every variable with units and description attributes, and the global attributes. Variables without an extra dimension have dimensions (time, cell); with one, (extra, time, cell).
    ///
    /// An existing file is replaced; on failure the half-made file is removed, so a file at
    /// `path` always has the complete layout.
    public static func create(path: String, schema: FieldResultsSchema) throws(NetCDFError) {
        if let problem = schema.problem() {
            throw .invalidRequest(operation: "create results file", path: path, variable: nil, reason: problem)
        }
        let file = try NetCDFFile.create(path: path)
        do {
            try define(file, schema)
            try file.close()
        } catch {
            try? file.close()
            _ = unlink(path)
            throw error
        }
    }

    /// Writes one rank's block: `values` holds steps × cellRange.count doubles, step-major, for variable `name` (and index `extraIndex` along its extra dimension when it has one). Opens, writes the hyperslab, closes: ranks call it in turn so each block lands in place in the one file.
    ///
    /// For an integer variable each value must be integral and within Int64's range.
    public static func writeBlock(path: String, variable name: String, extraIndex: Int?, cellRange: Range<Int>,
                                  values: UnsafeBufferPointer<Double>) throws(NetCDFError) {
        let file = try NetCDFFile.open(path: path, writable: true)
        let variable = try file.variableID(named: name)
        let dimensions = try file.variableDimensionNames(variable)
        let steps = try file.dimensionLength(named: timeDimension)
        let refuse = { (reason: String) in
            NetCDFError.invalidRequest(operation: "write results block", path: path, variable: name, reason: reason)
        }
        guard dimensions.suffix(2) == [timeDimension, cellDimension], dimensions.count == (extraIndex == nil ? 2 : 3) else {
            let wanted = extraIndex == nil ? "(time, cell)" : "(extra, time, cell)"
            throw refuse("dimensions (\(dimensions.joined(separator: ", "))), expected \(wanted) for extraIndex \(extraIndex.map(String.init) ?? "nil")")
        }
        // The wrapper checks the hyperslab too; this message says it in the block's terms.
        guard values.count == steps * cellRange.count else {
            throw refuse("\(values.count) values for \(steps) steps × \(cellRange.count) cells \(cellRange)")
        }
        let start = (extraIndex.map { [$0] } ?? []) + [0, cellRange.lowerBound]
        let count = (extraIndex == nil ? [] : [1]) + [steps, cellRange.count]
        if try file.variableType(variable) == .int64 {
            let integers = try integral(values, cellRange: cellRange, refuse: refuse)
            try integers.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try file.write(buffer, variable: variable, start: start, count: count)
            }
        } else {
            try file.write(values, variable: variable, start: start, count: count)
        }
        try file.close()
    }

    /// Defines everything, leaves define mode and writes the coordinate variables.
    private static func define(_ file: NetCDFFile, _ schema: FieldResultsSchema) throws(NetCDFError) {
        let time = try file.defineDimension(timeDimension, length: schema.nbTimeSteps)
        let cell = try file.defineDimension(cellDimension, length: schema.cellCount)
        var extraIDs: [String: Int32] = [:]
        for extra in schema.extraDimensions {
            extraIDs[extra.name] = try file.defineDimension(extra.name, length: extra.coordinates.count)
        }

        let timeVariable = try coordinate(file, timeDimension, time, .int64, units: "1",
                                          description: "time step index, 0-based")
        let cellVariable = try coordinate(file, cellDimension, cell, .int64, units: "1",
                                          description: "global cell index, 0-based: client rank 0's slice first, then rank 1's, ...")
        var extraVariables: [Int32] = []
        for extra in schema.extraDimensions {
            let variable = try coordinate(file, extra.name, extraIDs[extra.name] ?? -1, .double,
                                          units: extra.units, description: extra.description)
            if let labels = extra.labels {
                try file.putAttribute("labels", .text(labels.joined(separator: ",")), variable: variable)
            }
            extraVariables.append(variable)
        }

        let chunk = chunkShape(nbTimeSteps: schema.nbTimeSteps, cellCount: schema.cellCount)
        for result in schema.variables {
            var dimensions = [time, cell]
            var chunkSizes = [chunk.time, chunk.cell]
            if let extra = result.extraDimension {
                dimensions.insert(extraIDs[extra] ?? -1, at: 0)
                chunkSizes.insert(1, at: 0)  // one extra index per block write: never share a chunk across indices
            }
            let variable = try file.defineVariable(result.name, type: result.isInteger ? .int64 : .double,
                                                   dimensions: dimensions)
            try file.setChunking(variable: variable, chunkSizes: chunkSizes)
            try file.putAttribute("units", .text(result.units), variable: variable)
            try file.putAttribute("description", .text(result.description), variable: variable)
        }

        try file.putAttribute("field", .text(schema.field))
        try file.putAttribute("results_format_version", .int64(formatVersion))
        for (name, value) in schema.globalAttributes {
            try file.putAttribute(name, value)
        }
        try file.endDefinitions()

        try writeIndices(file, timeVariable, count: schema.nbTimeSteps)
        try writeIndices(file, cellVariable, count: schema.cellCount)
        for (extra, variable) in zip(schema.extraDimensions, extraVariables) {
            try extra.coordinates.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try file.write(buffer, variable: variable, start: [0], count: [buffer.count])
            }
        }
    }

    /// Chunk lengths along (time, cell) for the data variables.
    ///
    /// Each server rank writes one block per variable: every step of one contiguous cell range.
    /// Readers usually want one step's map or one cell's history. Chunks of up to 16 Ki values
    /// (128 KiB of doubles) sit in HDF5's recommended 10 KiB–1 MiB range and fit its chunk cache:
    /// a block write then covers most chunks whole, and only the chunks straddling a boundary
    /// between two ranks' cell ranges are read, modified and rewritten by the second rank;
    /// smaller chunks would keep that overhead low too but multiply per-chunk index costs.
    /// Fields smaller than 16 Ki cells put several steps in a chunk so tiny fields do not
    /// produce one chunk per step. No compression: statistics of floating-point fields
    /// compress poorly and a filter would slow every rank's write.
    static func chunkShape(nbTimeSteps: Int, cellCount: Int) -> (time: Int, cell: Int) {
        let target = 16_384
        let cell = max(1, min(cellCount, target))
        let time = max(1, min(nbTimeSteps, target / cell))
        return (time, cell)
    }

    private static func coordinate(_ file: NetCDFFile, _ name: String, _ dimension: Int32, _ type: NetCDFType,
                                   units: String, description: String) throws(NetCDFError) -> Int32 {
        let variable = try file.defineVariable(name, type: type, dimensions: [dimension])
        try file.setChunking(variable: variable, chunkSizes: nil)  // small, written once, read whole
        try file.putAttribute("units", .text(units), variable: variable)
        try file.putAttribute("description", .text(description), variable: variable)
        return variable
    }

    private static func writeIndices(_ file: NetCDFFile, _ variable: Int32, count: Int) throws(NetCDFError) {
        let indices = (0..<count).map { Int64($0) }
        try indices.withUnsafeBufferPointer { buffer throws(NetCDFError) in
            try file.write(buffer, variable: variable, start: [0], count: [count])
        }
    }

    /// The block's doubles as Int64s, refusing (with step and cell) one that is not an integer.
    private static func integral(_ values: UnsafeBufferPointer<Double>, cellRange: Range<Int>,
                                 refuse: (String) -> NetCDFError) throws(NetCDFError) -> [Int64] {
        var integers = [Int64]()
        integers.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            // Int64(exactly:) is nil for fractions, NaN, infinities and values beyond ±2^63.
            guard let integer = Int64(exactly: value) else {
                let step = index / cellRange.count
                let cell = cellRange.lowerBound + index % cellRange.count
                throw refuse("value \(value) at step \(step), cell \(cell) is not an integer an int64 variable can hold")
            }
            integers.append(integer)
        }
        return integers
    }
}
