extension StudyConfig {
    /// A copy with a relative `output_dir`, a relative `executable_command` that contains a `/`,
    /// and the flavor's own relative paths joined to `configDirectory`.
    ///
    /// Absolute paths and bare command names (looked up on `PATH` at run time) are kept as
    /// they are. The join is lexical: `.` components and repeated slashes are removed, `..`
    /// folds into its parent (as `os.path.normpath` does, so logs show readable paths),
    /// `~` is not expanded. `canonicalJSON` is unchanged.
    public func resolvingPaths(relativeTo configDirectory: String) -> StudyConfig {
        var client = clientConfig
        let command = client.executableCommand
        if command.contains("/") {
            client.executableCommand = PathResolution.resolve(command, against: configDirectory)
        }
        return StudyConfig(outputDir: PathResolution.resolve(outputDir, against: configDirectory),
                           serverClass: serverClass, serverFilename: serverFilename, studyOptions: studyOptions,
                           flavorSettings: flavorSettings.resolvingPaths(relativeTo: configDirectory),
                           launcherConfig: launcherConfig, clientConfig: client,
                           serverConfig: serverConfig, canonicalJSON: canonicalJSON)
    }
}

/// Lexical path helpers (no file-system access).
enum PathResolution {
    /// `path` if absolute, else `directory/path` normalized; `path` unchanged when `directory` is empty.
    static func resolve(_ path: String, against directory: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        return normalize(directory + "/" + path)
    }

    /// Removes `.` components, empty components and a trailing slash, and folds `..` into the
    /// component before it (a leading `..` of a relative path stays; `/..` is `/`).
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else if part == "..", absolute {
                continue
            } else {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// The directory holding `file`, made absolute with `currentDirectory` when `file` is relative.
    static func directory(of file: String, currentDirectory: String) -> String {
        let absolute = file.hasPrefix("/") ? file : currentDirectory + "/" + file
        let normalized = normalize(absolute)
        guard let slash = normalized.lastIndex(of: "/") else { return "." }
        let parent = String(normalized[..<slash])
        return parent.isEmpty ? "/" : parent
    }
}
