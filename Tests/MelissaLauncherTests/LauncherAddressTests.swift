import Foundation
import MelissaConfig
import MelissaTransport
import XCTest
@testable import MelissaLauncher

/// Where the launcher's control socket listens and what address the server is given: loopback
/// on a workstation, every interface and this host's name on Slurm and OAR (whose server may
/// run on another node), or what `bind_address` / `advertised_host` say.
final class LauncherAddressTests: XCTestCase {
    private func settings(_ launcher: String) throws -> LauncherSettings {
        let text = """
            {"output_dir": "/tmp/s", "study_options": {"field_names": ["u"], "parameter_sweep_size": 2,
             "nb_parameters": 1, "nb_time_steps": 1, "l_bounds": [0], "u_bounds": [1]},
             "launcher_config": {\(launcher)}, "client_config": {"executable_command": "true"}}
            """
        let config = try StudyConfig.parse(data: Data(text.utf8), source: "test.json")
        return LauncherSettings(config: config, configPath: "/tmp/test.json", currentDirectory: "/tmp")
    }

    func testDefaultsFollowTheScheduler() throws {
        let local = try settings(#""scheduler": "openmpi""#)
        XCTAssertEqual(local.bindAddress, "127.0.0.1")
        XCTAssertEqual(local.launcherHost, "127.0.0.1")
        for scheduler in ["slurm", "oar"] {
            let cluster = try settings("\"scheduler\": \"\(scheduler)\"")
            XCTAssertEqual(cluster.bindAddress, "*", scheduler)
            XCTAssertEqual(cluster.launcherHost, HostName.current(), scheduler)
            XCTAssertNotEqual(cluster.launcherHost, "127.0.0.1", "a server on another node must be able to reach it")
        }
    }

    func testBindAddressAndAdvertisedHostOverrideTheDefaults() throws {
        let loopback = try settings(#""scheduler": "slurm", "bind_address": "127.0.0.1""#)
        XCTAssertEqual(loopback.launcherHost, "127.0.0.1")
        let interface = try settings(#""scheduler": "openmpi", "bind_address": "10.1.2.3""#)
        XCTAssertEqual(interface.launcherHost, "10.1.2.3")
        let named = try settings(#""scheduler": "oar", "advertised_host": "login-2.ib""#)
        XCTAssertEqual(named.bindAddress, "*")
        XCTAssertEqual(named.launcherHost, "login-2.ib")
    }

    /// A real launcher bound to every interface: the server, told the host name rather than
    /// loopback, connects there and is welcomed.
    func testALauncherBoundToEveryInterfaceIsReachedThroughItsHostName() throws {
        let harness = try LauncherHarness(label: "address")
        defer { harness.cleanUp() }
        try harness.writeConfig(launcher: ["bind_address": "*"])
        let launcher = try harness.start()
        let endpoint = try launcher.endpoint()
        XCTAssertEqual(endpoint.split(separator: ":").dropLast().joined(separator: ":"), "tcp://\(HostName.current())")
        try harness.runEmptyStudy(at: endpoint)
        XCTAssertEqual(launcher.exitCode(timeout: 20), 0, launcher.stdout + launcher.stderr)
        XCTAssertTrue(launcher.stdout.contains("(bound to *)"), launcher.stdout)
        XCTAssertTrue(TestSupport.read(harness.studyDirectory + "/server.out").contains("address=\(endpoint)\n"),
                      "the server is given the host-name address")
    }
}
