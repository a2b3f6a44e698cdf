import Glibc

/// Job scripts the launcher writes for a batch system.
public enum ScriptFile {
    /// Writes `text` to `path` as an executable file (0755, replaced whole); returns the
    /// problem, or nil when written.
    public static func write(_ text: String, to path: String) -> String? {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { return "cannot create \(temporary): \(SchedulerError.text(errno))" }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let code = errno
                close(fd)
                return "cannot write \(temporary): \(SchedulerError.text(code))"
            }
            written += count
        }
        fchmod(fd, 0o755)
        close(fd)
        // Renamed into place: a batch system never reads a half-written script.
        guard rename(temporary, path) == 0 else { return "cannot rename \(temporary): \(SchedulerError.text(errno))" }
        return nil
    }

    /// `text` quoted for /bin/sh: left bare when it is only safe characters, else in single
    /// quotes with embedded quotes escaped, so paths with spaces or `$` reach the command intact.
    public static func quote(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./=:,+%@".unicodeScalars.contains($0)
        }
        if safe && !text.isEmpty { return text }
        return "'" + text.replacingAll("'", with: "'\\''") + "'"
    }
}

extension String {
    /// Every occurrence of `target` replaced (this module does without Foundation).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
