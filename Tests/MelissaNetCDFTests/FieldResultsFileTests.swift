import Foundation
import XCTest
@testable import MelissaNetCDF

/// The per-field layout: blocks from several ranks land in place; everything reads back.
final class FieldResultsFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory(self)
    }

    func testBlocksFromThreeRanksInRandomOrderReadBackExactly() throws {
        let path = directory.appendingPathComponent("temperature.nc").path
        try ResultsFixture.write(to: path, seed: 42)
        try Self.verify(path: path)
    }

    /// Checks a file written by `ResultsFixture.write` against the schema and the formulas.
    static func verify(path: String) throws {
        let schema = ResultsFixture.schema
        let file = try NetCDFFile.open(path: path)
        XCTAssertEqual(try file.variableNames(),
                       ["time", "cell", "parameter", "quantile_level", "mean", "variance", "count", "sobol_first", "quantile"])
        XCTAssertEqual(try file.dimensionLength(named: "time"), 4)
        XCTAssertEqual(try file.dimensionLength(named: "cell"), 11)
        XCTAssertEqual(try file.dimensionLength(named: "parameter"), 3)
        XCTAssertEqual(try file.dimensionLength(named: "quantile_level"), 3)

        XCTAssertEqual(try readAll(file, "time"), [0, 1, 2, 3])
        XCTAssertEqual(try readAll(file, "cell"), (0..<11).map(Double.init))
        XCTAssertEqual(try readAll(file, "parameter"), [0, 1, 2])
        XCTAssertEqual(try readAll(file, "quantile_level"), [0.05, 0.5, 0.95])
        let time = try file.variableID(named: "time")
        XCTAssertEqual(try file.variableType(time), .int64)
        XCTAssertEqual(try file.readAttribute("units", variable: time), .text("1"))
        XCTAssertEqual(try file.readAttribute("description", variable: file.variableID(named: "cell")),
                       .text("global cell index, 0-based: client rank 0's slice first, then rank 1's, ..."))
        let parameter = try file.variableID(named: "parameter")
        XCTAssertEqual(try file.attributeNames(variable: parameter), ["units", "description", "labels"])
        XCTAssertEqual(try file.readAttribute("labels", variable: parameter), .text("alpha,beta,gamma"))
        XCTAssertEqual(try file.readAttribute("description", variable: parameter), .text("index of the study parameter"))
        XCTAssertEqual(try file.attributeNames(variable: file.variableID(named: "quantile_level")), ["units", "description"])

        for variable in schema.variables {
            let id = try file.variableID(named: variable.name)
            let expectedDimensions = (variable.extraDimension.map { [$0] } ?? []) + ["time", "cell"]
            XCTAssertEqual(try file.variableDimensionNames(id), expectedDimensions, variable.name)
            XCTAssertEqual(try file.variableType(id), variable.isInteger ? .int64 : .double, variable.name)
            XCTAssertEqual(try file.readAttribute("units", variable: id), .text(variable.units))
            XCTAssertEqual(try file.readAttribute("description", variable: id), .text(variable.description))
            let extras = variable.extraDimension == nil ? 1 : 3
            let expected = (0..<extras).flatMap { extra in
                ResultsFixture.block(variable.name, extra: extra, cells: 0..<11)
            }
            XCTAssertSameDoubles(try readAll(file, variable.name), expected, variable.name)
        }
        let counts = try file.readInt64(variable: file.variableID(named: "count"), start: [0, 0], count: [4, 11])
        XCTAssertEqual(counts, (0..<4).flatMap { step in (0..<11).map { Int64(step + $0) } })

        XCTAssertEqual(try file.attributeNames(),
                       ["field", "results_format_version", "study", "parameter_names", "nb_simulations", "l_bounds", "threshold"])
        XCTAssertEqual(try file.readAttribute("field"), .text("temperature"))
        XCTAssertEqual(try file.readAttribute("results_format_version"), .int64(1))
        for (name, value) in schema.globalAttributes {
            XCTAssertEqual(try file.readAttribute(name), value, name)
        }
        try file.close()
    }
}
