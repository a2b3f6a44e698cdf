#if canImport(Glibc)
import Glibc
#endif

/// This process's limit on open files (`RLIMIT_NOFILE`): every client connection a server
/// rank accepts is one descriptor, so the limit caps how many client ranks it can carry.
public struct FileDescriptorLimit: Sendable, Equatable, CustomStringConvertible {
    /// The limit in force (`ulimit -Sn`).
    public var soft: Int
    /// The most an unprivileged process may raise it to (`ulimit -Hn`).
    public var hard: Int

    public init(soft: Int, hard: Int) {
        self.soft = soft
        self.hard = hard
    }

    public var description: String { "RLIMIT_NOFILE soft \(soft), hard \(hard)" }

    /// The current limits; unlimited (`RLIM_INFINITY`) reads as `Int.max`.
    public static func current() throws(FileDescriptorLimitError) -> FileDescriptorLimit {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else {
            throw FileDescriptorLimitError(call: "getrlimit(RLIMIT_NOFILE)", code: errno)
        }
        return FileDescriptorLimit(soft: clamp(limit.rlim_cur), hard: clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (the kernel's `fs.nr_open` when the hard limit is
    /// unlimited), as a server that may carry thousands of connections should, and returns the
    /// limits before and after. A soft limit already at the hard one is left alone.
    @discardableResult
    public static func raiseSoftToHard() throws(FileDescriptorLimitError) -> (before: FileDescriptorLimit, after: FileDescriptorLimit) {
        let before = try current()
        var target = before.hard
        if target == Int.max { target = kernelCeiling() }
        guard target > before.soft else { return (before, before) }
        var limit = rlimit()
        limit.rlim_cur = rlim_t(target)
        limit.rlim_max = before.hard == Int.max ? rlim_t.max : rlim_t(before.hard)
        guard setrlimit(resource, &limit) == 0 else {
            throw FileDescriptorLimitError(call: "setrlimit(RLIMIT_NOFILE, soft \(target))", code: errno)
        }
        return (before, try current())
    }

    /// Glibc declares the resource as an enum; the functions take its raw value.
    private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }

    private static func clamp(_ value: rlim_t) -> Int {
        value == rlim_t.max || value > rlim_t(Int.max) ? Int.max : Int(value)
    }

    /// `/proc/sys/fs/nr_open`: no process may hold more descriptors (1 048 576 by default).
    private static func kernelCeiling() -> Int {
        guard let file = fopen("/proc/sys/fs/nr_open", "r") else { return 1 << 20 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 32)
        guard fgets(&line, Int32(line.count), file) != nil else { return 1 << 20 }
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int(text.filter(\.isNumber)).flatMap { $0 > 0 ? $0 : nil } ?? 1 << 20
    }
}

/// A failed `getrlimit`/`setrlimit`: the call and errno's text.
public struct FileDescriptorLimitError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}
