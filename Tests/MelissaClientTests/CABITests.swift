import Foundation
import MelissaProtocol
import XCTest

/// The C ABI end to end: install the client with Scripts/build.sh, compile C programs with the
/// documented `mpicc prog.c $(melissa-config --cflags --libs)`, run them under `mpirun -n 2`
/// without LD_LIBRARY_PATH against a fake server in this process.
final class CABITests: XCTestCase {
    /// The client installed once per test process (from the libmelissa.so next to this test binary).
    private static let installation: Result<Installation, InstallError> = Installation.make()

    private var install: Installation {
        get throws {
            switch Self.installation {
            case let .success(value): return value
            case let .failure(error): throw error
            }
        }
    }

    override func setUpWithError() throws {
        // mpirun is part of the contract under test; without it these tests cannot say anything.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun") || Shell.which("mpirun") != nil else {
            throw XCTSkip("mpirun is not installed")
        }
    }

    /// That it exports nothing else is checked on the release install (Tests/e2e/test_clients.py):
    /// the debug library installed here is linked without the version script.
    func testLibraryExportsTheCAPI() throws {
        let result = try Shell.run("nm -D --defined-only '\(try install.prefix)/lib/libmelissa.so'")
        XCTAssertEqual(result.status, 0, result.output)
        for symbol in ["melissa_init", "melissa_init_f", "melissa_send", "melissa_finalize", "melissa_version"] {
            XCTAssertTrue(result.output.split(separator: "\n").contains { $0.hasSuffix(" T \(symbol)") },
                          "\(symbol) not exported:\n\(result.output)")
        }
    }

    func testHeaderCompilesAsCAndCxxAndPkgConfigAgrees() throws {
        let install = try self.install
        let dir = try install.scratch("header")
        try "#include <melissa_api.h>\nint main(void) { melissa_finalize(); return 0; }\n"
            .write(toFile: "\(dir)/h.c", atomically: true, encoding: .utf8)
        try "#include <melissa_api.h>\nint main() { melissa_init(\"f\", 1, MPI_COMM_WORLD); return 0; }\n"
            .write(toFile: "\(dir)/h.cpp", atomically: true, encoding: .utf8)
        let c = try Shell.run("mpicc -Wall -Wextra -Werror -pedantic h.c $(\(install.config) --cflags --libs) -o h_c",
                              in: dir)
        XCTAssertEqual(c.status, 0, c.output)
        // No -Wextra here: Open MPI's own C++ bindings (pulled in by mpi.h) trip it.
        let cxx = try Shell.run("mpicxx -Wall -Werror h.cpp $(\(install.config) --cflags --libs) -o h_cxx",
                                in: dir)
        XCTAssertEqual(cxx.status, 0, "extern \"C\" guards: \(cxx.output)")
        let pc = try Shell.run("PKG_CONFIG_PATH='\(install.prefix)/lib/pkgconfig' pkg-config --cflags --libs melissa")
        XCTAssertEqual(pc.status, 0, pc.output)
        let config = try Shell.run("\(install.config) --cflags --libs")
        XCTAssertEqual(pc.output.trimmingCharacters(in: .whitespacesAndNewlines),
                       config.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func testTwoRankCProgramStreamsToTwoServerRanks() throws {
        let install = try self.install
        let program = try install.compileTiny()
        let ldd = try Shell.run("ldd '\(program)'", environment: Shell.childEnvironment())
        XCTAssertFalse(ldd.output.contains("not found"), ldd.output)

        let server = try FakeServer(serverRanks: 2, answer: .reply(fieldNames: ["temperature"], nbTimeSteps: 2))
        defer { server.shutDown() }
        let run = try Shell.run("exec mpirun -n 2 '\(program)'", environment: Shell.childEnvironment([
            "MELISSA_SIMU_ID": "42", "MELISSA_SERVER_ADDRESS": server.handshakeEndpoint,
        ]))
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(try server.request(), HandshakeRequest(simulationID: 42, clientCommSize: 2))

        // Client ranks hold [0,4) and [4,9); server blocks are [0,5) and [5,9).
        func expected(client: UInt32, step: UInt32, offset: UInt64, count: UInt64) -> DataMessage {
            DataMessage(header: DataHeader(simulationID: 42, timeStep: step, field: 0, clientRank: client,
                                           globalSize: 9, offset: offset, count: count),
                        values: (0..<count).map { 1000 * Double(step) + Double(offset + $0) })
        }
        let order: (DataMessage, DataMessage) -> Bool = {
            ($0.header.clientRank, $0.header.timeStep) < ($1.header.clientRank, $1.header.timeStep)
        }
        XCTAssertEqual(try server.drain(rank: 0).sorted(by: order), [
            expected(client: 0, step: 0, offset: 0, count: 4), expected(client: 0, step: 1, offset: 0, count: 4),
            expected(client: 1, step: 0, offset: 4, count: 1), expected(client: 1, step: 1, offset: 4, count: 1),
        ])
        XCTAssertEqual(try server.drain(rank: 1).sorted(by: order), [
            expected(client: 1, step: 0, offset: 5, count: 4), expected(client: 1, step: 1, offset: 5, count: 4),
        ])
    }

    func testHeat2dStreamsExactlyWhatItDumps() throws {
        let install = try self.install
        let dumps = try install.scratch("heat2d-dumps")
        let server = try FakeServer(serverRanks: 2, answer: .reply(fieldNames: ["temperature"], nbTimeSteps: 3))
        defer { server.shutDown() }
        // 8 x 5 grid: client rank 0 holds rows 0-2 (24 values), rank 1 rows 3-4 (16 values).
        let run = try Shell.run(
            "exec mpirun -n 2 '\(install.prefix)/bin/heat2d' --nx 8 --ny 5 --steps 3 --substeps 4 80 -5.5",
            environment: Shell.childEnvironment([
                "MELISSA_SIMU_ID": "3", "MELISSA_SERVER_ADDRESS": server.handshakeEndpoint, "HEAT2D_DUMP_DIR": dumps,
            ]))
        XCTAssertEqual(run.status, 0, run.output)

        var streamed = [[Double]](repeating: [Double](repeating: .nan, count: 40), count: 3)
        for rank in 0..<2 {
            for message in try server.drain(rank: rank) {
                let h = message.header
                XCTAssertEqual(h.simulationID, 3)
                XCTAssertEqual(h.globalSize, 40)
                XCTAssertTrue(h.offset >= UInt64(rank * 20) && h.offset + h.count <= UInt64(rank * 20 + 20))
                for (i, v) in message.values.enumerated() { streamed[Int(h.timeStep)][Int(h.offset) + i] = v }
            }
        }
        let rank0 = try Data(contentsOf: URL(fileURLWithPath: "\(dumps)/heat2d.sim3.rank0.bin"))
        let rank1 = try Data(contentsOf: URL(fileURLWithPath: "\(dumps)/heat2d.sim3.rank1.bin"))
        XCTAssertEqual(rank0.count, 3 * 24 * 8)
        XCTAssertEqual(rank1.count, 3 * 16 * 8)
        func doubles(_ data: Data) -> [Double] {
            data.withUnsafeBytes { raw in
                (0..<(raw.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            }
        }
        let d0 = doubles(rank0), d1 = doubles(rank1)
        for step in 0..<3 {
            let dumped = Array(d0[(step * 24)..<(step * 24 + 24)]) + Array(d1[(step * 16)..<(step * 16 + 16)])
            XCTAssertEqual(streamed[step], dumped, "step \(step)")
            // Physically sane: between the boundary and the initial temperature, cooling over time.
            XCTAssertTrue(dumped.allSatisfy { $0 > -5.5 && $0 < 80 }, "\(dumped)")
        }
        XCTAssertGreaterThan(streamed[0][20], streamed[2][20], "the plate cools toward the boundary temperature")
    }

    func testMissingSimulationIDAbortsEveryRankWithAClearMessage() throws {
        let program = try install.compileTiny()
        let run = try Shell.run("exec mpirun -n 2 '\(program)'", environment: Shell.childEnvironment([
            "MELISSA_SERVER_ADDRESS": "tcp://127.0.0.1:9",
        ]))
        XCTAssertNotEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("melissa: environment variable MELISSA_SIMU_ID is not set"), run.output)
    }

    func testSilentServerAbortsAfterTheConnectTimeout() throws {
        let program = try install.compileTiny()
        let server = try FakeServer(serverRanks: 1, answer: .silence)
        defer { server.shutDown() }
        let start = Date()
        let run = try Shell.run("exec mpirun -n 2 '\(program)'", environment: Shell.childEnvironment([
            "MELISSA_SIMU_ID": "5", "MELISSA_SERVER_ADDRESS": server.handshakeEndpoint, "MELISSA_CONNECT_TIMEOUT": "1",
        ]))
        XCTAssertNotEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("melissa: no answer from the Melissa server at \(server.handshakeEndpoint) after 1 s"),
                      run.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "every rank must fail, none may hang")
    }
}

// MARK: - helpers

/// Why the client could not be installed for these tests.
struct InstallError: Error, CustomStringConvertible {
    let description: String
}

/// A client installation made with `Scripts/build.sh --no-build` into a temporary prefix.
struct Installation: Sendable {
    let prefix: String
    let root: String
    var config: String { "'\(prefix)/bin/melissa-config'" }

    /// Installs into a temporary prefix, or uses the prefix in MELISSA_TEST_PREFIX (e.g. a release
    /// install made by Scripts/build.sh, to test the static-runtime library as shipped).
    static func make() -> Result<Installation, InstallError> {
        let root = NSTemporaryDirectory() + "melissa-cabi-\(getpid())"
        if let given = ProcessInfo.processInfo.environment["MELISSA_TEST_PREFIX"], !given.isEmpty {
            guard FileManager.default.fileExists(atPath: "\(given)/bin/melissa-config") else {
                return .failure(InstallError(description: "MELISSA_TEST_PREFIX=\(given) has no bin/melissa-config"))
            }
            try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            return .success(Installation(prefix: given, root: root))
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        // `swift test` builds every product, so libmelissa.so sits next to the test binary.
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: "\(binDir)/libmelissa.so") else {
            return .failure(InstallError(description: "no libmelissa.so in \(binDir); build the 'melissa' product first"))
        }
        let prefix = "\(root)/prefix"
        do {
            try? FileManager.default.removeItem(atPath: root)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let build = try Shell.run("'\(package)/Scripts/build.sh' --no-build --bin-dir '\(binDir)' "
                                      + "--prefix '\(prefix)' --client-only", environment: Shell.childEnvironment())
            guard build.status == 0 else {
                return .failure(InstallError(description: "Scripts/build.sh failed:\n\(build.output)"))
            }
        } catch {
            return .failure(InstallError(description: "installing the client failed: \(error)"))
        }
        return .success(Installation(prefix: prefix, root: root))
    }

    /// A fresh directory under the installation's root.
    func scratch(_ name: String) throws -> String {
        let path = "\(root)/\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Compiles the two-rank test program with the documented command; returns its path.
    func compileTiny() throws -> String {
        let dir = try scratch("tiny")
        try Self.tinySource.write(toFile: "\(dir)/tiny.c", atomically: true, encoding: .utf8)
        let compile = try Shell.run("mpicc tiny.c $(\(config) --cflags --libs) -o tiny", in: dir)
        guard compile.status == 0 else { throw InstallError(description: "compiling tiny.c failed:\n\(compile.output)") }
        return "\(dir)/tiny"
    }

    /// Rank r holds 4 + r values of a global field numbered from 0, plus 1000 per step.
    static let tinySource = """
        #include <melissa_api.h>

        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            int n = 4 + rank, offset = rank == 0 ? 0 : 4;
            double values[5];
            melissa_init("temperature", n, MPI_COMM_WORLD);
            for (int step = 0; step < 2; step++) {
                for (int i = 0; i < n; i++) values[i] = 1000.0 * step + offset + i;
                melissa_send("temperature", values);
            }
            melissa_finalize();
            MPI_Finalize();
            return 0;
        }

        """
}

/// Runs shell commands with a time limit, capturing stdout and stderr together.
enum Shell {
    struct Result {
        var status: Int32
        var output: String
    }

    /// This process's environment for child MPI jobs: no LD_LIBRARY_PATH (the point of the test),
    /// none of the OMPI_/PMIX_ variables the singleton MPI_Init of this process exported (a child
    /// mpirun would take itself for a nested job), root allowed, oversubscription allowed.
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            key != "LD_LIBRARY_PATH" && !["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PRTE_"].contains { key.hasPrefix($0) }
                && !key.hasPrefix("MELISSA_")
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        for (key, value) in extra { env[key] = value }
        return env
    }

    static func which(_ tool: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ command: String, in directory: String? = nil, environment: [String: String]? = nil,
                    timeout: TimeInterval = 120) throws -> Result {
        let log = NSTemporaryDirectory() + "melissa-shell-\(UUID().uuidString).log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            throw InstallError(description: "cannot create \(log)")
        }
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment ?? childEnvironment()
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            try? handle.close()
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw InstallError(description: "'\(command)' timed out after \(timeout) s:\n\(output)")
        }
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, output: output)
    }
}
