import Foundation
import XCTest
@testable import MelissaNetCDF

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("melissa-netcdf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A small seeded generator (SplitMix64) so "random" write orders are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` expecting a NetCDFError and returns it (nil, with a test failure, if none came).
/// The closure is untyped because Swift does not infer typed throws for closure literals.
func expectNetCDFError(_ body: () throws -> Void, file: StaticString = #filePath,
                       line: UInt = #line) -> NetCDFError? {
    do {
        try body()
        XCTFail("expected a NetCDFError", file: file, line: line)
    } catch let error as NetCDFError {
        return error
    } catch {
        XCTFail("expected a NetCDFError, got \(error)", file: file, line: line)
    }
    return nil
}

/// Reads a whole variable as doubles.
func readAll(_ file: NetCDFFile, _ name: String) throws -> [Double] {
    let variable = try file.variableID(named: name)
    let shape = try file.variableShape(variable)
    return try file.read(variable: variable, start: shape.map { _ in 0 }, count: shape)
}

/// Compares doubles bit-for-bit in meaning: NaN equals NaN.
func XCTAssertSameDoubles(_ actual: [Double], _ expected: [Double], _ message: String = "",
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() where !(a == e || (a.isNaN && e.isNaN)) {
        XCTFail("index \(index): \(a) != \(e) \(message)", file: file, line: line)
        return
    }
}
