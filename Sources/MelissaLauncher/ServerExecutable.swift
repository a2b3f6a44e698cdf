import Glibc
import MelissaSchedulers

/// Finds the `melissa-server` program the launcher starts.
enum ServerExecutable {
    /// The environment variable that overrides the default location.
    static let environmentKey = "MELISSA_SERVER_EXECUTABLE"

    /// `$MELISSA_SERVER_EXECUTABLE` if set and non-empty (made absolute), else `melissa-server`
    /// in the directory of the running launcher (`/proc/self/exe`, so symlinks to the launcher
    /// still find the server of the same build), with where that choice came from (for
    /// messages). Whether it can run is `Preflight.checkServer`'s business.
    static func locate(override: String?, currentDirectory: String) throws(LauncherError) -> (path: String, origin: String) {
        if let override, !override.isEmpty {
            return (Paths.absolute(override, in: currentDirectory), "\(environmentKey)=\(override)")
        }
        guard let launcher = ownExecutable() else {
            throw .missingProgram("cannot read /proc/self/exe to find melissa-server; set \(environmentKey)")
        }
        return (Paths.directory(of: launcher) + "/melissa-server",
                "next to the launcher; build it or set \(environmentKey)")
    }

    /// The resolved path of this program, from the /proc/self/exe link.
    static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
