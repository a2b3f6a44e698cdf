/// Little-endian writer of a section's payload. Arrays and strings carry a u64 count first.
public struct CheckpointEncoder {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// u64 length, then the bytes.
    public mutating func bytes(_ v: [UInt8]) {
        u64(UInt64(v.count))
        bytes.append(contentsOf: v)
    }

    /// u64 length in bytes, then the UTF-8 bytes.
    public mutating func string(_ v: String) { bytes(Array(v.utf8)) }

    /// u64 count, then the values (copied in one block: the host is little-endian, checked below).
    public mutating func f64s(_ v: UnsafeBufferPointer<Double>) {
        u64(UInt64(v.count))
        bytes.append(contentsOf: UnsafeRawBufferPointer(v))
    }

    public mutating func f64Array(_ v: [Double]) { v.withUnsafeBufferPointer { f64s($0) } }

    public mutating func u64Array(_ v: [UInt64]) {
        u64(UInt64(v.count))
        for x in v { u64(x) }
    }
}

/// Bounds-checked reader of a section's payload: every length is checked against the bytes
/// left before anything is allocated, and errors name the section, the field and the offset.
public struct CheckpointDecoder {
    let data: [UInt8]
    let section: String
    public private(set) var offset = 0

    public init(_ bytes: [UInt8], section: String) {
        data = bytes
        self.section = section
    }

    /// Bytes not read yet.
    public var remaining: Int { data.count - offset }

    mutating func take(_ n: UInt64, field: String) throws(CheckpointError) -> Range<Int> {
        guard n <= UInt64(remaining) else {
            throw .truncated(source: section, field: field, offset: offset, needed: n, available: remaining)
        }
        let range = offset..<(offset + Int(n))
        offset += Int(n)
        return range
    }

    public mutating func u8(field: String) throws(CheckpointError) -> UInt8 { data[try take(1, field: field).lowerBound] }

    public mutating func bool(field: String) throws(CheckpointError) -> Bool {
        let at = offset
        let v = try u8(field: field)
        guard v <= 1 else { throw .invalidValue(source: section, field: field, detail: "byte \(v) at offset \(at) is not 0 or 1") }
        return v == 1
    }

    public mutating func u32(field: String) throws(CheckpointError) -> UInt32 {
        let r = try take(4, field: field)
        var v: UInt32 = 0
        for (k, i) in r.enumerated() { v |= UInt32(data[i]) << (8 * UInt32(k)) }
        return v
    }

    public mutating func u64(field: String) throws(CheckpointError) -> UInt64 {
        let r = try take(8, field: field)
        var v: UInt64 = 0
        for (k, i) in r.enumerated() { v |= UInt64(data[i]) << (8 * UInt64(k)) }
        return v
    }

    public mutating func i64(field: String) throws(CheckpointError) -> Int64 { Int64(bitPattern: try u64(field: field)) }
    public mutating func f64(field: String) throws(CheckpointError) -> Double { Double(bitPattern: try u64(field: field)) }

    public mutating func bytes(field: String) throws(CheckpointError) -> [UInt8] {
        let n = try u64(field: field + " length")
        return Array(data[try take(n, field: field)])
    }

    public mutating func string(field: String) throws(CheckpointError) -> String {
        let at = offset
        let raw = try bytes(field: field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw .invalidValue(source: section, field: field, detail: "not UTF-8 (at offset \(at))")
        }
        return s
    }

    public mutating func f64Array(field: String) throws(CheckpointError) -> [Double] {
        let n = try u64(field: field + " count")
        let (bytes, overflow) = n.multipliedReportingOverflow(by: 8)
        guard !overflow else { throw .truncated(source: section, field: field, offset: offset, needed: UInt64.max, available: remaining) }
        let r = try take(bytes, field: field)
        return [Double](unsafeUninitializedCapacity: Int(n)) { buffer, count in
            data.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[r]))
            }
            count = Int(n)
        }
    }

    public mutating func u64Array(field: String) throws(CheckpointError) -> [UInt64] {
        let n = try u64(field: field + " count")
        let (bytes, overflow) = n.multipliedReportingOverflow(by: 8)
        guard !overflow, bytes <= UInt64(remaining) else {
            throw .truncated(source: section, field: field, offset: offset, needed: overflow ? UInt64.max : bytes, available: remaining)
        }
        var out: [UInt64] = []
        out.reserveCapacity(Int(n))
        for _ in 0..<n { out.append(try u64(field: field)) }
        return out
    }

    /// Refuses bytes left over after the last field.
    public func finish() throws(CheckpointError) {
        guard remaining == 0 else {
            throw .invalidValue(source: section, field: "end", detail: "\(remaining) unexpected bytes after the last field")
        }
    }

    /// An `invalidValue` error for `field` of this section.
    public func invalid(field: String, _ detail: String) -> CheckpointError {
        .invalidValue(source: section, field: field, detail: detail)
    }
}

#if _endian(big)
#error("checkpoints copy f64 arrays as little-endian memory")
#endif
