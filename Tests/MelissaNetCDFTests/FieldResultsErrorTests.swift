import Foundation
import XCTest
@testable import MelissaNetCDF

/// Invalid schemas and bad block writes: refused with the path, the variable and the reason.
final class FieldResultsErrorTests: XCTestCase {
    private var directory: URL!
    private var path: String!

    override func setUpWithError() throws {
        directory = try temporaryDirectory(self)
        path = directory.appendingPathComponent("temperature.nc").path
    }

    private func writeBlock(_ variable: String, extra: Int?, cells: Range<Int>, _ values: [Double]) throws(NetCDFError) {
        try values.withUnsafeBufferPointer { buffer throws(NetCDFError) in
            try FieldResultsFile.writeBlock(path: path, variable: variable, extraIndex: extra, cellRange: cells, values: buffer)
        }
    }

    private func reason(_ error: NetCDFError?) -> String {
        guard case .invalidRequest(_, _, _, let reason) = error else { return "not refused: \(String(describing: error))" }
        return reason
    }

    func testInvalidSchemasAreRefusedAndNoFileIsLeft() {
        let mean = ResultVariable(name: "mean")
        let parameter = ExtraDimension(name: "parameter", coordinates: [0, 1], labels: ["a", "b"])
        let cases: [(FieldResultsSchema, String)] = [
            (FieldResultsSchema(field: "f", nbTimeSteps: 0, cellCount: 3, variables: [mean]), "at least 1"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 0, variables: [mean]), "at least 1"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3,
                                variables: [ResultVariable(name: "sobol_first", extraDimension: "parameter")]),
             "undeclared extra dimension 'parameter'"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3, extraDimensions: [parameter],
                                variables: [ResultVariable(name: "parameter")]), "already used by a dimension"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3, variables: [mean, mean]), "already used"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3, variables: [ResultVariable(name: "time")]),
             "already used"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3,
                                extraDimensions: [ExtraDimension(name: "parameter", coordinates: [])], variables: [mean]),
             "no coordinates"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3,
                                extraDimensions: [ExtraDimension(name: "parameter", coordinates: [0, 1], labels: ["a"])],
                                variables: [mean]), "1 labels for 2 coordinates"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3,
                                extraDimensions: [ExtraDimension(name: "parameter", coordinates: [0], labels: ["a,b"])],
                                variables: [mean]), "contains a comma"),
            (FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3, variables: [mean],
                                globalAttributes: [("field", .text("other"))]), "global attribute 'field'"),
        ]
        for (schema, expected) in cases {
            let error = expectNetCDFError { try FieldResultsFile.create(path: path, schema: schema) }
            XCTAssertEqual(error?.path, path)
            XCTAssertTrue(reason(error).contains(expected), "\(reason(error)) should contain \(expected)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), expected)
        }
    }

    func testALibraryFailureDuringCreateRemovesTheHalfMadeFile() {
        // '/' is not allowed in NetCDF names: nc_put_att fails after the file exists.
        let schema = FieldResultsSchema(field: "f", nbTimeSteps: 2, cellCount: 3, variables: [ResultVariable(name: "mean")],
                                        globalAttributes: [("bad/name", .int64(1))])
        let error = expectNetCDFError { try FieldResultsFile.create(path: path, schema: schema) }
        guard case .library(let operation, let failedPath, _, _) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(operation.contains("bad/name"), operation)
        XCTAssertEqual(failedPath, path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testCreateInAMissingDirectoryNamesThePath() {
        let missing = directory.appendingPathComponent("nope/results/f.nc").path
        let error = expectNetCDFError { try FieldResultsFile.create(path: missing, schema: ResultsFixture.schema) }
        XCTAssertEqual(error?.path, missing)
        XCTAssertNotNil(error?.libraryMessage)
    }

    func testBadBlocksAreRefusedNamingPathAndVariable() throws {
        try FieldResultsFile.create(path: path, schema: ResultsFixture.schema)
        let steps = ResultsFixture.steps

        let unknown = expectNetCDFError { try writeBlock("median", extra: nil, cells: 0..<1, [Double](repeating: 0, count: steps)) }
        XCTAssertEqual(unknown?.variable, "median")
        XCTAssertEqual(unknown?.path, path)
        XCTAssertTrue(unknown?.description.contains(path) ?? false)

        let outside = expectNetCDFError { try writeBlock("mean", extra: nil, cells: 9..<12, [Double](repeating: 0, count: steps * 3)) }
        XCTAssertEqual(outside?.variable, "mean")
        XCTAssertTrue(reason(outside).contains("outside shape [4, 11]"), reason(outside))

        let size = expectNetCDFError { try writeBlock("mean", extra: nil, cells: 0..<3, [Double](repeating: 0, count: 11)) }
        XCTAssertTrue(reason(size).contains("11 values for 4 steps × 3 cells"), reason(size))

        let missingExtra = expectNetCDFError { try writeBlock("sobol_first", extra: nil, cells: 0..<1, [0, 0, 0, 0]) }
        XCTAssertTrue(reason(missingExtra).contains("expected (time, cell)"), reason(missingExtra))
        let unexpectedExtra = expectNetCDFError { try writeBlock("mean", extra: 0, cells: 0..<1, [0, 0, 0, 0]) }
        XCTAssertTrue(reason(unexpectedExtra).contains("expected (extra, time, cell)"), reason(unexpectedExtra))
        let extraOutside = expectNetCDFError { try writeBlock("sobol_first", extra: 3, cells: 0..<1, [0, 0, 0, 0]) }
        XCTAssertTrue(reason(extraOutside).contains("outside shape [3, 4, 11]"), reason(extraOutside))
        let coordinate = expectNetCDFError { try writeBlock("time", extra: nil, cells: 0..<1, [0, 0, 0, 0]) }
        XCTAssertTrue(reason(coordinate).contains("dimensions (time)"), reason(coordinate))

        for bad in [2.5, .nan, .infinity, 9.3e18] {
            let error = expectNetCDFError { try writeBlock("count", extra: nil, cells: 5..<6, [1, 2, bad, 4]) }
            XCTAssertEqual(error?.variable, "count")
            XCTAssertTrue(reason(error).contains("at step 2, cell 5"), reason(error))
        }
        // Nothing of the refused blocks landed: the file still reads back the default fill.
        let file = try NetCDFFile.open(path: path)
        let counts = try file.readInt64(variable: file.variableID(named: "count"), start: [0, 5], count: [4, 1])
        XCTAssertFalse(counts.contains(1), "\(counts)")
    }

    func testGarbageFileIsRefusedByWriteBlock() throws {
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: path))
        let error = expectNetCDFError { try writeBlock("mean", extra: nil, cells: 0..<1, [0, 0, 0, 0]) }
        guard case .library("nc_open", let failedPath, _, _) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(failedPath, path)
    }

    func testChunksHoldAtMost16KiValuesAndWholeStepsForSmallFields() {
        XCTAssertEqual(FieldResultsFile.chunkShape(nbTimeSteps: 100, cellCount: 1_000_000).cell, 16_384)
        XCTAssertEqual(FieldResultsFile.chunkShape(nbTimeSteps: 100, cellCount: 1_000_000).time, 1)
        XCTAssertEqual(FieldResultsFile.chunkShape(nbTimeSteps: 100, cellCount: 1000).time, 16)
        XCTAssertEqual(FieldResultsFile.chunkShape(nbTimeSteps: 3, cellCount: 10).time, 3)
        XCTAssertEqual(FieldResultsFile.chunkShape(nbTimeSteps: 3, cellCount: 10).cell, 10)
    }
}
