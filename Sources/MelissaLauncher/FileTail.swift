import Glibc

/// Reads the end of a log file (server.err) to quote it in an error message.
enum FileTail {
    /// The last `count` non-empty lines of `path` (reading at most its last 64 KiB); empty
    /// if the file cannot be read.
    static func lastLines(of path: String, count: Int, maximumBytes: Int = 64 * 1024) -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return [] }
        let start = max(0, Int(size) - maximumBytes)
        lseek(fd, off_t(start), SEEK_SET)
        var bytes = [UInt8](repeating: 0, count: Int(size) - start)
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return read(fd, base + filled, buffer.count - filled)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        let text = String(decoding: bytes[0..<filled], as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        // Reading from the middle of the file may start mid-line: drop that partial line.
        if start > 0, !lines.isEmpty { lines.removeFirst() }
        return Array(lines.suffix(count))
    }
}
