// swift-tools-version: 6.0
// Melissa-style ensemble study server: one module per role (see README "Layout").
import PackageDescription

let package = Package(
    name: "melissa-swift",
    products: [
        .executable(name: "melissa-launcher", targets: ["melissa-launcher"]),
        .executable(name: "melissa-server", targets: ["melissa-server"]),
        // The C ABI (include/melissa/api.h) simulations link against: libmelissa.so. The
        // Fortran module and the Python module over it (Sources/MelissaFortran, Sources/MelissaPython)
        // are not SwiftPM targets: Scripts/build.sh compiles and installs them.
        .library(name: "melissa", type: .dynamic, targets: ["MelissaC"]),
        // The Swift client API, for simulations written in Swift.
        .library(name: "MelissaClient", targets: ["MelissaClient"]),
    ],
    dependencies: [
        // HTTP server for the launcher's live status monitor (MelissaMonitor only).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // C libraries from Debian, reached through module maps only.
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ"),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi"),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(name: "CNetCDF", path: "Sources/CNetCDF", pkgConfig: "netcdf"),

        // Wire protocol v1: byte layouts and codecs, no I/O (docs/PROTOCOL.md).
        .target(name: "MelissaProtocol"),
        // Thin wrappers over libzmq and MPI.
        .target(name: "MelissaTransport", dependencies: ["CZMQ", "CMPI", "CLinux"]),
        // Study configuration: JSON with comments, validated with key paths.
        .target(name: "MelissaConfig"),
        // Checkpoint files: versioned, checksummed sections, atomic replace (docs/CHECKPOINT.md).
        .target(name: "MelissaCheckpoint"),
        // BaseServer: sockets, poll loop, sampling, client scripts, completion tracking.
        .target(name: "MelissaServer",
                dependencies: ["MelissaProtocol", "MelissaTransport", "MelissaConfig", "MelissaCheckpoint"]),
        // One-pass statistics kernels: moments, extrema, thresholds, quantiles, covariance, Sobol.
        .target(name: "MelissaStatistics"),
        // Thin NetCDF-4 wrapper and the per-field results file layout.
        .target(name: "MelissaNetCDF", dependencies: ["CNetCDF"]),
        // The end-of-study HTML report with SVG charts (no network needed to view it).
        .target(name: "MelissaReport"),
        // The sensitivity-analysis flavor (statistics on top of BaseServer).
        .target(name: "MelissaSensitivity",
                dependencies: ["MelissaServer", "MelissaProtocol", "MelissaTransport", "MelissaStatistics",
                               "MelissaNetCDF", "MelissaReport", "MelissaCheckpoint"]),
        // The example flavor of docs/FLAVORS.md: per-cell maximum and count, with checkpoints.
        .target(name: "MelissaMaximum",
                dependencies: ["MelissaServer", "MelissaProtocol", "MelissaCheckpoint", "MelissaConfig",
                               "MelissaTransport"]),
        // The deep-learning flavor: sample buffers and the feed of PyTorch trainer processes
        // (their Python side, melissa_dl, is in Sources/MelissaDLPython; Scripts/build.sh installs it).
        .target(name: "MelissaDeepLearning",
                dependencies: ["MelissaServer", "MelissaProtocol", "MelissaCheckpoint", "MelissaConfig",
                               "MelissaTransport", "MelissaReport"]),
        // The flavors this build ships, listed once for both executables (server_class registry).
        .target(name: "MelissaFlavors",
                dependencies: ["MelissaConfig", "MelissaServer", "MelissaSensitivity", "MelissaMaximum",
                               "MelissaDeepLearning"]),
        // Scheduler backends the launcher drives (openmpi for now).
        .target(name: "MelissaSchedulers", dependencies: ["MelissaConfig"]),
        // The launcher: starts the server, runs the jobs it asks for, forwards states.
        .target(name: "MelissaLauncher",
                dependencies: ["MelissaProtocol", "MelissaTransport", "MelissaConfig", "MelissaSchedulers",
                               "MelissaMonitor"]),
        // Client API in Swift, and its C ABI.
        .target(name: "MelissaClient", dependencies: ["MelissaProtocol", "MelissaTransport"]),
        // libmelissa.map (the exported symbols) is passed to the linker by Scripts/build.sh.
        .target(name: "MelissaC", dependencies: ["MelissaClient", "CMPI"], exclude: ["libmelissa.map"]),
        // Live study status over HTTP (HTML, JSON, Prometheus) on its own threads (docs/MONITORING.md).
        .target(name: "MelissaMonitor",
                dependencies: ["MelissaReport", .product(name: "Hummingbird", package: "hummingbird")]),

        .executableTarget(name: "melissa-server",
                          dependencies: ["MelissaServer", "MelissaFlavors", "MelissaConfig", "MelissaTransport"]),
        // Links the flavors too: it validates their config sections before starting anything.
        .executableTarget(name: "melissa-launcher", dependencies: ["MelissaLauncher", "MelissaFlavors"]),
        // Benchmarks/statistics: our kernels against iterative-stats on the same data.
        .executableTarget(name: "melissa-bench-statistics", dependencies: ["MelissaStatistics"],
                          path: "Benchmarks/statistics", exclude: ["reference.py", "run.sh"]),
        // Benchmarks/checkpoint: checkpoint write/load against a plain write/read of the same bytes.
        .executableTarget(name: "melissa-bench-checkpoint", dependencies: ["MelissaCheckpoint"],
                          path: "Benchmarks/checkpoint"),
        // Benchmarks/launcher: the slurm backend's submission-to-RUNNING time against sbatch alone.
        .executableTarget(name: "melissa-bench-launcher", dependencies: ["MelissaSchedulers"],
                          path: "Benchmarks/launcher", exclude: ["run.sh", "memory.py"]),
        // Benchmarks/ingest: the server's data rate against raw libzmq and a Python reference server.
        .executableTarget(name: "melissa-bench-ingest",
                          dependencies: ["MelissaClient", "MelissaTransport", "CZMQ"],
                          path: "Benchmarks/ingest", exclude: ["run.sh", "run.py", "reference_server.py"]),

        .testTarget(name: "MelissaProtocolTests", dependencies: ["MelissaProtocol"]),
        .testTarget(name: "MelissaTransportTests", dependencies: ["MelissaTransport"]),
        .testTarget(name: "MelissaConfigTests", dependencies: ["MelissaConfig"]),
        .testTarget(name: "MelissaServerTests",
                    dependencies: ["MelissaServer", "MelissaCheckpoint", "MelissaConfig", "MelissaProtocol", "MelissaTransport"]),
        .testTarget(name: "MelissaSensitivityTests", dependencies: ["MelissaSensitivity", "MelissaCheckpoint"]),
        .testTarget(name: "MelissaFlavorsTests", dependencies: ["MelissaFlavors", "MelissaConfig"]),
        .testTarget(name: "MelissaDeepLearningTests",
                    dependencies: ["MelissaDeepLearning", "MelissaCheckpoint", "MelissaConfig", "MelissaFlavors",
                                   "MelissaServer", "MelissaTransport"]),
        .testTarget(name: "MelissaClientTests", dependencies: ["MelissaClient"]),
        .testTarget(name: "MelissaStatisticsTests", dependencies: ["MelissaStatistics"]),
        .testTarget(name: "MelissaNetCDFTests", dependencies: ["MelissaNetCDF"]),
        .testTarget(name: "MelissaReportTests", dependencies: ["MelissaReport"]),
        .testTarget(name: "MelissaCheckpointTests", dependencies: ["MelissaCheckpoint"]),
        .testTarget(name: "MelissaLauncherTests", dependencies: ["MelissaLauncher", "MelissaSchedulers"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "MelissaMonitorTests", dependencies: ["MelissaMonitor"]),
    ],
    swiftLanguageModes: [.v6]
)
