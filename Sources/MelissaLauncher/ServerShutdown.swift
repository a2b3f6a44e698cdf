import Glibc
import MelissaSchedulers

/// Makes sure a server is gone before another one starts: never two servers at once.
enum ServerShutdown {
    /// The server's ranks and helpers (every descendant of its `mpirun`), recorded while they
    /// run: if `mpirun` itself dies (a node failure, `kill -9`), its ranks are re-parented and
    /// no longer found as its descendants, but these entries still name them.
    static func snapshot(of server: Subprocess) -> [ProcessEntry] {
        guard server.poll() == nil else { return [] }
        return ProcessTable.snapshot().descendants(of: server.pid)
    }

    /// Terminates `server`'s process group and descendants (SIGTERM, `grace` seconds, SIGKILL;
    /// `Subprocess.terminate`), then does the same to any process of `recorded` still alive,
    /// and returns once all are gone.
    static func stop(_ server: Subprocess, recorded: [ProcessEntry], grace: Double) {
        server.terminate(grace: grace)
        var strays = recorded.filter(ProcessTable.isAlive)
        guard !strays.isEmpty else { return }
        for stray in strays { kill(stray.pid, SIGTERM) }
        let deadline = MonotonicClock.now() + grace
        while !strays.isEmpty && MonotonicClock.now() < deadline {
            usleep(20_000)
            strays = strays.filter(ProcessTable.isAlive)
        }
        let ownGroup = getpgrp()
        for stray in strays where ProcessTable.isAlive(stray) {
            kill(stray.pid, SIGKILL)
            if stray.group == stray.pid && stray.group != ownGroup { kill(-stray.group, SIGKILL) }
        }
        // SIGKILL cannot be ignored; give the kernel a moment to tear them down.
        let killDeadline = MonotonicClock.now() + 2
        while strays.contains(where: ProcessTable.isAlive) && MonotonicClock.now() < killDeadline {
            usleep(20_000)
        }
    }
}
