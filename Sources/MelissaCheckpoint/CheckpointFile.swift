/// One named part of a checkpoint: a 4-character ASCII tag and its payload.
public struct CheckpointSection: Equatable, Sendable {
    public var tag: String
    public var bytes: [UInt8]
    public init(tag: String, bytes: [UInt8]) {
        self.tag = tag
        self.bytes = bytes
    }
}

/// Identity of a checkpoint file: which study, rank and comm size wrote it, and when.
public struct CheckpointHeader: Equatable, Sendable {
    /// `StudyFingerprint` of the study's configuration.
    public var fingerprint: UInt64
    public var rank: UInt32
    public var commSize: UInt32
    /// 1, 2, 3… over a study (restarts included): the same number on every rank is one cut.
    public var sequence: UInt64
    /// Seconds since 1970, informational.
    public var unixTime: Int64

    public init(fingerprint: UInt64, rank: UInt32, commSize: UInt32, sequence: UInt64, unixTime: Int64) {
        self.fingerprint = fingerprint
        self.rank = rank
        self.commSize = commSize
        self.sequence = sequence
        self.unixTime = unixTime
    }
}

/// The byte layout of a checkpoint file (docs/CHECKPOINT.md): header, sections, trailer,
/// all little-endian, each part checksummed. Pure encode/decode; `CheckpointStore` does I/O.
public enum CheckpointFile {
    public static let version: UInt32 = 1
    static let magic = Array("MLSCKPT\u{0}".utf8)
    static let trailerMagic = Array("MLSCKEND".utf8)
    static let headerSize = 56
    static let sectionPrefixSize = 16
    static let trailerSize = 16

    /// The header's 56 bytes, CRC included.
    static func headerBytes(_ h: CheckpointHeader, sectionCount: Int) -> [UInt8] {
        var w = CheckpointEncoder(capacity: headerSize)
        for b in magic { w.u8(b) }
        w.u32(version)
        w.u32(UInt32(headerSize))
        w.u64(h.fingerprint)
        w.u32(h.rank)
        w.u32(h.commSize)
        w.u64(h.sequence)
        w.i64(h.unixTime)
        w.u32(UInt32(sectionCount))
        w.u32(CRC32.checksum(w.bytes))
        return w.bytes
    }

    /// A section's 16-byte prefix: tag, reserved 0, payload length.
    static func sectionPrefix(_ s: CheckpointSection) -> [UInt8] {
        var w = CheckpointEncoder(capacity: sectionPrefixSize)
        for b in tagBytes(s.tag) { w.u8(b) }
        w.u32(0)
        w.u64(UInt64(s.bytes.count))
        return w.bytes
    }

    /// The tag's 4 ASCII bytes. A tag that is not 4 ASCII characters is a programming error.
    static func tagBytes(_ tag: String) -> [UInt8] {
        let b = Array(tag.utf8)
        precondition(b.count == 4 && b.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "checkpoint section tag '\(tag)' must be 4 ASCII characters")
        return b
    }

    static func sectionCRC(prefix: [UInt8], payload: [UInt8]) -> UInt32 {
        let c = prefix.withUnsafeBytes { CRC32.checksum($0) }
        return payload.withUnsafeBytes { CRC32.checksum($0, continuing: c) }
    }

    static func trailer(totalLength: Int) -> [UInt8] {
        var w = CheckpointEncoder(capacity: trailerSize)
        for b in trailerMagic { w.u8(b) }
        w.u64(UInt64(totalLength))
        return w.bytes
    }

    /// Total file length for these sections.
    static func length(of sections: [CheckpointSection]) -> Int {
        headerSize + sections.reduce(0) { $0 + sectionPrefixSize + $1.bytes.count + 4 } + trailerSize
    }

    /// The whole file in memory (tests and small checkpoints; the store writes part by part).
    public static func encode(header: CheckpointHeader, sections: [CheckpointSection]) -> [UInt8] {
        var out = headerBytes(header, sectionCount: sections.count)
        for s in sections {
            let prefix = sectionPrefix(s)
            out += prefix
            out += s.bytes
            var w = CheckpointEncoder(capacity: 4)
            w.u32(sectionCRC(prefix: prefix, payload: s.bytes))
            out += w.bytes
        }
        return out + trailer(totalLength: length(of: sections))
    }

    /// Decodes and verifies a whole file: magic, version, header checksum, every section's
    /// length and checksum, the trailer. `source` names the file in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws(CheckpointError) -> (CheckpointHeader, [CheckpointSection]) {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { throw .notACheckpoint(path: source) }
        var r = CheckpointDecoder(bytes, section: source)
        _ = try r.take(UInt64(magic.count), field: "magic")
        let found = try r.u32(field: "format version")
        guard found == version else { throw .unsupportedVersion(path: source, found: found, supported: version) }
        let size = try r.u32(field: "header length")
        guard size == UInt32(headerSize) else { throw r.invalid(field: "header length", "\(size), expected \(headerSize)") }
        let header = CheckpointHeader(fingerprint: try r.u64(field: "fingerprint"), rank: try r.u32(field: "rank"),
                                      commSize: try r.u32(field: "comm size"), sequence: try r.u64(field: "sequence"),
                                      unixTime: try r.i64(field: "time"))
        let count = try r.u32(field: "section count")
        let computed = CRC32.checksum(Array(bytes[0..<r.offset]))
        let stored = try r.u32(field: "header checksum")
        guard stored == computed else { throw .badChecksum(source: source, section: "header", stored: stored, computed: computed) }
        var sections: [CheckpointSection] = []
        for i in 0..<count {
            let start = r.offset
            let tagRange = try r.take(4, field: "section \(i) tag")
            let tagRaw = Array(bytes[tagRange])
            guard tagRaw.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), let tag = String(validating: tagRaw, as: UTF8.self) else {
                throw r.invalid(field: "section \(i) tag", "bytes \(tagRaw) are not 4 ASCII characters")
            }
            _ = try r.u32(field: "section \(tag) reserved")
            let n = try r.u64(field: "section \(tag) length")
            let payload = try r.take(n, field: "section \(tag) payload")
            let crc = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<payload.upperBound])) }
            let storedCRC = try r.u32(field: "section \(tag) checksum")
            guard storedCRC == crc else { throw .badChecksum(source: source, section: "section \(tag)", stored: storedCRC, computed: crc) }
            sections.append(CheckpointSection(tag: tag, bytes: Array(bytes[payload])))
        }
        let end = try r.take(UInt64(trailerMagic.count), field: "trailer")
        guard Array(bytes[end]) == trailerMagic else { throw r.invalid(field: "trailer", "no MLSCKEND marker at offset \(end.lowerBound)") }
        let total = try r.u64(field: "total length")
        guard total == UInt64(bytes.count) else { throw r.invalid(field: "total length", "trailer says \(total) bytes, the file has \(bytes.count)") }
        try r.finish()
        return (header, sections)
    }

    /// Refuses a checkpoint of another study, rank or comm size, naming both values.
    public static func checkIdentity(_ h: CheckpointHeader, path: String, fingerprint: UInt64, rank: UInt32,
                                     commSize: UInt32) throws(CheckpointError) {
        guard h.fingerprint == fingerprint else { throw .otherStudy(path: path, found: h.fingerprint, expected: fingerprint) }
        guard h.commSize == commSize else { throw .otherCommSize(path: path, found: h.commSize, expected: commSize) }
        guard h.rank == rank else { throw .otherRank(path: path, found: h.rank, expected: rank) }
    }
}
