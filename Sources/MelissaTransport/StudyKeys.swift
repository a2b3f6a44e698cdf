import Glibc

/// Who a study key pair belongs to.
public enum KeyRole: String, CaseIterable, Sendable {
    case launcher, server, client
}

/// Why study keys could not be created or read; each case names the file.
public enum StudyKeysError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or directory can be read or written by group or others.
    case insecure(path: String, mode: UInt32, expected: UInt32)
    /// It belongs to another user than the one running the study.
    case notOwned(path: String, owner: UInt32)
    /// It does not exist.
    case missing(path: String)
    /// Its content is not a key file.
    case malformed(path: String, problem: String)
    /// A system call failed.
    case system(path: String, call: String, errno: Int32)
    /// libzmq could not make keys.
    case generation(String)

    /// One line naming the file and what to do.
    public var description: String {
        switch self {
        case let .insecure(path, mode, expected):
            return "\(path) has mode \(String(mode, radix: 8)), readable or writable by others; it must be \(String(expected, radix: 8)) (chmod \(String(expected, radix: 8)) \(path))"
        case let .notOwned(path, owner):
            return "\(path) belongs to uid \(owner), not to the user running the study (uid \(geteuid()))"
        case let .missing(path):
            return "\(path) does not exist (the launcher creates the study's keys when the study starts)"
        case let .malformed(path, problem):
            return "\(path) is not a melissa key file: \(problem)"
        case let .system(path, call, code):
            return "\(path): \(call): \(String(cString: strerror(code)))"
        case let .generation(message):
            return "cannot generate CURVE keys: \(message)"
        }
    }
}

/// The study's CURVE keys: `<study>/keys/` (mode 0700) holding `launcher.key`, `server.key`
/// and `client.key`, and `data.password` (the data sockets' PLAIN password when
/// `data_encryption` is off), all mode 0600 and owned by the study's user. Created once by the
/// launcher; read by the launcher, the server and the client library, each refusing files that
/// others could read (a key anyone can read authenticates anyone).
public enum StudyKeys {
    /// `<study>/keys`.
    public static func directory(in study: String) -> String { study + "/keys" }

    /// `<study>/keys/<role>.key`.
    public static func path(_ role: KeyRole, in study: String) -> String { directory(in: study) + "/\(role.rawValue).key" }

    /// `<study>/keys/data.password`.
    public static func dataPasswordPath(in study: String) -> String { directory(in: study) + "/data.password" }

    /// Creates the directory, a fresh pair per role and the data password; an existing
    /// directory (a resumed study) is checked and its keys kept (a study begun before data
    /// passwords existed gets one).
    @discardableResult
    public static func create(in study: String) throws(StudyKeysError) -> [KeyRole: CurveKeyPair] {
        let dir = directory(in: study)
        if mkdir(dir, 0o700) != 0 {
            guard errno == EEXIST else { throw .system(path: dir, call: "mkdir", errno: errno) }
            var keys: [KeyRole: CurveKeyPair] = [:]
            for role in KeyRole.allCases { keys[role] = try load(role, in: study) }
            do { _ = try loadDataPassword(in: study) } catch .missing(dataPasswordPath(in: study)) {
                try writeDataPassword(in: study)
            }
            return keys
        }
        chmod(dir, 0o700)
        var keys: [KeyRole: CurveKeyPair] = [:]
        for role in KeyRole.allCases {
            let pair: CurveKeyPair
            do { pair = try CurveKeyPair.generate() } catch { throw .generation(error.description) }
            try write(pair, role: role, to: path(role, in: study))
            keys[role] = pair
        }
        try writeDataPassword(in: study)
        return keys
    }

    /// Reads one role's pair after checking the directory and the file are private.
    public static func load(_ role: KeyRole, in study: String) throws(StudyKeysError) -> CurveKeyPair {
        let file = path(role, in: study)
        let fields = try readPrivateFields(file, in: study)
        guard let publicKey = fields["public"], let secretKey = fields["secret"] else {
            throw .malformed(path: file, problem: "needs a public= and a secret= line")
        }
        guard let pair = CurveKeyPair(publicKey: publicKey, secretKey: secretKey) else {
            throw .malformed(path: file, problem: "the keys are not 40-character Z85 CURVE keys")
        }
        return pair
    }

    /// Reads the data sockets' PLAIN password after checking the directory and the file are private.
    public static func loadDataPassword(in study: String) throws(StudyKeysError) -> String {
        let file = dataPasswordPath(in: study)
        guard let password = try readPrivateFields(file, in: study)["password"] else {
            throw .malformed(path: file, problem: "needs a password= line")
        }
        // libzmq takes up to 255 bytes; printable ASCII keeps it one line.
        guard (16...255).contains(password.utf8.count), password.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .malformed(path: file, problem: "the password must be 16 to 255 printable ASCII characters without spaces")
        }
        return password
    }

    /// The `key=value` lines of a private file of the keys directory (`#` lines are comments).
    private static func readPrivateFields(_ file: String, in study: String) throws(StudyKeysError) -> [String: String] {
        try checkPrivate(directory(in: study), expected: 0o700)
        try checkPrivate(file, expected: 0o600)
        guard let handle = fopen(file, "r") else { throw .system(path: file, call: "open", errno: errno) }
        defer { fclose(handle) }
        var bytes = [UInt8](repeating: 0, count: 1025)
        let count = fread(&bytes, 1, bytes.count, handle)
        guard count < bytes.count else { throw .malformed(path: file, problem: "longer than 1 KiB") }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw .malformed(path: file, problem: "line \"\(line.prefix(40))\" is not key=value") }
            fields[String(parts[0])] = String(parts[1])
        }
        return fields
    }

    /// Fails unless `path` exists, belongs to this user and grants nothing to group or others.
    public static func checkPrivate(_ path: String, expected: UInt32) throws(StudyKeysError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { throw .missing(path: path) }
            throw .system(path: path, call: "stat", errno: errno)
        }
        guard info.st_uid == geteuid() else { throw .notOwned(path: path, owner: info.st_uid) }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .insecure(path: path, mode: mode, expected: expected) }
    }

    private static func write(_ pair: CurveKeyPair, role: KeyRole, to path: String) throws(StudyKeysError) {
        let text = "# melissa CURVE key pair of the \(role.rawValue); keep it private (mode 0600)\n"
            + "public=\(pair.publicKey)\nsecret=\(pair.secretKey)\n"
        // Exclusive: never overwrite a key.
        if let (call, code) = writePrivateFile(text, to: path, exclusive: true) {
            throw .system(path: path, call: call, errno: code)
        }
    }

    /// Writes a fresh data password: 32 bytes from the system's random source, in hex.
    private static func writeDataPassword(in study: String) throws(StudyKeysError) {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let text = "# melissa data-socket password (PLAIN, used when data_encryption is off); keep it private (mode 0600)\n"
            + "password=\(hex)\n"
        let file = dataPasswordPath(in: study)
        if let (call, code) = writePrivateFile(text, to: file, exclusive: true) {
            throw .system(path: file, call: call, errno: code)
        }
    }

    /// Writes `text` to a file only its owner can access (0600 from its creation, so it is
    /// never readable by others, not even briefly); `exclusive` refuses an existing file.
    /// Returns the failing call and errno, nil when written. Also used for the status token.
    public static func writePrivateFile(_ text: String, to path: String, exclusive: Bool) -> (call: String, errno: Int32)? {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0o600)
        guard fd >= 0 else { return ("open", errno) }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { return ("fchmod", errno) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return written == bytes.count ? nil : ("write", errno)
    }
}
