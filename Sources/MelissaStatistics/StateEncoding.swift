// Checkpoint encoding shared by the three state kinds: little-endian fields, a common
// 24-byte header, a kind-specific header, the payload doubles and a trailing CRC-32.
// The layout is specified in docs/STATISTICS.md ("State encoding").

/// The kinds of state an encoding can hold (`u16` at offset 6).
enum StateKind {
    static let field = 1
    static let sobol = 2
    static let covariance = 3

    static func name(_ kind: Int) -> String {
        switch kind {
        case field: return "FieldStatistics"
        case sobol: return "SobolMartinez"
        case covariance: return "CovarianceStatistics"
        default: return "unknown"
        }
    }
}

enum StateFormat {
    /// "MLSS" as a little-endian u32.
    static let magic: UInt32 = 0x5353_4c4d
    static let version = 1
    /// magic, version, kind, nbTimeSteps, blockSize.
    static let commonHeaderBytes = 24
}

/// Appends little-endian fields to a byte array sized up front.
struct StateWriter {
    private(set) var bytes: [UInt8]

    init(kind: Int, nbTimeSteps: Int, blockSize: Int, capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        u32(StateFormat.magic)
        u16(UInt16(StateFormat.version))
        u16(UInt16(kind))
        u64(UInt64(nbTimeSteps))
        u64(UInt64(blockSize))
    }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func u32(_ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    mutating func u64(_ v: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// Appends the doubles' IEEE 754 bit patterns, little-endian, in one copy on
    /// little-endian hosts.
    mutating func f64s(_ values: UnsafeBufferPointer<Double>) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        for v in values { f64(v) }
        #endif
    }

    /// Appends the CRC-32 of everything written so far and returns the bytes.
    mutating func finish() -> [UInt8] {
        let crc = bytes.withUnsafeBufferPointer { CRC32.checksum(UnsafeRawBufferPointer($0)) }
        u32(crc)
        return bytes
    }
}

/// Reads little-endian fields, refusing to read past the end of the input.
struct StateReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private func need(_ n: Int) throws(StatisticsStateError) {
        if bytes.count - offset < n { throw .truncated(needed: offset + n, available: bytes.count) }
    }

    mutating func u16() throws(StatisticsStateError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func u32() throws(StatisticsStateError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << UInt32(8 * i) }
        return v
    }

    mutating func u64() throws(StatisticsStateError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        return v
    }

    mutating func f64() throws(StatisticsStateError) -> Double { Double(bitPattern: try u64()) }

    /// A `u64` that must fit an `Int` (sizes, counts).
    mutating func size(_ what: String) throws(StatisticsStateError) -> Int {
        let v = try u64()
        guard v <= UInt64(Int.max) else { throw .invalidValue(what: what, value: Double(v)) }
        return Int(v)
    }

    /// Reads `count` doubles; the caller has already checked (with `finish`) that they are there.
    mutating func f64s(into out: UnsafeMutableBufferPointer<Double>) throws(StatisticsStateError) {
        let n = out.count
        guard n <= (bytes.count - offset) / 8 else {
            throw .truncated(needed: offset + n * 8, available: bytes.count)
        }
        #if _endian(little)
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawBufferPointer(out).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: raw[offset ..< offset + n * 8]))
        }
        offset += n * 8
        #else
        for i in 0..<n { out[i] = try f64() }
        #endif
    }

    /// Reads magic, version and kind and the two dimensions; checks magic, version and kind.
    mutating func commonHeader(kind expected: Int) throws(StatisticsStateError) -> (nbTimeSteps: Int, blockSize: Int) {
        let magic = try u32()
        guard magic == StateFormat.magic else { throw .badMagic(found: magic) }
        let version = Int(try u16())
        guard version == StateFormat.version else {
            throw .unsupportedVersion(found: version, supported: StateFormat.version)
        }
        let kind = Int(try u16())
        guard kind == expected else { throw .wrongKind(expected: expected, found: kind) }
        let steps = try size("nbTimeSteps")
        let block = try size("blockSize")
        return (steps, block)
    }

    /// Reads the declared payload length (in doubles), checks it against `expected` (which
    /// the caller computed from the header, `nil` if that overflowed), checks that the input
    /// holds exactly the payload and the CRC and that the CRC matches. After it returns, the
    /// payload can be read.
    mutating func payloadHeader(expected: Int?) throws(StatisticsStateError) -> Int {
        let declared = try size("payload length")
        guard let expected else {
            throw .inconsistentSizes(what: "payload length in doubles (the dimensions overflow)",
                                     declared: declared, expected: Int.max)
        }
        guard declared == expected else {
            throw .inconsistentSizes(what: "payload length in doubles", declared: declared, expected: expected)
        }
        let (bytesOfPayload, o1) = expected.multipliedReportingOverflow(by: 8)
        let (withPayload, o2) = offset.addingReportingOverflow(bytesOfPayload)
        let (total, o3) = withPayload.addingReportingOverflow(4)
        guard !o1, !o2, !o3 else {
            throw .inconsistentSizes(what: "payload length in doubles (too large)", declared: declared, expected: Int.max / 8)
        }
        if bytes.count < total { throw .truncated(needed: total, available: bytes.count) }
        if bytes.count > total { throw .inconsistentSizes(what: "input length in bytes", declared: bytes.count, expected: total) }
        var stored: UInt32 = 0
        for i in 0..<4 { stored |= UInt32(bytes[total - 4 + i]) << UInt32(8 * i) }
        let computed = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0 ..< total - 4])) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        return expected
    }
}

/// Product of non-negative sizes, `nil` on overflow.
func checkedProduct(_ factors: Int...) -> Int? {
    var p = 1
    for f in factors {
        let (r, o) = p.multipliedReportingOverflow(by: f)
        if o { return nil }
        p = r
    }
    return p
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF): the same value as zlib's `crc32` and Python's `zlib.crc32`. Slicing-by-8.
enum CRC32 {
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { t in
            var i = 0
            let n = data.count
            while n - i >= 8 {
                let lo = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
                let hi = UInt32(data[i + 4]) | UInt32(data[i + 5]) << 8 | UInt32(data[i + 6]) << 16 | UInt32(data[i + 7]) << 24
                let x = crc ^ lo
                crc = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(data[i])) & 0xFF)]
                i += 1
            }
        }
        return ~crc
    }
}
