import Foundation
import XCTest
@testable import MelissaNetCDF

/// Bad paths, unknown names, bad hyperslabs and broken files: each a NetCDFError naming the
/// file (and the variable when there is one), never a crash.
final class NetCDFErrorTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory(self)
    }

    /// A file with a 2×3 double variable "v" and a 3-value int64 variable "n", open for writing.
    private func smallFile() throws -> (NetCDFFile, v: Int32, n: Int32) {
        let file = try NetCDFFile.create(path: directory.appendingPathComponent("small.nc").path)
        let rows = try file.defineDimension("r", length: 2)
        let columns = try file.defineDimension("c", length: 3)
        let v = try file.defineVariable("v", type: .double, dimensions: [rows, columns])
        let n = try file.defineVariable("n", type: .int64, dimensions: [columns])
        try file.endDefinitions()
        return (file, v, n)
    }

    func testCreateInAMissingDirectoryNamesThePathAndLibnetcdfsMessage() {
        let path = directory.appendingPathComponent("no/such/dir/out.nc").path
        let error = expectNetCDFError { _ = try NetCDFFile.create(path: path) }
        XCTAssertEqual(error?.path, path)
        guard case .library(let operation, _, _, _) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(operation, "nc_create")
        XCTAssertFalse(error?.libraryMessage?.isEmpty ?? true)
        XCTAssertTrue(error?.description.contains(path) ?? false, "\(String(describing: error))")
    }

    func testOpeningAMissingFileNamesThePath() {
        let path = directory.appendingPathComponent("missing.nc").path
        let error = expectNetCDFError { _ = try NetCDFFile.open(path: path) }
        XCTAssertEqual(error?.path, path)
        XCTAssertTrue(error?.description.contains("missing.nc") ?? false)
        XCTAssertNotNil(error?.libraryMessage)
    }

    func testGarbageFileIsRefusedWithTheLibrarysMessage() throws {
        let url = directory.appendingPathComponent("garbage.nc")
        try Data("this is not a NetCDF file, just some text\n".utf8).write(to: url)
        let error = expectNetCDFError { _ = try NetCDFFile.open(path: url.path) }
        XCTAssertEqual(error?.path, url.path)
        XCTAssertTrue(error?.description.contains(url.path) ?? false)
        XCTAssertTrue(error?.description.contains(error?.libraryMessage ?? "<none>") ?? false)
    }

    func testTruncatedFileIsAnErrorOnOpenOrRead() throws {
        let (file, v, _) = try smallFile()
        let values = [Double](repeating: 1.5, count: 6)
        try values.withUnsafeBufferPointer { try file.write($0, variable: v, start: [0, 0], count: [2, 3]) }
        try file.close()
        let url = directory.appendingPathComponent("small.nc")
        let bytes = try Data(contentsOf: url)
        let truncated = directory.appendingPathComponent("truncated.nc")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        // HDF5 may notice on open or only when reading the data: either way an error with the path.
        let error = expectNetCDFError {
            let broken = try NetCDFFile.open(path: truncated.path)
            _ = try broken.read(variable: broken.variableID(named: "v"), start: [0, 0], count: [2, 3])
        }
        XCTAssertEqual(error?.path, truncated.path)
    }

    func testUnknownVariableAndDimensionAreNamed() throws {
        let (file, _, _) = try smallFile()
        let error = expectNetCDFError { _ = try file.variableID(named: "nope") }
        XCTAssertEqual(error?.variable, "nope")
        XCTAssertEqual(error?.path, file.path)
        let dimension = expectNetCDFError { _ = try file.dimensionLength(named: "depth") }
        XCTAssertTrue(dimension?.description.contains("depth") ?? false, "\(String(describing: dimension))")
        let attribute = expectNetCDFError { _ = try file.readAttribute("absent") }
        XCTAssertTrue(attribute?.description.contains("absent") ?? false)
    }

    func testHyperslabOutsideTheVariableIsRefusedBeforeLibnetcdf() throws {
        let (file, v, _) = try smallFile()
        let six = [Double](repeating: 0, count: 6)
        let cases: [([Int], [Int])] = [
            ([0, 1], [2, 3]),   // runs past the last column
            ([2, 0], [1, 3]),   // starts past the last row
            ([-1, 0], [1, 3]),  // negative start
            ([0, 0], [-2, -3]), // negative count
            ([0, Int.max], [1, Int.max]),  // would overflow a naive start + count
        ]
        for (start, count) in cases {
            let error = expectNetCDFError {
                try six.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                    try file.write(buffer, variable: v, start: start, count: count)
                }
            }
            guard case .invalidRequest(_, let path, let variable, let reason) = error else {
                XCTFail("start \(start) count \(count): \(String(describing: error))")
                continue
            }
            XCTAssertEqual(path, file.path)
            XCTAssertEqual(variable, "v")
            XCTAssertTrue(reason.contains("outside shape [2, 3]"), reason)
        }
        let read = expectNetCDFError { _ = try file.read(variable: v, start: [1, 0], count: [2, 3]) }
        XCTAssertEqual(read?.variable, "v")
    }

    func testRankAndBufferSizeMismatchesAreRefused() throws {
        let (file, v, n) = try smallFile()
        let five = [Double](repeating: 0, count: 5)
        let size = expectNetCDFError {
            try five.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try file.write(buffer, variable: v, start: [0, 0], count: [2, 3])
            }
        }
        XCTAssertTrue(size?.description.contains("buffer holds 5 values") ?? false, "\(String(describing: size))")
        let integers: [Int64] = [1, 2, 3]
        let rank = expectNetCDFError {
            try integers.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try file.write(buffer, variable: n, start: [0, 0], count: [1, 3])
            }
        }
        XCTAssertTrue(rank?.description.contains("rank 1") ?? false, "\(String(describing: rank))")
        XCTAssertEqual(rank?.variable, "n")
    }

    func testWritingAReadOnlyFileIsALibraryError() throws {
        let (file, v, _) = try smallFile()
        try file.close()
        let readOnly = try NetCDFFile.open(path: file.path, writable: false)
        let six = [Double](repeating: 2, count: 6)
        let error = expectNetCDFError {
            try six.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try readOnly.write(buffer, variable: v, start: [0, 0], count: [2, 3])
            }
        }
        guard case .library(let operation, _, let variable, _) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(operation, "nc_put_vara_double")
        XCTAssertEqual(variable, "v")
    }

    func testZeroLengthDimensionIsRefused() throws {
        let file = try NetCDFFile.create(path: directory.appendingPathComponent("zero.nc").path)
        let error = expectNetCDFError { _ = try file.defineDimension("x", length: 0) }
        XCTAssertTrue(error?.description.contains("at least 1") ?? false)
    }
}
