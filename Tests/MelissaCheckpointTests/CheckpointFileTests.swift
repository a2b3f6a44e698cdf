import Foundation
import XCTest
@testable import MelissaCheckpoint

/// The file format: golden bytes, round trips, and every corruption refused with its reason.
final class CheckpointFileTests: XCTestCase {
    static let header = CheckpointHeader(fingerprint: 0x0102_0304_0506_0708, rank: 1, commSize: 2, sequence: 3, unixTime: 4)
    static let sections = [CheckpointSection(tag: "ABCD", bytes: [1, 2, 3]), CheckpointSection(tag: "EFGH", bytes: [])]

    /// The whole file, byte by byte (docs/CHECKPOINT.md): change the format and this changes.
    static let golden = """
        4d4c53434b505400 01000000 38000000 0807060504030201 01000000 02000000 0300000000000000 0400000000000000 02000000 d7726872 \
        41424344 00000000 0300000000000000 010203 ff053738 \
        45464748 00000000 0000000000000000 c1d06793 \
        4d4c53434b454e44 7300000000000000
        """

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testGoldenBytes() {
        let bytes = CheckpointFile.encode(header: Self.header, sections: Self.sections)
        XCTAssertEqual(bytes.count, 56 + (16 + 3 + 4) + (16 + 0 + 4) + 16)
        let expected = Self.golden.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "\n", with: "")
            .replacingOccurrences(of: "\\", with: "")
        XCTAssertEqual(hex(bytes), expected)
        // The pinned checksums are CRC-32/IEEE of the header's first 52 bytes and of each
        // section's prefix and payload.
        XCTAssertEqual(CRC32.checksum(Array(bytes[0..<52])), 0x7268_72D7)
        XCTAssertEqual(CRC32.checksum(Array(bytes[56..<75])), 0x3837_05FF)
        XCTAssertEqual(CRC32.checksum(Array(bytes[79..<95])), 0x9367_D0C1)
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
        // Slicing-by-8 and the byte loop agree at every length and split.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for n in [3, 7, 8, 9, 63, 64, 65, 999] {
            let whole = CRC32.checksum(Array(data[0..<n]))
            let split = data[0..<n].withUnsafeBytes { raw in
                CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[3...]),
                               continuing: CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<3])))
            }
            XCTAssertEqual(whole, split, "n = \(n)")
        }
    }

    func testRoundTrip() throws {
        let bytes = CheckpointFile.encode(header: Self.header, sections: Self.sections)
        let (h, s) = try CheckpointFile.decode(bytes, source: "x")
        XCTAssertEqual(h, Self.header)
        XCTAssertEqual(s, Self.sections)
    }

    func testEveryTruncationIsRefused() {
        let bytes = CheckpointFile.encode(header: Self.header, sections: Self.sections)
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try CheckpointFile.decode(Array(bytes[0..<n]), source: "cut"), "length \(n)") { error in
                guard let e = error as? CheckpointError else { return XCTFail("\(error)") }
                switch e {
                case .truncated, .notACheckpoint, .invalidValue: break
                default: XCTFail("length \(n): \(e)")
                }
            }
        }
    }

    func testEveryFlippedByteIsRefused() {
        let bytes = CheckpointFile.encode(header: Self.header, sections: Self.sections)
        for i in 0..<bytes.count {
            for mask: UInt8 in [0x01, 0x80] {
                var bad = bytes
                bad[i] ^= mask
                XCTAssertThrowsError(try CheckpointFile.decode(bad, source: "flip"), "byte \(i) ^ \(mask)")
            }
        }
    }

    func testOtherVersionNamesBothVersions() {
        var bytes = CheckpointFile.encode(header: Self.header, sections: Self.sections)
        bytes[8] = 2
        XCTAssertThrowsError(try CheckpointFile.decode(bytes, source: "/s/rank-0.ckpt")) { error in
            XCTAssertEqual(error as? CheckpointError, .unsupportedVersion(path: "/s/rank-0.ckpt", found: 2, supported: 1))
            XCTAssertTrue("\(error)".contains("format version 2; this server reads version 1"), "\(error)")
        }
    }

    func testIdentityChecksNameBothValues() {
        let h = Self.header
        XCTAssertNoThrow(try CheckpointFile.checkIdentity(h, path: "p", fingerprint: h.fingerprint, rank: 1, commSize: 2))
        XCTAssertThrowsError(try CheckpointFile.checkIdentity(h, path: "p", fingerprint: 9, rank: 1, commSize: 2)) { error in
            XCTAssertTrue("\(error)".contains("another study (fingerprint 0x102030405060708, this study is 0x9)"), "\(error)")
        }
        XCTAssertThrowsError(try CheckpointFile.checkIdentity(h, path: "p", fingerprint: h.fingerprint, rank: 1, commSize: 4)) { error in
            XCTAssertTrue("\(error)".contains("server of 2 ranks; this server has 4"), "\(error)")
        }
        XCTAssertThrowsError(try CheckpointFile.checkIdentity(h, path: "p", fingerprint: h.fingerprint, rank: 0, commSize: 2)) { error in
            XCTAssertTrue("\(error)".contains("belongs to rank 1, not rank 0"), "\(error)")
        }
    }

    func testDecoderRefusesLyingLengthsWithoutAllocating() {
        var w = CheckpointEncoder()
        w.u64(1 << 62)
        for kind in 0..<3 {
            var r = CheckpointDecoder(w.bytes, section: "S")
            do {
                switch kind {
                case 0: _ = try r.bytes(field: "b")
                case 1: _ = try r.f64Array(field: "f")
                default: _ = try r.u64Array(field: "u")
                }
                XCTFail("kind \(kind): a 2^62 length must be refused")
            } catch {
                guard case .truncated = error else { return XCTFail("kind \(kind): \(error)") }
            }
        }
        var r = CheckpointDecoder([2], section: "S")
        XCTAssertThrowsError(try r.bool(field: "flag")) { XCTAssertTrue("\($0)".contains("not 0 or 1"), "\($0)") }
        let extra = CheckpointDecoder([0], section: "S")
        XCTAssertThrowsError(try extra.finish()) { XCTAssertTrue("\($0)".contains("1 unexpected bytes"), "\($0)") }
    }

    func testEncoderDecoderRoundTripEveryKind() throws {
        var w = CheckpointEncoder()
        w.u8(7); w.bool(true); w.u32(0xDEAD_BEEF); w.u64(.max); w.i64(-5); w.f64(-0.25)
        w.bytes([9, 8]); w.string("héllo"); w.f64Array([1.5, .infinity]); w.u64Array([3, 4])
        var r = CheckpointDecoder(w.bytes, section: "S")
        XCTAssertEqual(try r.u8(field: "a"), 7)
        XCTAssertEqual(try r.bool(field: "b"), true)
        XCTAssertEqual(try r.u32(field: "c"), 0xDEAD_BEEF)
        XCTAssertEqual(try r.u64(field: "d"), .max)
        XCTAssertEqual(try r.i64(field: "e"), -5)
        XCTAssertEqual(try r.f64(field: "f"), -0.25)
        XCTAssertEqual(try r.bytes(field: "g"), [9, 8])
        XCTAssertEqual(try r.string(field: "h"), "héllo")
        XCTAssertEqual(try r.f64Array(field: "i"), [1.5, .infinity])
        XCTAssertEqual(try r.u64Array(field: "j"), [3, 4])
        XCTAssertNoThrow(try r.finish())
    }
}
