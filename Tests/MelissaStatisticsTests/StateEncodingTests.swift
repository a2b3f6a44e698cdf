import XCTest
@testable import MelissaStatistics

final class StateEncodingTests: XCTestCase {
    // MARK: Tiny states pinned byte for byte (layout: docs/STATISTICS.md, "State encoding")

    static func tinyField() -> FieldStatistics {
        let sel = StatisticsSelection(mean: true, variance: true, minimum: true, maximum: true,
                                      thresholds: [1.5], quantileLevels: [0.5], expectedSamples: 4)
        var f = FieldStatistics(selection: sel, nbTimeSteps: 1, blockSize: 2)
        [1.0, 2.0].withUnsafeBufferPointer { f.update(step: 0, localOffset: 0, values: $0) }
        [4.0].withUnsafeBufferPointer { f.update(step: 0, localOffset: 1, values: $0) }
        return f
    }

    static func tinySobol() -> SobolMartinez {
        var s = SobolMartinez(nbParameters: 1, nbTimeSteps: 1, blockSize: 2)
        s.fold(step: 0, [1, 2, 3, 4, 5, 6])
        s.fold(step: 0, [2, 2, 5, 3, 4, 7])
        return s
    }

    static func tinyCovariance() -> CovarianceStatistics {
        var c = CovarianceStatistics(nbTimeSteps: 1, blockSize: 2)
        [1.0, 2.0].withUnsafeBufferPointer { x in [3.0, 5.0].withUnsafeBufferPointer { y in c.update(step: 0, localOffset: 0, x: x, y: y) } }
        [2.0].withUnsafeBufferPointer { x in [7.0].withUnsafeBufferPointer { y in c.update(step: 0, localOffset: 1, x: x, y: y) } }
        return c
    }

    static let fieldGolden = """
    4d4c535301000100010000000000000002000000000000003300000001000000
    01000000070000000400000000000000000000000000f83f000000000000e03f
    0e00000000000000000000000000f03f0000000000000040000000000000f03f
    000000000000084000000000000000000000000000000040000000000000f03f
    0000000000000040000000000000f03f00000000000010400000000000000000
    0000000000000040000000000000f03fa35c63be280a0540aa6b0f3d
    """

    static let sobolGolden = """
    4d4c535301000200010000000000000002000000000000000100000000000000
    080000000000000002000000000000001000000000000000000000000000f83f
    0000000000001040000000000000e03f00000000000000400000000000001240
    000000000000e03f000000000000e0bf000000000000f0bf0000000000000040
    0000000000000c400000000000000000000000000000e03f0000000000001a40
    000000000000e03f0000000000000000000000000000e0bf6bf1bd46
    """

    static let covarianceGolden = """
    4d4c535301000300010000000000000002000000000000000400000000000000
    0800000000000000000000000000f03f000000000000f03f0000000000000840
    0000000000000000000000000000004000000000000000400000000000001840
    0000000000000000470b96cd
    """

    func testGoldenBytes() {
        let f = Self.tinyField().encoded(), s = Self.tinySobol().encoded(), c = Self.tinyCovariance().encoded()
        XCTAssertEqual(hex(f), hex(bytes(hex: Self.fieldGolden)), "field: \(hex(f))")
        XCTAssertEqual(hex(s), hex(bytes(hex: Self.sobolGolden)), "sobol: \(hex(s))")
        XCTAssertEqual(hex(c), hex(bytes(hex: Self.covarianceGolden)), "covariance: \(hex(c))")
    }

    // MARK: Round trips

    func testRoundTripsAreByteIdenticalAndExtractIdentically() throws {
        let scenario = Scenario(seed: 4)
        let sel = StatisticsSelection(mean: true, variance: true, skewness: true, kurtosis: true, minimum: true,
                                      maximum: true, thresholds: [6, 7], quantileLevels: [0.1, 0.5], expectedSamples: 40)
        for selection in [sel, StatisticsSelection(), StatisticsSelection(mean: false, variance: false, thresholds: [-1])] {
            let f = scenario.fold(selection)
            let bytes = f.encoded()
            let g = try FieldStatistics(decoding: bytes)
            XCTAssertEqual(g.encoded(), bytes)
            XCTAssertEqual(g.selection, f.selection)
            XCTAssertEqual(g.nbTimeSteps, f.nbTimeSteps)
            XCTAssertEqual(g.blockSize, f.blockSize)
            XCTAssertEqual(g.stateBytes, f.stateBytes)
            for step in 0 ..< f.nbTimeSteps {
                for s in f.available { XCTAssertTrue(sameBits(f.extract(s, step: step), g.extract(s, step: step)), "\(s)") }
            }
            // A decoded state keeps folding exactly like the original.
            var a = f, b = g
            for m in scenario.messages.prefix(20) {
                m.values.withUnsafeBufferPointer {
                    a.update(step: m.step, localOffset: m.offset, values: $0)
                    b.update(step: m.step, localOffset: m.offset, values: $0)
                }
            }
            XCTAssertEqual(a.encoded(), b.encoded())
        }

        var sobol = SobolMartinez(nbParameters: 3, nbTimeSteps: 3, blockSize: 7)
        var rng = TestRNG(seed: 1)
        for g in 0 ..< 9 {
            sobol.fold(step: g % 2, pickFreeze(p: 3, cells: 7, &rng, perCellInputs: true) { c, x in x[0] + 2 * x[1] * x[2] + Double(c) })
        }
        let sb = sobol.encoded()
        let sobol2 = try SobolMartinez(decoding: sb)
        XCTAssertEqual(sobol2.encoded(), sb)
        for step in 0 ..< 3 {
            XCTAssertEqual(sobol2.count(step: step), sobol.count(step: step))
            for k in 0 ..< 3 {
                XCTAssertTrue(sameBits(sobol2.first(k, step: step), sobol.first(k, step: step)))
                XCTAssertTrue(sameBits(sobol2.total(k, step: step), sobol.total(k, step: step)))
            }
        }
        XCTAssertEqual(sobol2.widestInterval(), sobol.widestInterval())

        let cov = Self.tinyCovariance()
        let cb = cov.encoded()
        let cov2 = try CovarianceStatistics(decoding: cb)
        XCTAssertEqual(cov2.encoded(), cb)
        XCTAssertEqual(cov2.stateBytes, cov.stateBytes)

        // Empty states round-trip too.
        let empty = FieldStatistics(selection: sel, nbTimeSteps: 0, blockSize: 5)
        XCTAssertEqual(try FieldStatistics(decoding: empty.encoded()).encoded(), empty.encoded())
    }

    // MARK: Corruption

    /// Every decoder against every corruption of its golden encoding.
    let decoders: [(name: String, bytes: [UInt8], decode: ([UInt8]) throws(StatisticsStateError) -> Void)] = [
        ("field", bytes(hex: StateEncodingTests.fieldGolden), { b throws(StatisticsStateError) in _ = try FieldStatistics(decoding: b) }),
        ("sobol", bytes(hex: StateEncodingTests.sobolGolden), { b throws(StatisticsStateError) in _ = try SobolMartinez(decoding: b) }),
        ("covariance", bytes(hex: StateEncodingTests.covarianceGolden),
         { b throws(StatisticsStateError) in _ = try CovarianceStatistics(decoding: b) }),
    ]

    func decodeError(_ decode: ([UInt8]) throws(StatisticsStateError) -> Void, _ b: [UInt8]) -> StatisticsStateError? {
        do { try decode(b) } catch { return error }
        return nil
    }

    func testGoldenEncodingsDecode() {
        for d in decoders { XCTAssertNil(decodeError(d.decode, d.bytes), d.name) }
    }

    func testEveryTruncationIsReportedAsTruncated() {
        for d in decoders {
            for length in 0 ..< d.bytes.count {
                let err = decodeError(d.decode, Array(d.bytes.prefix(length)))
                guard case let .truncated(needed, available)? = err else {
                    XCTFail("\(d.name) cut to \(length) bytes: \(String(describing: err))"); continue
                }
                XCTAssertEqual(available, length)
                XCTAssertGreaterThan(needed, length)
                XCTAssertLessThanOrEqual(needed, d.bytes.count)
            }
        }
    }

    func testEveryFlippedByteIsRefused() {
        for d in decoders {
            let payloadStart = d.bytes.count - 4 - 8 * (d.name == "covariance" ? 8 : d.name == "field" ? 14 : 16)
            for i in 0 ..< d.bytes.count {
                for mask: UInt8 in [0x01, 0x80, 0xFF] {
                    var b = d.bytes
                    b[i] ^= mask
                    let err = decodeError(d.decode, b)
                    XCTAssertNotNil(err, "\(d.name) byte \(i) ^ \(mask) accepted")
                    if i < 4 {
                        guard case .badMagic? = err else { XCTFail("\(d.name) byte \(i): \(String(describing: err))"); continue }
                    } else if i < 6 {
                        guard case .unsupportedVersion? = err else { XCTFail("\(d.name) byte \(i): \(String(describing: err))"); continue }
                    } else if i < 8 {
                        guard case .wrongKind? = err else { XCTFail("\(d.name) byte \(i): \(String(describing: err))"); continue }
                    } else if i >= payloadStart {
                        // Payload and the CRC itself: only the checksum can tell.
                        guard case .checksumMismatch? = err else { XCTFail("\(d.name) byte \(i): \(String(describing: err))"); continue }
                    }
                }
            }
        }
    }

    func testSpecificErrorsCarryTheOffendingNumbers() {
        let good = bytes(hex: Self.fieldGolden)
        func fieldError(_ b: [UInt8]) -> StatisticsStateError? {
            decodeError({ b throws(StatisticsStateError) in _ = try FieldStatistics(decoding: b) }, b)
        }

        var b = good
        b[0] = UInt8(ascii: "X")
        XCTAssertEqual(fieldError(b), .badMagic(found: 0x5353_4c58))
        XCTAssertTrue(fieldError(b)!.description.contains("0x53534c58"), fieldError(b)!.description)

        b = good
        b[4] = 2
        XCTAssertEqual(fieldError(b), .unsupportedVersion(found: 2, supported: 1))
        XCTAssertEqual(fieldError(b)?.description, "statistics state format version 2 is not supported (this build reads version 1)")

        XCTAssertEqual(decodeError({ b throws(StatisticsStateError) in _ = try FieldStatistics(decoding: b) },
                                   bytes(hex: Self.sobolGolden)), .wrongKind(expected: 1, found: 2))
        XCTAssertEqual(decodeError({ b throws(StatisticsStateError) in _ = try SobolMartinez(decoding: b) },
                                   bytes(hex: Self.covarianceGolden)), .wrongKind(expected: 2, found: 3))

        b = good
        b[good.count - 10] ^= 0x10
        guard case let .checksumMismatch(stored, computed)? = fieldError(b) else { return XCTFail() }
        XCTAssertEqual(stored, 0x3d0f_6baa)
        XCTAssertEqual(computed, referenceCRC32(b[0 ..< b.count - 4]))
        XCTAssertTrue(fieldError(b)!.description.contains("3d0f6baa"))

        XCTAssertEqual(fieldError(good + [0]), .inconsistentSizes(what: "input length in bytes", declared: 189, expected: 188))
        XCTAssertEqual(fieldError(Array(good.prefix(100))), .truncated(needed: 188, available: 100))
        XCTAssertEqual(fieldError(Array(good.prefix(30))), .truncated(needed: 32, available: 30))
        XCTAssertEqual(fieldError([]), .truncated(needed: 4, available: 0))
        XCTAssertEqual(fieldError([]).map(String.init(describing:)), "statistics state truncated: needs 4 bytes, only 0 available")

        // nbTimeSteps = 2^40 + 1: the declared payload no longer matches the dimensions; nothing is allocated.
        b = good
        b[8 + 5] = 1
        XCTAssertEqual(fieldError(b), .inconsistentSizes(what: "payload length in doubles", declared: 14, expected: ((1 << 40) + 1) * 2 * 7))
        // Dimensions whose product overflows.
        b = good
        for i in 8 ..< 24 { b[i] = 0xFF }
        b[15] = 0x7F; b[23] = 0x7F
        guard case .inconsistentSizes? = fieldError(b) else { return XCTFail(String(describing: fieldError(b))) }
        // A threshold count the input cannot hold.
        b = good
        b[28] = 0xFF; b[29] = 0xFF
        guard case .truncated? = fieldError(b) else { return XCTFail(String(describing: fieldError(b))) }
        // Wrong plane count.
        b = good
        b[36] = 8
        XCTAssertEqual(fieldError(b), .inconsistentSizes(what: "planes (doubles per cell)", declared: 8, expected: 7))

        // Intact bytes (valid CRC) with impossible values.
        b = good
        b[24] |= 0x40
        XCTAssertEqual(fieldError(resealed(b)), .invalidValue(what: "selection flags", value: Double(0x73)))
        b = good
        for (i, byte) in (1.5).bitPattern.littleEndianBytes.enumerated() { b[56 + i] = byte }  // level 0.5 -> 1.5
        XCTAssertEqual(fieldError(resealed(b)), .invalidValue(what: "quantile level", value: 1.5))
        var s = bytes(hex: Self.sobolGolden)
        s[36] = 1
        XCTAssertEqual(decodeError({ b throws(StatisticsStateError) in _ = try SobolMartinez(decoding: b) }, resealed(s)),
                       .invalidValue(what: "reserved field", value: 1))
    }

    func testCRC32IsTheStandardOne() {
        let check = Array("123456789".utf8)
        XCTAssertEqual(check.withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
        var rng = TestRNG(seed: 6)
        for length in [0, 1, 7, 8, 9, 63, 64, 1000] {
            let data = (0 ..< length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertEqual(data.withUnsafeBytes { CRC32.checksum($0) }, referenceCRC32(data[...]), "length \(length)")
        }
    }
}

extension UInt64 {
    var littleEndianBytes: [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}
