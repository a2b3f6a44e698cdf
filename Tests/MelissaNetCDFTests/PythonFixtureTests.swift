import Foundation
import XCTest
@testable import MelissaNetCDF

/// Writes `ResultsFixture` for Tests/e2e/test_netcdf_files.py, which runs this test with
/// MELISSA_NETCDF_FIXTURE_DIR set and checks the file with Python's netCDF4. Without the
/// variable the file goes to a temporary directory, so the test still checks itself.
final class PythonFixtureTests: XCTestCase {
    func testWritesResultsFixture() throws {
        let directory: URL
        if let fixtureDirectory = ProcessInfo.processInfo.environment["MELISSA_NETCDF_FIXTURE_DIR"], !fixtureDirectory.isEmpty {
            directory = URL(fileURLWithPath: fixtureDirectory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } else {
            directory = try temporaryDirectory(self)
        }
        let path = directory.appendingPathComponent("temperature.nc").path
        try ResultsFixture.write(to: path, seed: 7)
        try FieldResultsFileTests.verify(path: path)
    }
}
