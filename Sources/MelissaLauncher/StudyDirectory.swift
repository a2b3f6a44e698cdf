import Foundation

/// Creates the study directory and what the launcher puts in it before anything starts.
enum StudyDirectory {
    /// Creates `path` (mode 0755, parents included) with `client_logs/`, and copies the
    /// config file in as `config.json`. An existing empty directory is used; a non-empty
    /// one is refused so a previous study is never mixed with or overwritten by a new one.
    static func prepare(at path: String, configFile: String) throws(LauncherError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .studyDirectory(path: path, message: "output_dir exists and is not a directory")
            }
            let contents: [String]
            do { contents = try files.contentsOfDirectory(atPath: path) } catch {
                throw .studyDirectory(path: path, message: "cannot list it: \(reason(error))")
            }
            guard contents.isEmpty else {
                throw .studyDirectory(path: path, message:
                    "output_dir \(path) already holds a study; remove it or choose another output_dir")
            }
        }
        let mode: [FileAttributeKey: Any] = [.posixPermissions: 0o755]
        do {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: mode)
            try files.createDirectory(atPath: path + "/client_logs", withIntermediateDirectories: false,
                                      attributes: mode)
            let config = try Data(contentsOf: URL(fileURLWithPath: configFile))
            try config.write(to: URL(fileURLWithPath: path + "/config.json"))
        } catch {
            throw .studyDirectory(path: path, message: reason(error))
        }
    }

    /// The POSIX text behind a Foundation error when there is one ("Permission denied").
    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return nsError.localizedDescription
    }
}
