/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), slicing-by-16 over 64-bit loads:
/// checkpoints can be gigabytes, and a byte-at-a-time table would make checking them slower
/// than writing them (docs/PERFORMANCE.md has the rate).
public enum CRC32 {
    /// 16 tables of 256 entries, flat: entry k·256 + b is the CRC of byte b followed by k zero bytes.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    /// The CRC of `bytes`, continuing from `crc` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        let t = table
        @inline(__always) func at(_ k: Int, _ v: UInt64) -> UInt32 { t[k &* 256 &+ Int(truncatingIfNeeded: v & 0xFF)] }
        var c = ~crc
        var i = 0
        let n = bytes.count
        while n - i >= 16 {
            let a = base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian ^ UInt64(c)
            let b = base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).littleEndian
            c = at(15, a) ^ at(14, a >> 8) ^ at(13, a >> 16) ^ at(12, a >> 24)
                ^ at(11, a >> 32) ^ at(10, a >> 40) ^ at(9, a >> 48) ^ at(8, a >> 56)
                ^ at(7, b) ^ at(6, b >> 8) ^ at(5, b >> 16) ^ at(4, b >> 24)
                ^ at(3, b >> 32) ^ at(2, b >> 40) ^ at(1, b >> 48) ^ at(0, b >> 56)
            i += 16
        }
        while i < n {
            c = t[Int((c ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
            i += 1
        }
        return ~c
    }

    /// The CRC of a byte array.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}

/// FNV-1a, 64 bits: a study's fingerprint (detects another configuration; not security).
public enum StudyFingerprint {
    public static func of(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
