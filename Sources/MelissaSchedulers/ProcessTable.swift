import Glibc

/// One process as `/proc/<pid>/stat` shows it.
public struct ProcessEntry: Hashable, Sendable {
    /// Process id.
    public let pid: pid_t
    /// Parent process id.
    public let parent: pid_t
    /// Process group id.
    public let group: pid_t
    /// One-letter state: R, S, D, Z (zombie), T...
    public let state: Character
    /// Start time in clock ticks since boot: with `pid`, identifies a process even if the
    /// pid is reused later.
    public let startTime: UInt64

    /// True unless the process is a zombie (exited, waiting to be reaped).
    public var isAlive: Bool { state != "Z" && state != "X" }
}

/// A snapshot of the processes visible in /proc, to find descendants before killing a tree.
///
/// Why: Open MPI puts every rank in its own process group, so signalling `mpirun`'s group
/// does not reach the ranks; and once `mpirun` dies its children are re-parented to init and
/// the family link is lost. Recording the tree first lets `Subprocess.terminate` finish off
/// whatever survived.
public struct ProcessTable: Sendable {
    /// Every process read, by pid.
    public let entries: [pid_t: ProcessEntry]

    /// Reads /proc now. Processes that vanish while reading are skipped.
    public static func snapshot() -> ProcessTable {
        var entries: [pid_t: ProcessEntry] = [:]
        guard let dir = opendir("/proc") else { return ProcessTable(entries: [:]) }
        defer { closedir(dir) }
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), let entry = entry(pid) else { continue }
            entries[pid] = entry
        }
        return ProcessTable(entries: entries)
    }

    /// Reads one process, or nil if it does not exist (any more).
    public static func entry(_ pid: pid_t) -> ProcessEntry? {
        guard let text = readSmallFile("/proc/\(pid)/stat") else { return nil }
        return parseStat(text)
    }

    /// True when `entry`'s process still exists, is not a zombie, and is the same process
    /// (same start time) rather than a new one that got the pid.
    public static func isAlive(_ entry: ProcessEntry) -> Bool {
        guard let now = Self.entry(entry.pid) else { return false }
        return now.startTime == entry.startTime && now.isAlive
    }

    /// Parses a /proc/<pid>/stat line. The command name is in parentheses and may contain
    /// spaces or parentheses itself, so fields are counted from the last ')'.
    static func parseStat(_ text: String) -> ProcessEntry? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = pid_t(text[..<open].trimmingCharacters(in: " ")) else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] = state (field 3), [1] = ppid, [2] = pgrp, ..., [19] = starttime (field 22).
        guard fields.count > 19, let state = fields[0].first, let parent = pid_t(fields[1]),
              let group = pid_t(fields[2]), let start = UInt64(fields[19]) else { return nil }
        return ProcessEntry(pid: pid, parent: parent, group: group, state: state, startTime: start)
    }

    /// Every live descendant of `pid` (children, grandchildren...), not `pid` itself.
    public func descendants(of pid: pid_t) -> [ProcessEntry] {
        var children: [pid_t: [ProcessEntry]] = [:]
        for entry in entries.values { children[entry.parent, default: []].append(entry) }
        var result: [ProcessEntry] = []
        var stack = [pid]
        var seen: Set<pid_t> = [pid]
        while let next = stack.popLast() {
            for child in children[next] ?? [] where seen.insert(child.pid).inserted {
                if child.isAlive { result.append(child) }
                stack.append(child.pid)
            }
        }
        return result
    }

    /// Reads a whole small file (a /proc entry) as text; nil if it cannot be opened.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    /// Strips `character` from both ends (Foundation-free trimming for /proc parsing).
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var s = self
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return s
    }
}
