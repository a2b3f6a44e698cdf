import Glibc
import MelissaConfig
import MelissaSchedulers

/// Checks, before anything starts, that what the study will run exists: the client executable
/// (`client_config.executable_command`), the server program and the client script template.
/// Under `openmpi` everything runs on this machine, so a missing one is an error (exit 2); under
/// `slurm` and `oar` the path may exist only on the compute nodes, so it is a warning.
struct Preflight {
    /// What one check found.
    enum Finding: Equatable {
        /// Stops the launcher before anything starts.
        case error(String)
        /// Printed, and the study starts.
        case warning(String)
    }

    /// `launcher_config.scheduler`.
    let scheduler: String
    /// PATH as the client jobs and the server will see it (the launcher's own).
    let searchPath: String?
    /// `$MELISSA_TEMPLATES_DIR`, where the server looks for the client script template first.
    let templatesDirectory: String?

    /// True when the scheduler runs the server and clients on this machine.
    var runsHere: Bool { scheduler == "openmpi" }

    /// The client executable: a path (already resolved against the config's directory) must be an
    /// executable regular file; a bare name must be on PATH. Preprocessing commands may set PATH
    /// or load modules, so a bare name not found is only a warning when there are some.
    func checkClient(executableCommand command: String, preprocessing: [String]) -> Finding? {
        let key = "client_config.executable_command"
        if command.contains("/") {
            guard let problem = Self.problem(withExecutable: command) else { return nil }
            return finding("\(key) is \"\(command)\", which \(problem)")
        }
        do throws(SchedulerError) {
            _ = try ExecutableSearch.find(command, searchPath: searchPath)
            return nil
        } catch {
            let text = "\(key) is \"\(command)\", which is not an executable file in any directory of "
                + "PATH=\(searchPath ?? "")"
            return preprocessing.isEmpty ? finding(text)
                : .warning(text + " (the client script's preprocessing_commands may provide it)")
        }
    }

    /// The server program `locate` picked (or would have picked).
    func checkServer(path: String, origin: String) -> Finding? {
        guard let problem = Self.problem(withExecutable: path) else { return nil }
        return finding("the server program \(path) (\(origin)) \(problem)")
    }

    /// The client script template the server will look for, from the server program's directory.
    func checkTemplate(serverProgram: String) -> Finding? {
        let candidates = InstallLayout.clientTemplateCandidates(
            executableDirectory: Paths.directory(of: serverProgram), templatesDirectory: templatesDirectory)
        if candidates.contains(where: { access($0, R_OK) == 0 }) { return nil }
        return finding("the client script template client.sh is not readable at any of: "
                       + candidates.joined(separator: ", ")
                       + " (set \(InstallLayout.templatesDirectoryKey) or reinstall with Scripts/build.sh)")
    }

    private func finding(_ text: String) -> Finding {
        runsHere ? .error(text) : .warning(text + " on this machine; it must exist on the compute nodes")
    }

    /// Why `path` cannot be executed, in words, or nil when it can.
    static func problem(withExecutable path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == EACCES ? "cannot be reached (permission denied on a directory)" : "does not exist"
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { return "is a directory" }
        if (info.st_mode & S_IFMT) != S_IFREG { return "is not a regular file" }
        if access(path, X_OK) != 0 {
            return "is not executable (mode \(String(info.st_mode & 0o7777, radix: 8)); chmod +x it)"
        }
        return nil
    }
}
