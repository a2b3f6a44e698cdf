import Glibc

/// A child process started with `posix_spawn` as the leader of its own process group.
///
/// The launcher blocks SIGINT/SIGTERM/SIGCHLD for its signalfd, and a blocked or ignored
/// disposition survives exec; so every child gets an empty signal mask and default
/// handlers for those signals, or `mpirun` and the simulations could not be interrupted.
/// The new process group lets the launcher signal a job and everything it forked at once.
///
/// Not thread-safe: owned by the one loop that polls it.
public final class Subprocess {
    /// The child's pid, which is also its process-group id.
    public let pid: pid_t
    /// The program that was started (for messages).
    public let executable: String
    /// Set once the child has been reaped.
    public private(set) var exitStatus: ExitStatus?

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    // MARK: starting

    /// Starts `options.executable` with stdin on /dev/null and stdout/stderr as asked.
    public static func spawn(_ options: SubprocessOptions) throws(SchedulerError) -> Subprocess {
        // Open the redirections here rather than as spawn file actions: a bad path then
        // gives an error naming the file instead of an anonymous spawn failure.
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        func openFile(_ path: String, _ flags: Int32) throws(SchedulerError) -> Int32 {
            let fd = open(path, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
            opened.append(fd)
            return fd
        }
        func target(_ destination: OutputDestination, inherited: Int32) throws(SchedulerError) -> Int32 {
            switch destination {
            case .discard: return try openFile("/dev/null", O_WRONLY)
            case let .file(path): return try openFile(path, O_WRONLY | O_CREAT | O_APPEND)
            case .inherit: return inherited
            }
        }
        let input = try openFile("/dev/null", O_RDONLY)
        let output = try target(options.standardOutput, inherited: 1)
        let error = try target(options.standardError, inherited: 2)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, slot) in [(input, Int32(0)), (output, 1), (error, 2)] where fd != slot {
            let rc = posix_spawn_file_actions_adddup2(&actions, fd, slot)
            guard rc == 0 else { throw .spawnFailed(executable: options.executable, call: "adddup2", errno: rc) }
        }
        GNUSpawnExtensions.addCloseFrom(&actions, 3)
        if let directory = options.workingDirectory {
            let rc = GNUSpawnExtensions.addChdir(&actions, directory)
            guard rc == 0 else { throw .spawnFailed(executable: options.executable, call: "addchdir", errno: rc) }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        let flags = Int32(POSIX_SPAWN_SETPGROUP) | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = CStringArray([options.executable] + options.arguments)
        let envp = CStringArray(Self.environment(with: options.environmentOverrides))
        var pid = pid_t()
        // glibc's posix_spawn waits for the exec, so a missing or non-executable program is
        // reported here (ENOENT, EACCES) rather than as exit code 127.
        let rc = posix_spawn(&pid, options.executable, &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else { throw .spawnFailed(executable: options.executable, call: "posix_spawn", errno: rc) }
        return Subprocess(pid: pid, executable: options.executable)
    }

    /// This process's environment with `overrides` applied, as KEY=VALUE strings.
    static func environment(with overrides: [String: String]) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let key = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
            if overrides[key] == nil { result.append(text) }
            index += 1
        }
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) { result.append("\(key)=\(value)") }
        return result
    }

    // MARK: watching

    /// Returns the exit status if the child has exited (reaping it), nil while it runs. Never blocks.
    ///
    /// When the child has exited, whatever is left in its process group (a background
    /// process the job forgot) is killed before reaping: the unreaped zombie still holds
    /// the group id, so the signal cannot reach an unrelated process that reused it.
    @discardableResult
    public func poll() -> ExitStatus? {
        if let exitStatus { return exitStatus }
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            if errno == EINTR { continue }
            // ECHILD: reaped elsewhere (should not happen); the status is lost.
            exitStatus = .exited(code: -1)
            return exitStatus
        }
        guard info._sifields._sigchld.si_pid == pid else { return nil }
        kill(-pid, SIGKILL)
        return reap()
    }

    /// Blocks until the child is reaped; only called once it has exited or was SIGKILLed.
    private func reap() -> ExitStatus {
        if let exitStatus { return exitStatus }
        var raw: Int32 = 0
        while true {
            let rc = waitpid(pid, &raw, 0)
            if rc == pid { break }
            if rc < 0 && errno == EINTR { continue }
            exitStatus = .exited(code: -1)
            return .exited(code: -1)
        }
        let status = ExitStatus(waitStatus: raw)
        exitStatus = status
        return status
    }

    /// Waits up to `timeout` seconds for the child to exit; nil if it still runs.
    @discardableResult
    public func wait(timeout: Double) -> ExitStatus? {
        let deadline = MonotonicClock.now() + timeout
        while true {
            if let status = poll() { return status }
            if MonotonicClock.now() >= deadline { return nil }
            MonotonicClock.sleep(0.01)
        }
    }

    /// Sends `signal` to the child's whole process group, unless it was already reaped
    /// (its group id could then belong to someone else).
    public func signalGroup(_ signal: Int32) {
        guard exitStatus == nil else { return }
        kill(-pid, signal)
    }

    // MARK: stopping

    /// SIGTERM to the group, up to `grace` seconds to exit, then SIGKILL; returns how it ended.
    @discardableResult
    public func terminate(grace: Double) -> ExitStatus {
        Subprocess.terminate([self], grace: grace)
        return exitStatus ?? .exited(code: -1)
    }

    /// Stops several children with one shared grace period, leaving no descendant behind.
    ///
    /// 1. Snapshot every descendant (MPI ranks live in process groups of their own).
    /// 2. SIGTERM each child's group: `mpirun` forwards it to its ranks and cleans up.
    /// 3. Wait up to `grace` for the children and the snapshotted descendants to go.
    /// 4. SIGKILL the remaining groups and every surviving descendant, then reap.
    public static func terminate(_ processes: [Subprocess], grace: Double) {
        let live = processes.filter { $0.poll() == nil }
        guard !live.isEmpty else { return }
        let table = ProcessTable.snapshot()
        var strays = live.flatMap { table.descendants(of: $0.pid) }
        for process in live { process.signalGroup(SIGTERM) }

        let deadline = MonotonicClock.now() + grace
        while true {
            let childrenGone = live.allSatisfy { $0.poll() != nil }
            strays = strays.filter(ProcessTable.isAlive)
            if childrenGone && strays.isEmpty { return }
            if MonotonicClock.now() >= deadline { break }
            MonotonicClock.sleep(0.02)
        }

        for process in live { process.signalGroup(SIGKILL) }
        let ownGroup = getpgrp()
        for stray in strays where ProcessTable.isAlive(stray) {
            kill(stray.pid, SIGKILL)
            // Only a group the stray leads (an MPI rank's): never a group it merely joined,
            // which could hold unrelated processes, and never our own.
            if stray.group == stray.pid && stray.group != ownGroup { kill(-stray.group, SIGKILL) }
        }
        for process in live where process.exitStatus == nil { _ = process.reap() }
    }
}

/// NUL-terminated C strings for argv/envp, freed when the value goes away.
private final class CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit { for pointer in pointers { free(pointer) } }
}
