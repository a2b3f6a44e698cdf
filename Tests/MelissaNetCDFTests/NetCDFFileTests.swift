import XCTest
@testable import MelissaNetCDF

/// The thin wrapper: define, write, read back, attributes, close.
final class NetCDFFileTests: XCTestCase {
    func testDefinesWritesAndReadsBackHyperslabsOfBothTypes() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("plain.nc").path
        let file = try NetCDFFile.create(path: path)
        let rows = try file.defineDimension("row", length: 3)
        let columns = try file.defineDimension("column", length: 4)
        let grid = try file.defineVariable("grid", type: .double, dimensions: [rows, columns])
        let counts = try file.defineVariable("counts", type: .int64, dimensions: [columns])
        try file.setChunking(variable: grid, chunkSizes: [1, 4])
        try file.endDefinitions()

        // Two hyperslabs: rows 0-1 then row 2, including NaN and infinities, which must survive.
        let top: [Double] = [0, 1, .nan, 3, 4, -.infinity, 6, 7.5]
        let bottom: [Double] = [8, 9, 10, .infinity]
        try top.withUnsafeBufferPointer { try file.write($0, variable: grid, start: [0, 0], count: [2, 4]) }
        try bottom.withUnsafeBufferPointer { try file.write($0, variable: grid, start: [2, 0], count: [1, 4]) }
        let integers: [Int64] = [Int64.min, -1, 0, Int64.max]
        try integers.withUnsafeBufferPointer { try file.write($0, variable: counts, start: [0], count: [4]) }
        try file.close()

        let reopened = try NetCDFFile.open(path: path)
        XCTAssertEqual(try reopened.variableNames(), ["grid", "counts"])
        XCTAssertEqual(try reopened.dimensionLength(named: "row"), 3)
        XCTAssertEqual(try reopened.dimensionLength(named: "column"), 4)
        let gridID = try reopened.variableID(named: "grid")
        XCTAssertEqual(try reopened.variableDimensionNames(gridID), ["row", "column"])
        XCTAssertEqual(try reopened.variableShape(gridID), [3, 4])
        XCTAssertEqual(try reopened.variableType(gridID), .double)
        XCTAssertSameDoubles(try readAll(reopened, "grid"), top + bottom)
        // A sub-block: rows 1-2, columns 1-2.
        XCTAssertSameDoubles(try reopened.read(variable: gridID, start: [1, 1], count: [2, 2]), [-.infinity, 6, 9, 10])
        let countsID = try reopened.variableID(named: "counts")
        XCTAssertEqual(try reopened.variableType(countsID), .int64)
        XCTAssertEqual(try reopened.readInt64(variable: countsID, start: [0], count: [4]), integers)
        XCTAssertEqual(try reopened.read(variable: countsID, start: [1], count: [2]), [-1, 0])
        XCTAssertEqual(try reopened.readInt64(variable: countsID, start: [4], count: [0]), [])
        try reopened.close()
    }

    func testAttributesRoundTripGlobalAndPerVariable() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("attributes.nc").path
        let file = try NetCDFFile.create(path: path)
        let dimension = try file.defineDimension("x", length: 2)
        let variable = try file.defineVariable("v", type: .double, dimensions: [dimension])
        try file.putAttribute("title", .text("température — ünïcode"))
        try file.putAttribute("empty", .text(""))
        try file.putAttribute("pi", .double(3.141592653589793))
        try file.putAttribute("bounds", .doubles([0.5, .nan, 1e300]))
        try file.putAttribute("seed", .int64(-9_007_199_254_740_993))
        try file.putAttribute("units", .text("K"), variable: variable)
        try file.putAttribute("scale", .double(2), variable: variable)
        try file.putAttribute("units", .text("kelvin"), variable: variable)  // replaces
        try file.close()

        let reopened = try NetCDFFile.open(path: path)
        XCTAssertEqual(try reopened.attributeNames(), ["title", "empty", "pi", "bounds", "seed"])
        XCTAssertEqual(try reopened.readAttribute("title"), .text("température — ünïcode"))
        XCTAssertEqual(try reopened.readAttribute("empty"), .text(""))
        XCTAssertEqual(try reopened.readAttribute("pi"), .double(3.141592653589793))
        guard case .doubles(let bounds) = try reopened.readAttribute("bounds") else {
            return XCTFail("bounds should read back as doubles")
        }
        XCTAssertSameDoubles(bounds, [0.5, .nan, 1e300])
        XCTAssertEqual(try reopened.readAttribute("seed"), .int64(-9_007_199_254_740_993))
        let v = try reopened.variableID(named: "v")
        XCTAssertEqual(try reopened.attributeNames(variable: v), ["units", "scale"])
        XCTAssertEqual(try reopened.readAttribute("units", variable: v), .text("kelvin"))
        XCTAssertEqual(try reopened.readAttribute("scale", variable: v), .double(2))
    }

    func testUseAfterCloseIsAnErrorNotACrash() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("closed.nc").path
        let file = try NetCDFFile.create(path: path)
        try file.close()
        let error = expectNetCDFError { try file.close() }
        XCTAssertEqual(error, .closed(operation: "nc_close", path: path))
        let again = expectNetCDFError { _ = try file.variableID(named: "x") }
        XCTAssertEqual(again?.path, path)
        XCTAssertTrue(again?.description.contains("already closed") ?? false, "\(String(describing: again))")
    }

    func testDeinitClosesSoTheFileIsComplete() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("deinit.nc").path
        do {
            let file = try NetCDFFile.create(path: path)
            _ = try file.defineDimension("x", length: 1)
            try file.putAttribute("note", .text("closed by deinit"))
        }
        let reopened = try NetCDFFile.open(path: path)
        XCTAssertEqual(try reopened.readAttribute("note"), .text("closed by deinit"))
        XCTAssertEqual(try reopened.dimensionLength(named: "x"), 1)
    }
}
