import Glibc

/// Finds programs the way a shell would, without running a shell.
public enum ExecutableSearch {
    /// The first executable regular file named `name` in the directories of `searchPath`
    /// (a PATH value). A name containing "/" is checked as a path instead.
    public static func find(_ name: String, searchPath: String? = currentPath()) throws(SchedulerError) -> String {
        if name.contains("/") {
            guard isExecutableFile(name) else { throw .executableNotFound(name: name, searched: name) }
            return name
        }
        let path = searchPath ?? ""
        // An empty PATH entry means the current directory, as in POSIX shells.
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let dir = directory.isEmpty ? "." : String(directory)
            let candidate = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        throw .executableNotFound(name: name, searched: "PATH=\(path)")
    }

    /// The PATH of this process, if set.
    public static func currentPath() -> String? {
        getenv("PATH").map { String(cString: $0) }
    }

    /// True for a regular file the caller may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
