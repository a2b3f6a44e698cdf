import Foundation
import MelissaConfig

/// Why a client script could not be produced.
public struct ClientScriptError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "client script \(path): \(reason)" }
}

/// Renders `ClientTemplates/client.sh` into one executable script per simulation.
///
/// Placeholders are `{{NAME}}`; every value is shell-quoted here, so parameters and paths
/// with spaces or quotes reach the simulation intact.
public struct ClientScriptWriter {
    public let template: String
    public let scriptDirectory: String

    /// Loads the template from `templatePath`; scripts go to `scriptDirectory`.
    public init(templatePath: String, scriptDirectory: String) throws {
        guard let text = FileManager.default.contents(atPath: templatePath).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ClientScriptError(path: templatePath, reason: "cannot read the client script template")
        }
        template = text
        self.scriptDirectory = scriptDirectory
        try FileManager.default.createDirectory(atPath: scriptDirectory, withIntermediateDirectories: true)
    }

    /// Finds the template as `InstallLayout.clientTemplateCandidates` orders it, from the directory
    /// of this executable: the first readable candidate, or nil.
    public static func locateTemplate(named name: String = "client.sh") -> String? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = InstallLayout.clientTemplateCandidates(
            named: name, executableDirectory: exe.path,
            templatesDirectory: ProcessInfo.processInfo.environment[InstallLayout.templatesDirectoryKey])
        return candidates.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// Quotes `s` for POSIX sh.
    public static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Writes the script of simulation `id` and returns its absolute path.
    public func write(simulationID id: UInt32, parameters: [Double], serverAddress: String,
                      studyDirectory: String, executable: String, defaultArguments: [String],
                      preprocessing: [String]) throws -> String {
        // %.17g round-trips a double exactly, so the simulation sees the sampled value.
        let params = parameters.map { String(format: "%.17g", $0) }
        let values: [String: String] = [
            "SIMU_ID": String(id),
            "SERVER_ADDRESS": Self.shellQuote(serverAddress),
            "STUDY_DIR": Self.shellQuote(studyDirectory),
            "PREPROCESSING": preprocessing.joined(separator: "\n"),
            "EXECUTABLE": Self.shellQuote(executable),
            "DEFAULT_ARGS": defaultArguments.map(Self.shellQuote).joined(separator: " "),
            "PARAMETERS": params.joined(separator: " "),
        ]
        var text = template
        for (key, value) in values { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
        let path = "\(scriptDirectory)/client.\(id).sh"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: 0o755]) else {
            throw ClientScriptError(path: path, reason: "cannot write")
        }
        return path
    }
}
