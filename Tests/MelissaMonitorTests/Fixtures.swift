@testable import MelissaMonitor

/// Status values shared by the tests.
enum Fixtures {
    /// A reason string as a hostile scheduler could write it.
    static let hostileReason = "<script>alert(1)</script> & \"quoted\" 'single'"

    /// A mid-study status exercising every field, optionals both set and nil, and non-ASCII text.
    static let status = StudyStatus(
        study: "/scratch/études/run-1",
        scheduler: "openmpi",
        state: "running",
        startedAt: 1_700_000_000.5,
        elapsedSeconds: 125.25,
        simulations: .init(total: 10, finished: 4, running: 2, waiting: 3, failed: 1),
        bytesReceived: 1_048_576,
        throughputBytesPerSecond: 8192.5,
        etaSeconds: 187.5,
        server: .init(ranks: 4, restarts: 1, state: "running", pid: 4242),
        jobs: [
            .init(group: 0, simulations: [0, 1], state: "finished", exitCode: 0, reason: "", batchJob: nil),
            .init(group: 3, simulations: [6, 7], state: "failed", exitCode: 137, reason: "killed by \"SIGKILL\"",
                  batchJob: "12345.pbs"),
        ],
        history: [
            .init(t: 0, bytesReceived: 0, finished: 0),
            .init(t: 60.5, bytesReceived: 524_288, finished: 2),
        ])
}
