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
            // The config's relative paths are relative to where it lives, so --resume uses
            // the original file, recorded here.
            try Data((configFile + "\n").utf8).write(to: URL(fileURLWithPath: path + "/" + recordName))
        } catch {
            throw .studyDirectory(path: path, message: reason(error))
        }
    }

    /// Name of the file in a study directory that records the config file it was started from.
    static let recordName = "config.path"

    /// The config file `melissa-launcher --resume <directory>` runs: the one the study was
    /// started from, unchanged since (its copy `config.json` must still match it).
    static func recordedConfig(of directory: String) throws(LauncherError) -> String {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .usage("--resume \(directory): no such study directory")
        }
        guard let record = files.contents(atPath: directory + "/" + recordName),
              let path = String(data: record, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !path.isEmpty else {
            throw .studyDirectory(path: directory, message: "no \(recordName) in it: it was not created by melissa-launcher, so it cannot be resumed")
        }
        guard let original = files.contents(atPath: path) else {
            throw .studyDirectory(path: directory, message: "the study was started from \(path), which no longer exists; --resume needs it")
        }
        guard let copy = files.contents(atPath: directory + "/config.json"), copy == original else {
            throw .studyDirectory(path: directory, message: "\(path) changed since the study started (it differs from the study's config.json); restore it to resume")
        }
        return path
    }

    /// A resumed study's directory must be the one its config names, and exist.
    static func checkResumable(_ path: String, given: String?) throws(LauncherError) {
        if let given, Paths.absolute(given, in: "/") != path {
            throw .studyDirectory(path: given, message: "its config now puts the study in \(path); resume that directory instead")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .studyDirectory(path: path, message: "no such study directory to resume")
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
