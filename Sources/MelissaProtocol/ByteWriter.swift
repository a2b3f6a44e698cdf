/// Appends little-endian fields to a byte array; the one encoder all messages share.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Starts an empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// A string as u16 byte length then UTF-8, cut at a character boundary to `limit` bytes
    /// so the peer's decoder never refuses it. Names and paths are checked at config time;
    /// only free text (reasons, summaries) can reach the cut.
    public mutating func string(_ s: String, limit: Int = Limits.maxString) {
        var utf8 = Array(s.utf8)
        if utf8.count > limit {
            var cut = limit
            while cut > 0, utf8[cut] & 0xC0 == 0x80 { cut -= 1 }
            utf8.removeSubrange(cut...)
        }
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

/// Reads little-endian fields from a borrowed buffer, never past its end.
public struct ByteReader {
    private let base: UnsafeRawBufferPointer
    /// Position of the next byte to read.
    public private(set) var offset: Int
    private let message: String

    /// Reads `buffer`; `message` names the message in errors.
    public init(_ buffer: UnsafeRawBufferPointer, message: String) {
        base = buffer
        offset = 0
        self.message = message
    }

    /// Bytes not read yet.
    public var remaining: Int { base.count - offset }

    private mutating func need(_ n: Int) throws(ProtocolError) {
        guard n <= remaining else {
            throw .truncated(message: message, needed: offset + n, available: base.count)
        }
    }

    public mutating func u8() throws(ProtocolError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return base[offset]
    }
    public mutating func u16() throws(ProtocolError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    public mutating func u32() throws(ProtocolError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    public mutating func i32() throws(ProtocolError) -> Int32 { Int32(bitPattern: try u32()) }
    public mutating func u64() throws(ProtocolError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    public mutating func f64() throws(ProtocolError) -> Double { Double(bitPattern: try u64()) }

    /// A u16-length-prefixed UTF-8 string of at most `limit` bytes.
    public mutating func string(_ what: String, limit: Int = Limits.maxString) throws(ProtocolError) -> String {
        let n = Int(try u16())
        guard n <= limit else { throw .oversized(what: "\(what) length", value: UInt64(n), limit: UInt64(limit)) }
        try need(n)
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)])
        offset += n
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw .invalidUTF8(what: what)
        }
        return s
    }

    /// Checks the 4-byte magic and the version, and returns the kind code.
    public mutating func header(magic: Magic) throws(ProtocolError) -> UInt16 {
        try need(8)
        // One 32-bit compare: this runs for every data message, so no array is built unless
        // the magic is wrong.
        guard UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) == magic.word else {
            throw .badMagic(expected: magic.text, got: Array(base[offset..<(offset + 4)]))
        }
        offset += 4
        let version = try u16()
        guard version == magic.version else {
            throw .versionMismatch(ours: magic.version, theirs: version)
        }
        return try u16()
    }

    /// Fails unless every byte was consumed.
    public func end() throws(ProtocolError) {
        guard remaining == 0 else { throw .trailingBytes(message: message, count: remaining) }
    }
}
