#if canImport(Glibc)
import Glibc
#endif

/// One rank's checkpoint files in a directory: `rank-<r>.ckpt` (current) and
/// `rank-<r>.prev.ckpt` (the one before). A write goes to `rank-<r>.ckpt.tmp`, is fsync'd,
/// and only then becomes current (the old current becoming previous) by two renames and a
/// directory fsync: a crash at any moment leaves a complete current or previous file.
public struct CheckpointStore: Sendable {
    /// The moments of a write where fault injection may strike (tests of crash safety).
    public enum WriteStage: String, Sendable, CaseIterable {
        /// Half of the temporary file is written.
        case halfWritten = "half"
        /// The old current file became previous; the new one is not current yet.
        case betweenRenames = "renames"
    }

    public let directory: String
    public let rank: Int
    /// Called at each `WriteStage` of a write; fault injection only (it may kill the process).
    public var faultHook: (@Sendable (WriteStage) -> Void)?

    public init(directory: String, rank: Int, faultHook: (@Sendable (WriteStage) -> Void)? = nil) {
        self.directory = directory
        self.rank = rank
        self.faultHook = faultHook
    }

    public var currentPath: String { "\(directory)/rank-\(rank).ckpt" }
    public var previousPath: String { "\(directory)/rank-\(rank).prev.ckpt" }
    public var temporaryPath: String { currentPath + ".tmp" }

    /// Writes a new current checkpoint, keeping the old one as previous.
    public func write(header: CheckpointHeader, sections: [CheckpointSection]) throws(CheckpointError) {
        try Self.makeDirectory(directory)
        let tmp = temporaryPath
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError(tmp, "open") }
        do throws(CheckpointError) {
            try Self.writeAll(fd, CheckpointFile.headerBytes(header, sectionCount: sections.count), path: tmp)
            for (i, s) in sections.enumerated() {
                if i == sections.count / 2 { faultHook?(.halfWritten) }
                let prefix = CheckpointFile.sectionPrefix(s)
                try Self.writeAll(fd, prefix, path: tmp)
                try Self.writeAll(fd, s.bytes, path: tmp)
                var w = CheckpointEncoder(capacity: 4)
                w.u32(CheckpointFile.sectionCRC(prefix: prefix, payload: s.bytes))
                try Self.writeAll(fd, w.bytes, path: tmp)
            }
            try Self.writeAll(fd, CheckpointFile.trailer(totalLength: CheckpointFile.length(of: sections)), path: tmp)
            guard fsync(fd) == 0 else { throw Self.ioError(tmp, "fsync") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard close(fd) == 0 else { throw Self.ioError(tmp, "close") }
        if access(currentPath, F_OK) == 0, rename(currentPath, previousPath) != 0 {
            throw Self.ioError(currentPath, "rename to \(previousPath)")
        }
        faultHook?(.betweenRenames)
        guard rename(tmp, currentPath) == 0 else { throw Self.ioError(tmp, "rename to \(currentPath)") }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw Self.ioError(directory, "open") }
        defer { close(dir) }
        guard fsync(dir) == 0 else { throw Self.ioError(directory, "fsync") }
    }

    /// Makes the previous file current again (replacing the current one atomically), for a
    /// restart that chose the previous checkpoint; `previous` must be `previousPath`.
    public func makeCurrent(previous: String) throws(CheckpointError) {
        guard previous == previousPath else {
            throw .invalidValue(source: previous, field: "checkpoint file", detail: "only \(previousPath) can become current again")
        }
        guard rename(previousPath, currentPath) == 0 else { throw Self.ioError(previousPath, "rename to \(currentPath)") }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw Self.ioError(directory, "open") }
        defer { close(dir) }
        guard fsync(dir) == 0 else { throw Self.ioError(directory, "fsync") }
    }

    /// The newest valid checkpoint: current if it is valid and this study's, else previous.
    /// Nil when neither file exists; an error listing each refusal when none is usable.
    public func load(expectingFingerprint fingerprint: UInt64, rank: UInt32,
                     commSize: UInt32) throws(CheckpointError) -> LoadedCheckpoint? {
        var refused: [RefusedCheckpoint] = []
        for path in [currentPath, previousPath] where access(path, F_OK) == 0 {
            do throws(CheckpointError) {
                let (header, sections) = try CheckpointFile.decode(try Self.read(path), source: path)
                try CheckpointFile.checkIdentity(header, path: path, fingerprint: fingerprint, rank: rank, commSize: commSize)
                return LoadedCheckpoint(header: header, sections: sections, path: path, refused: refused)
            } catch {
                refused.append(RefusedCheckpoint(path: path, reason: error))
            }
        }
        guard refused.isEmpty else {
            throw .invalidValue(source: directory, field: "checkpoints of rank \(rank)",
                                detail: "none is usable: " + refused.map { $0.reason.description }.joined(separator: "; "))
        }
        return nil
    }

    /// A whole file, read with one read loop into one buffer.
    public static func read(_ path: String) throws(CheckpointError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError(path, "open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError(path, "fstat") }
        let size = Int(st.st_size)
        var failure: CheckpointError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = ioError(path, "read"); break }
                if n == 0 { break }
                done += n
            }
            count = done
        }
        if let failure { throw failure }
        return bytes
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CheckpointError) {
        var failure: CheckpointError?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = ioError(path, "write"); return }
                done += n
            }
        }
        if let failure { throw failure }
    }

    static func makeDirectory(_ path: String) throws(CheckpointError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw ioError(path, "mkdir") }
    }

    static func ioError(_ path: String, _ operation: String) -> CheckpointError {
        .io(path: path, operation: operation, message: String(cString: strerror(errno)))
    }
}

/// A checkpoint file that could not be used, and why.
public struct RefusedCheckpoint: Equatable, Sendable {
    public var path: String
    public var reason: CheckpointError
}

/// What `CheckpointStore.load` found: the checkpoint, its file, and the files refused first.
public struct LoadedCheckpoint: Equatable, Sendable {
    public var header: CheckpointHeader
    public var sections: [CheckpointSection]
    public var path: String
    public var refused: [RefusedCheckpoint]
}
