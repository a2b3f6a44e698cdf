import Foundation

extension StudyConfig {
    /// Reads, parses and validates the config file at `path`, then resolves relative paths against the file's directory.
    ///
    /// `output_dir`, and `executable_command` when it is a relative path containing a `/`, are
    /// made absolute against the directory of `path` (itself made absolute with the current
    /// directory). Messages name the file as `path` was given. `flavors` are the `server_class`
    /// values (and their sections) this program knows.
    public static func load(path: String, flavors: FlavorRegistry = .builtIn) throws(ConfigLoadError) -> StudyConfig {
        let data = try readFile(path)
        let config = try parse(data: data, source: path, flavors: flavors)
        let directory = PathResolution.directory(of: path, currentDirectory: FileManager.default.currentDirectoryPath)
        return config.resolvingPaths(relativeTo: directory)
    }

    /// Parses and validates config bytes (JSON with comments); `source` labels the messages. Paths are left as written.
    public static func parse(data: Data, source: String,
                             flavors: FlavorRegistry = .builtIn) throws(ConfigLoadError) -> StudyConfig {
        guard data.count <= maximumFileSize else {
            throw .tooLarge(source: source, limit: maximumFileSize)
        }
        let original = [UInt8](data)
        if let offset = firstInvalidUTF8Offset(original) {
            let location = TextLocation(offset: offset, in: original)
            throw .invalidUTF8(source: source, offset: offset, line: location.line, column: location.column)
        }
        var bytes = original
        // A UTF-8 byte order mark is allowed and ignored (blanked, so offsets stay put).
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.replaceSubrange(0..<3, with: [0x20, 0x20, 0x20])
        }
        let stripped: [UInt8]
        do {
            stripped = try stripJSONComments(bytes)
        } catch {
            throw syntaxError(error, source: source, original: original)
        }
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: Data(stripped), options: [.fragmentsAllowed])
        } catch {
            throw syntaxError(locate(error, stripped: stripped, original: original), source: source, original: original)
        }
        let config: StudyConfig
        switch ConfigValidator.validate(document, source: source, flavors: flavors, extraIssues: findDuplicateKeys(stripped)) {
        case .success(let valid):
            config = valid
        case .failure(let error):
            throw .invalid(error)
        }
        // Serialized only once valid: a valid config has few keys, and sorting huge objects is slow.
        do {
            let canonical = try JSONSerialization.data(
                withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
            return config.replacingCanonicalJSON(canonical)
        } catch {
            // Not expected for a document JSONSerialization itself produced.
            throw .invalidJSON(source: source, line: 1, column: 1,
                               message: "cannot re-serialize the document: \(error.localizedDescription)")
        }
    }

    /// Reads at most `maximumFileSize + 1` bytes so huge files and endless devices are refused quickly.
    private static func readFile(_ path: String) throws(ConfigLoadError) -> Data {
        guard !path.isEmpty else { throw .unreadable(path: path, reason: "empty path") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "is a directory") }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            throw .unreadable(path: path, reason: describe(error))
        }
        guard data.count <= maximumFileSize else {
            throw .tooLarge(source: path, limit: maximumFileSize)
        }
        return data
    }

    /// The POSIX reason behind a Foundation file error when there is one ("Permission denied").
    private static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return nsError.localizedDescription
    }

    private static func syntaxError(_ problem: JSONSyntaxProblem, source: String,
                                    original: [UInt8]) -> ConfigLoadError {
        let location = TextLocation(offset: problem.offset, in: original)
        return .invalidJSON(source: source, line: location.line, column: location.column, message: problem.message)
    }

    /// Where JSONSerialization failed: its reported byte offset if any, else our own scan of the stripped bytes.
    ///
    /// When both report the same offset, the scanner's more specific message is used.
    static func locate(_ error: Error, stripped: [UInt8], original: [UInt8]) -> JSONSyntaxProblem {
        let debug = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String)
            ?? (error as NSError).localizedDescription
        let scanned = JSONSyntaxScanner(bytes: stripped, original: original).firstProblem()
        if let (offset, message) = offsetAndMessage(fromDebugDescription: debug) {
            // Our scanner's wording is more specific; use it when both agree on the place.
            if let scanned, scanned.offset == offset { return scanned }
            return JSONSyntaxProblem(offset: min(offset, stripped.count), message: message)
        }
        if let scanned {
            return scanned
        }
        return JSONSyntaxProblem(offset: stripped.count, message: lowercasedFirst(trimmed(debug)))
    }

    /// Parses "Invalid value around character 16." (swift-corelibs-foundation) into offset 16 and "invalid value".
    static func offsetAndMessage(fromDebugDescription text: String) -> (Int, String)? {
        guard let range = text.range(of: " around character ") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard let offset = Int(digits) else { return nil }
        return (offset, lowercasedFirst(String(text[..<range.lowerBound])))
    }

    private static func trimmed(_ text: String) -> String {
        var result = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if result.hasSuffix(".") { result.removeLast() }
        return result
    }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
