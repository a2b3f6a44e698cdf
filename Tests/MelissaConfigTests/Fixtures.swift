import Foundation
import XCTest
@testable import MelissaConfig

/// A complete config with every key set to a non-default value, with comments.
let fullConfigText = """
{
    // Where the study writes.
    "output_dir": "studies/heat",
    "server_class": "sensitivity-analysis",
    "server_filename": "heat_server.py",   /* ignored, Melissa compatibility */
    "study_options": {
        "field_names": ["temperature", "pressure"],
        "parameter_sweep_size": 10,
        "nb_parameters": 3,
        "nb_time_steps": 100,
        "seed": 42,
        "simulation_timeout": 120.5,
        "crashes_before_redraw": 3,
        "verbosity": 2,
        "group_size": 5,   // a Sobol group: nb_parameters + 2
        "l_bounds": [0, -1.5, 100],
        "u_bounds": [1, 1.5, 200],
        "zmq_hwm": 1000,
        "sampler": "halton",
        "field_sizes": [1000, 2000]
    },
    "sa_config": {
        "mean": true,
        "variance": false,
        "skewness": true,
        "kurtosis": true,
        "min": true,
        "max": true,
        "threshold_exceedance": true,
        "threshold_values": [0.5, -2, 1e3],
        "quantiles": true,
        "quantile_values": [0.05, 0.5, 0.95],
        "sobol_indices": true,
        "sobol_convergence_width": 0.05,
        "covariance_pairs": [["temperature", "pressure"]],
        "report_probes": [0, 499, 999],
        "cache_limit_mb": 256.5,
        "checkpoint_interval": 600
    },
    "launcher_config": {
        "scheduler": "openmpi",
        "scheduler_arg_client": ["-n", "2"],
        "scheduler_arg_server": ["-n", "1", "--oversubscribe"],
        "job_limit": 8,
        "timer_delay": 0.5,
        "fault_tolerance": true,
        "launcher_port": 6000,
        "bind_address": "*",
        "advertised_host": "login-1.cluster_a",
        "server_timeout": 30,
        "std_output": false,
        "verbosity": 3
    },
    "client_config": {
        "executable_command": "./heatc",
        "command_default_args": ["--quiet"],
        "preprocessing_commands": ["module load openmpi"]
    },
    "server_config": {
        "preprocessing_commands": ["echo server"],
        "connection_port": 3000,
        "data_port": 3001,
        "bind_address": "0.0.0.0",
        "advertised_host": "node01.cluster",
        "memory_limit_mb": 4096,
        "data_encryption": false
    }
}
"""

/// The smallest valid config: only required keys.
let minimalConfigText = """
{
    "output_dir": "out",
    "study_options": {
        "field_names": ["u"],
        "parameter_sweep_size": 4,
        "nb_parameters": 2,
        "nb_time_steps": 10,
        "l_bounds": [0, 0],
        "u_bounds": [1, 1]
    },
    "launcher_config": {"scheduler": "openmpi"},
    "client_config": {"executable_command": "heatc"}
}
"""

/// The minimal config as a mutable JSON object.
func minimalConfigObject() -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(minimalConfigText.utf8))) as? [String: Any] ?? [:]
}

/// Sets (or with nil removes) the value at a dotted path, creating objects on the way.
func set(_ object: inout [String: Any], _ path: String, _ value: Any?) {
    var keys = path.split(separator: ".").map(String.init)
    let last = keys.removeLast()
    func apply(_ dict: inout [String: Any], _ rest: ArraySlice<String>) {
        guard let head = rest.first else {
            dict[last] = value
            return
        }
        var child = dict[head] as? [String: Any] ?? [:]
        apply(&child, rest.dropFirst())
        dict[head] = child
    }
    apply(&object, keys[...])
}

/// The minimal config with edits applied, as JSON bytes.
func minimalConfig(_ edits: [(String, Any?)]) -> Data {
    var object = minimalConfigObject()
    for (path, value) in edits { set(&object, path, value) }
    return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
}

/// Parses and returns the load error, failing the test when parsing succeeds.
func parseFailure(_ data: Data, source: String = "config.json",
                  file: StaticString = #filePath, line: UInt = #line) -> ConfigLoadError? {
    do {
        let config = try StudyConfig.parse(data: data, source: source)
        XCTFail("expected a config error, got \(config)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// Parses and returns the config, failing the test on error.
func parseSuccess(_ data: Data, file: StaticString = #filePath, line: UInt = #line) -> StudyConfig? {
    do {
        return try StudyConfig.parse(data: data, source: "config.json")
    } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        return nil
    }
}
