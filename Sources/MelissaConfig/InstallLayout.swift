/// Where an installed (or source-checkout) Melissa keeps its files, relative to its programs.
/// The server and the launcher's preflight use the same lookup, so they agree on the template.
public enum InstallLayout {
    /// The environment variable naming a directory of client script templates.
    public static let templatesDirectoryKey = "MELISSA_TEMPLATES_DIR"

    /// Where the client script template `name` is looked for, in order: `templatesDirectory`
    /// (from `$MELISSA_TEMPLATES_DIR`), `<bin>/../share/melissa/ClientTemplates` (an install), then a
    /// `ClientTemplates` folder in `<bin>` or up to five of its parents (a source checkout).
    /// `executableDirectory` is the directory of the melissa-server program.
    public static func clientTemplateCandidates(named name: String = "client.sh", executableDirectory: String,
                                                templatesDirectory: String?) -> [String] {
        var candidates: [String] = []
        if let templatesDirectory, !templatesDirectory.isEmpty {
            candidates.append("\(templatesDirectory)/\(name)")
        }
        candidates.append("\(executableDirectory)/../share/melissa/ClientTemplates/\(name)")
        var directory = executableDirectory
        for _ in 0..<6 {
            let candidate = (directory == "/" ? "" : directory) + "/ClientTemplates/\(name)"
            if !candidates.contains(candidate) { candidates.append(candidate) }
            directory = parent(of: directory)
        }
        return candidates
    }

    /// The parent directory of an absolute path ("/" for "/" and top-level entries).
    private static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}
