import Foundation
import Glibc
import XCTest
@testable import MelissaSchedulers

/// Helpers shared by the launcher tests: temporary directories, scripts, /proc checks, the MPI environment.
enum TestSupport {
    /// Lets mpirun run as root and oversubscribe the 2-core machine. Set in this process, so
    /// every child (mpirun, the launcher, its jobs) inherits it.
    ///
    /// All test targets share one process, and another suite's singleton MPI_Init exports
    /// OMPI_/PMIX_/ORTE_ variables describing that singleton; an mpirun started by the launcher
    /// would inherit them and fail, so they are removed first.
    static func configureMPIEnvironment() {
        let inherited = ProcessInfo.processInfo.environment.keys.filter { key in
            ["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PRTE_"].contains { key.hasPrefix($0) }
        }
        for key in inherited { unsetenv(key) }
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1)
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1)
        setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1)
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 1)
    }

    /// A fresh directory under /tmp, removed by the caller's tearDown.
    static func makeTemporaryDirectory(_ label: String) throws -> String {
        let path = "/tmp/melissa-launcher-tests-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes an executable shell script.
    @discardableResult
    static func writeScript(_ path: String, _ body: String) throws -> String {
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// The file's text, or "" if it does not exist.
    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// True when `pid` exists and is not a zombie (a zombie has exited; only its parent's
    /// bookkeeping remains, and re-parented zombies may linger if PID 1 does not reap).
    static func isRunning(_ pid: pid_t) -> Bool {
        ProcessTable.entry(pid)?.isAlive ?? false
    }

    /// Live processes whose command line mentions `marker` (a test's temporary directory):
    /// after a test, nothing it started may still run.
    static func liveProcesses(mentioning marker: String) -> [pid_t] {
        let own = getpid()
        return ProcessTable.snapshot().entries.values.filter { entry in
            guard entry.isAlive, entry.pid != own else { return false }
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry.pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker)
        }.map(\.pid)
    }

    /// SIGKILLs whatever a test left running (tearDown safety net), groups included.
    static func killLeftovers(mentioning marker: String) {
        for pid in liveProcesses(mentioning: marker) {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
    }

    /// The built `melissa-launcher`: in the same build directory as this test bundle.
    static func launcherExecutable() throws -> String {
        var candidates: [String] = []
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("melissa-launcher").path)
        }
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        candidates.append(argv0.deletingLastPathComponent().appendingPathComponent("melissa-launcher").path)
        if let found = candidates.first(where: { ExecutableSearch.isExecutableFile($0) }) { return found }
        // swift test builds every product, so a missing launcher is a real failure, not a skip.
        throw LauncherNotBuilt(candidates: candidates)
    }
}

/// The launcher executable was not found next to the test bundle.
struct LauncherNotBuilt: Error, CustomStringConvertible {
    let candidates: [String]
    var description: String { "melissa-launcher is not built next to the test bundle (looked at \(candidates))" }
}
