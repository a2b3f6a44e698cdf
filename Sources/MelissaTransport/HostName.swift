import Glibc

/// This machine's host name, as peers on other nodes reach it.
public enum HostName {
    /// `gethostname`, or "127.0.0.1" when it fails or is empty (then only local peers connect).
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "127.0.0.1" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "127.0.0.1" : name
    }
}
