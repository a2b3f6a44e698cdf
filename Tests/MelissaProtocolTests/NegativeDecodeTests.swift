import XCTest
@testable import MelissaProtocol

/// What every decoder does with malformed input: a typed `ProtocolError`, never a crash.
final class NegativeDecodeTests: XCTestCase {

    private func run(_ golden: Golden, _ bytes: [UInt8]) -> Result<Void, ProtocolError> {
        decoding(bytes, with: golden.decode)
    }

    private func error(_ golden: Golden, _ bytes: [UInt8],
                       file: StaticString = #filePath, line: UInt = #line) -> ProtocolError? {
        decodeError(bytes, with: golden.decode, file: file, line: line)
    }

    // MARK: The hand-written goldens are themselves valid

    func testGoldensDecode() {
        XCTAssertEqual(goldens.count, 22, "one golden per message type and case")
        for golden in goldens {
            if case .failure(let e) = run(golden, golden.bytes) { XCTFail("\(golden.name): \(e)") }
        }
    }

    // MARK: Truncation

    func testEveryTruncationThrowsTruncated() {
        for golden in goldens {
            for length in 0..<golden.bytes.count {
                let prefix = Array(golden.bytes.prefix(length))
                switch error(golden, prefix) {
                case let .truncated(message, needed, available)?:
                    XCTAssertEqual(message, golden.messageName, "\(golden.name) cut at \(length)")
                    XCTAssertEqual(available, length, "\(golden.name) cut at \(length)")
                    XCTAssertGreaterThan(needed, length, "\(golden.name) cut at \(length)")
                case .badMagic? where length < 8:
                    break
                case let other:
                    XCTFail("\(golden.name) cut at \(length): expected .truncated, got \(String(describing: other))")
                }
            }
        }
    }

    func testEmptyBufferWithoutBaseAddress() {
        for golden in goldens {
            let result: Result<Void, ProtocolError>
            do throws(ProtocolError) {
                try golden.decode(UnsafeRawBufferPointer(start: nil, count: 0))
                result = .success(())
            } catch {
                result = .failure(error)
            }
            guard case .failure(.truncated(_, 8, 0)) = result else {
                return XCTFail("\(golden.name): \(result)")
            }
        }
    }

    // MARK: Trailing bytes

    func testTrailingByteThrowsTrailingBytes() {
        for golden in goldens {
            for extra: [UInt8] in [[0x00], [0xFF], [0x01, 0x02, 0x03]] {
                XCTAssertEqual(error(golden, golden.bytes + extra),
                               .trailingBytes(message: golden.messageName, count: extra.count), golden.name)
            }
        }
        // A data message with a ninth payload byte, and with one extra value.
        let data = goldens.first { $0.name == "DataHeader" }!
        XCTAssertEqual(error(data, data.bytes + [UInt8](repeating: 0, count: 8)),
                       .trailingBytes(message: "data message", count: 8))
    }

    // MARK: Magic

    func testBadMagic() {
        let expected: [String: String] = [
            "handshake request": "MLSH", "handshake reply": "MLSH", "data message": "MLSD",
            "control message": "MLSC", "internal message": "MLSI",
        ]
        for golden in goldens {
            for index in 0..<4 {
                var bytes = golden.bytes
                bytes[index] ^= 0x20        // "MLSC" -> "mLSC" etc.
                XCTAssertEqual(error(golden, bytes),
                               .badMagic(expected: expected[golden.messageName]!, got: Array(bytes[0..<4])),
                               "\(golden.name) byte \(index)")
            }
        }
    }

    func testMagicWordIsTheLittleEndianReadingOfItsBytes() {
        for magic in [Magic.handshake, .data, .control, .internalRank] {
            let fromBytes = magic.bytes.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            XCTAssertEqual(magic.word, fromBytes, magic.text)
        }
    }

    func testMessagesOfAnotherChannelAreBadMagic() {
        for golden in goldens {
            for other in goldens where other.messageName != golden.messageName {
                let sameMagic = other.bytes[0..<4] == golden.bytes[0..<4]
                guard !sameMagic else { continue }       // handshake request / reply share MLSH
                guard case .badMagic? = error(golden, other.bytes) else {
                    return XCTFail("\(other.name) fed to the \(golden.messageName) decoder")
                }
            }
        }
    }

    func testBadMagicDescriptionShowsTheBytes() {
        let e = ProtocolError.badMagic(expected: "MLSC", got: [0x47, 0x45, 0x54, 0x20])
        XCTAssertTrue(e.description.contains("MLSC"), e.description)
        XCTAssertTrue(e.description.contains("47 45 54 20"), e.description)
    }

    // MARK: Version

    func testOtherVersionsThrowVersionMismatch() {
        for golden in goldens {
            // Control, internal and handshake are at version 3, data at 1: each refuses the others'.
            let ours = channelVersion(golden)
            let other: UInt16 = ours == 1 ? 2 : ours - 1
            for theirs: UInt16 in [other, 0, 256, 0xFFFF] {
                var message = golden.bytes
                message[4] = UInt8(theirs & 0xFF)
                message[5] = UInt8(theirs >> 8)
                XCTAssertEqual(error(golden, message), .versionMismatch(ours: ours, theirs: theirs), golden.name)
            }
        }
    }

    func testVersionMismatchWinsOverEverythingAfterTheVersion() {
        // A peer of the next version may use other kinds and other layouts: the version is checked first.
        for golden in goldens {
            let ours = channelVersion(golden)
            let next = ours + 1
            let future = Array(golden.bytes[0..<4]) + le(next) + hex("ffff") + [0xAB]
            XCTAssertEqual(error(golden, future), .versionMismatch(ours: ours, theirs: next), golden.name)
            let futureHeaderOnly = Array(golden.bytes[0..<4]) + le(next) + hex("0100")
            XCTAssertEqual(error(golden, futureHeaderOnly), .versionMismatch(ours: ours, theirs: next), golden.name)
        }
    }

    /// The version a golden's channel speaks, written out (not read from `Magic`).
    private func channelVersion(_ golden: Golden) -> UInt16 {
        golden.name.hasPrefix("Control.") || golden.name.hasPrefix("Internal.") || golden.name.hasPrefix("Handshake") ? 3 : 1
    }

    func testVersionMismatchDescriptionNamesBothVersions() {
        let request = hex("4d4c5348 0100 0100 04030201 02000000")
        guard let e = decodeError(request, with: HandshakeRequest.decode) else { return }
        XCTAssertEqual(e, .versionMismatch(ours: 3, theirs: 1))
        XCTAssertEqual(e.description,
                       "protocol version mismatch: peer speaks version 1, this side speaks version 3")
        XCTAssertTrue(e.description.contains("version 3"))
        XCTAssertTrue(e.description.contains("version 1"))
        XCTAssertEqual(ProtocolError.versionMismatch(ours: 1, theirs: 300).description,
                       "protocol version mismatch: peer speaks version 300, this side speaks version 1")
    }

    // MARK: Kinds

    func testUnknownKinds() {
        func check(_ magicVersion: String, _ kinds: [UInt16], _ channel: String,
                   _ decode: (UnsafeRawBufferPointer) throws(ProtocolError) -> some Any,
                   tail: [UInt8] = [], line: UInt = #line) {
            for kind in kinds {
                XCTAssertEqual(decodeError(hex(magicVersion) + le(kind) + tail, with: decode, line: line),
                               .unknownKind(channel: channel, kind: kind), "kind \(kind)", line: line)
            }
        }
        // A request decoder takes only kind 1; a reply decoder only 2 (reply) and 3 (refusal).
        check("4d4c5348 0300", [0, 2, 3, 4, 0xFFFF], "handshake request", HandshakeRequest.decode,
              tail: hex("04030201 02000000"))
        check("4d4c5348 0300", [0, 1, 4, 0x0100, 0xFFFF], "handshake reply", HandshakeReply.decode,
              tail: hex("04030201 02000000"))
        check("4d4c5344 0100", [0, 2, 0x0100, 0xFFFF], "data", DataHeader.decode,
              tail: [UInt8](repeating: 0, count: 40))
        check("4d4c5343 0300", [0, 13, 14, 0x0100, 0xFFFF], "control", ControlMessage.decode)
        check("4d4c5349 0300", [0, 11, 0x0100, 0xFFFF], "internal", InternalMessage.decode)
    }

    func testUnknownJobState() {
        for code: UInt8 in [4, 5, 0x80, 0xFF] {
            let bytes = hex("4d4c5343 0300 0400 10000000") + [code] + hex("00000000 0000")
            XCTAssertEqual(decodeError(bytes, with: ControlMessage.decode),
                           .invalidValue(what: "job state", detail: "code \(code)"))
        }
    }

    // MARK: Counts and lengths

    func testDataCountLimit() {
        let head = hex("4d4c5344 0100 0100 05000000 03000000 01000000 02000000")
        func message(global: UInt64, offset: UInt64, count: UInt64) -> [UInt8] {
            head + le(global) + le(offset) + le(count)
        }
        let limit = Limits.maxValuesPerMessage
        XCTAssertEqual(limit, 1 << 27)
        for count in [limit + 1, limit * 2, UInt64(1) << 61, UInt64.max / 8 + 1, UInt64.max] {
            XCTAssertEqual(decodeError(message(global: .max, offset: 0, count: count), with: DataHeader.decode),
                           .oversized(what: "value count", value: count, limit: limit), "count \(count)")
        }
        // Exactly the limit is allowed, so without its 1 GiB payload the message is truncated.
        XCTAssertEqual(decodeError(message(global: .max, offset: 0, count: limit), with: DataHeader.decode),
                       .truncated(message: "data message", needed: 48 + Int(limit) * 8, available: 48))
    }

    func testDataPayloadMustMatchCount() {
        let head = hex("4d4c5344 0100 0100 05000000 03000000 01000000 02000000 0a00000000000000 0000000000000000")
        // count 2 with 15, 16 and 17 payload bytes
        let two = head + le(UInt64(2))
        XCTAssertEqual(decodeError(two + [UInt8](repeating: 0, count: 15), with: DataHeader.decode),
                       .truncated(message: "data message", needed: 64, available: 63))
        XCTAssertEqual(decoding(two + [UInt8](repeating: 0, count: 16), with: DataHeader.decode).map(\.count),
                       .success(2))
        XCTAssertEqual(decodeError(two + [UInt8](repeating: 0, count: 17), with: DataHeader.decode),
                       .trailingBytes(message: "data message", count: 1))
        // count 0 with a stray value
        XCTAssertEqual(decodeError(head + le(UInt64(0)) + [UInt8](repeating: 0, count: 8), with: DataHeader.decode),
                       .trailingBytes(message: "data message", count: 8))
    }

    func testDataSliceMustLieInsideTheGlobalField() {
        let head = hex("4d4c5344 0100 0100 05000000 03000000 01000000 02000000")
        func decode(global: UInt64, offset: UInt64, count: UInt64) -> Result<DataHeader, ProtocolError> {
            let bytes = head + le(global) + le(offset) + le(count) + [UInt8](repeating: 0, count: Int(count) * 8)
            return decoding(bytes, with: DataHeader.decode)
        }
        func rejected(global: UInt64, offset: UInt64, count: UInt64, line: UInt = #line) {
            XCTAssertEqual(decode(global: global, offset: offset, count: count),
                           .failure(.invalidValue(what: "slice", detail:
                                "offset \(offset) + count \(count) exceeds global size \(global)")), line: line)
        }
        rejected(global: 10, offset: 8, count: 3)
        rejected(global: 10, offset: 11, count: 0)
        rejected(global: 10, offset: 10, count: 1)
        rejected(global: 0, offset: 0, count: 1)
        rejected(global: 0, offset: 1, count: 0)
        // offset + count would wrap around 2^64: still refused.
        rejected(global: .max, offset: .max, count: 1)
        rejected(global: .max - 1, offset: .max - 1, count: 2)
        // Accepted edges: the whole field, an empty slice at the end, an empty field.
        XCTAssertNoThrow(try decode(global: 10, offset: 0, count: 10).get())
        XCTAssertNoThrow(try decode(global: 10, offset: 8, count: 2).get())
        XCTAssertNoThrow(try decode(global: 10, offset: 10, count: 0).get())
        XCTAssertNoThrow(try decode(global: 0, offset: 0, count: 0).get())
        XCTAssertNoThrow(try decode(global: .max, offset: .max - 1, count: 1).get())
    }

    func testStringLengthLimit() {
        func stop(length: UInt16, present: Int) -> [UInt8] {
            hex("4d4c5343 0300 0700") + le(length) + [UInt8](repeating: 0x61, count: present)
        }
        XCTAssertEqual(Limits.maxString, 4096)
        XCTAssertNoThrow(try decoding(stop(length: 4096, present: 4096), with: ControlMessage.decode).get())
        for length: UInt16 in [4097, 8192, 0xFFFF] {
            // Refused from the length alone, whether or not the bytes are there.
            for present in [0, Int(length)] {
                XCTAssertEqual(decodeError(stop(length: length, present: present), with: ControlMessage.decode),
                               .oversized(what: "reason length", value: UInt64(length), limit: 4096))
            }
        }
        // Every string field of every message enforces the limit and names itself.
        let long = le(UInt16(4097)) + [UInt8](repeating: 0x61, count: 4097)
        let cases: [(String, [UInt8], (UnsafeRawBufferPointer) throws(ProtocolError) -> Void)] = [
            ("connection endpoint", hex("4d4c5343 0300 0100 03000000") + long, { b throws(ProtocolError) in _ = try ControlMessage.decode(b) }),
            ("script path", hex("4d4c5343 0300 0300 0100000000000000 0100000000000000 10000000 01000000 01000000") + long, { b throws(ProtocolError) in _ = try ControlMessage.decode(b) }),
            ("reason", hex("4d4c5343 0300 0400 10000000 03 f7ffffff") + long, { b throws(ProtocolError) in _ = try ControlMessage.decode(b) }),
            ("summary", hex("4d4c5343 0300 0800 01000000 07000000 02000000") + long, { b throws(ProtocolError) in _ = try ControlMessage.decode(b) }),
            ("field name", hex("4d4c5348 0300 0200 01000000 01000000 00000000 01000000 00000000 01000000") + long + hex("0000"), { b throws(ProtocolError) in _ = try HandshakeReply.decode(b) }),
            ("data endpoint", hex("4d4c5348 0300 0200 01000000 01000000 00000000 01000000 00000000 00000000") + long, { b throws(ProtocolError) in _ = try HandshakeReply.decode(b) }),
            ("refusal reason", hex("4d4c5348 0300 0300") + long, { b throws(ProtocolError) in _ = try HandshakeReply.decode(b) }),
        ]
        for (what, bytes, decode) in cases {
            XCTAssertEqual(decodeError(bytes, with: decode),
                           .oversized(what: "\(what) length", value: 4097, limit: 4096), what)
        }
    }

    func testFieldCountLimit() {
        func reply(fields: UInt32, names: Int) -> [UInt8] {
            var bytes = hex("4d4c5348 0300 0200 01000000 0a000000 00000000 01000000 00000000") + le(fields)
            for i in 0..<names { bytes += le(UInt16(1)) + [UInt8(0x41 + i % 26)] }
            return bytes + hex("0900 7463703a2f2f683a31")
        }
        XCTAssertEqual(Limits.maxFields, 1024)
        guard case .success(.accepted(let accepted)) = decoding(reply(fields: 1024, names: 1024),
                                                                with: HandshakeReply.decode) else {
            return XCTFail("1024 fields must be accepted")
        }
        XCTAssertEqual(accepted.fieldNames.count, 1024)
        for fields: UInt32 in [1025, 4096, .max] {
            XCTAssertEqual(decodeError(reply(fields: fields, names: 0), with: HandshakeReply.decode),
                           .oversized(what: "field count", value: UInt64(fields), limit: 1024))
        }
    }

    func testServerCommSizeLimits() {
        let tail = hex("0a000000 00000000 01000000 00000000 00000000")
        for m: UInt32 in [65_537, .max] {
            XCTAssertEqual(decodeError(hex("4d4c5348 0300 0200") + le(m) + tail, with: HandshakeReply.decode),
                           .oversized(what: "server comm size", value: UInt64(m), limit: 65_536))
        }
        // Zero server ranks is refused (the error case used is `.oversized`; see the report).
        switch decodeError(hex("4d4c5348 0300 0200 00000000") + tail, with: HandshakeReply.decode) {
        case .oversized?, .invalidValue?: break
        case let other: XCTFail("server comm size 0: \(String(describing: other))")
        }
        // The largest allowed size is believed only as far as the bytes go: no big allocation.
        XCTAssertEqual(decodeError(hex("4d4c5348 0300 0200 00000100") + tail, with: HandshakeReply.decode),
                       .truncated(message: "handshake reply", needed: 34, available: 32))
    }

    func testJobMemberCount() {
        let head = hex("4d4c5343 0300 0300 0100000000000000 0100000000000000 10000000")
        for n: UInt32 in [0, 65_537, 1 << 20, .max] {
            XCTAssertEqual(decodeError(head + le(n) + hex("01000000 0100 78"), with: ControlMessage.decode),
                           .invalidValue(what: "job member count", detail: "\(n) not in 1...65536"), "n = \(n)")
        }
        // 65536 members is the limit: believed only as far as the bytes go.
        XCTAssertEqual(decodeError(head + le(UInt32(65_536)) + hex("01000000 0100 78"), with: ControlMessage.decode),
                       .truncated(message: "control message", needed: 43, available: 39))
        // One member fewer or more than announced.
        XCTAssertEqual(decodeError(head + le(UInt32(2)) + hex("01000000 0100 78"), with: ControlMessage.decode),
                       .truncated(message: "control message", needed: 43, available: 39))
        XCTAssertEqual(decodeError(head + le(UInt32(1)) + hex("01000000 0100 78 02000000 0100 79"),
                                   with: ControlMessage.decode),
                       .trailingBytes(message: "control message", count: 7))
    }

    // MARK: UTF-8

    func testInvalidUTF8InEveryStringField() {
        let invalid: [[UInt8]] = [
            [0xFF],                    // never valid
            [0x80],                    // lone continuation byte
            [0x61, 0xC3],              // sequence cut at the end of the string
            [0xC3, 0x28],              // bad continuation
            [0xC0, 0xAF],              // overlong "/"
            [0xED, 0xA0, 0x80],        // UTF-16 surrogate U+D800
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        ]
        typealias Decode = (UnsafeRawBufferPointer) throws(ProtocolError) -> Void
        let control: Decode = { b throws(ProtocolError) in _ = try ControlMessage.decode(b) }
        let reply: Decode = { b throws(ProtocolError) in _ = try HandshakeReply.decode(b) }
        for s in invalid {
            let str = le(UInt16(s.count)) + s
            let cases: [(String, [UInt8], Decode)] = [
                ("connection endpoint", hex("4d4c5343 0300 0100 03000000") + str, control),
                ("script path", hex("4d4c5343 0300 0300 0100000000000000 0100000000000000 10000000 01000000 01000000") + str, control),
                ("reason", hex("4d4c5343 0300 0400 10000000 03 f7ffffff") + str, control),
                ("reason", hex("4d4c5343 0300 0700") + str, control),
                ("summary", hex("4d4c5343 0300 0800 01000000 07000000 02000000") + str, control),
                ("field name", hex("4d4c5348 0300 0200 01000000 01000000 00000000 01000000 00000000 01000000") + str
                    + hex("0900 7463703a2f2f683a31"), reply),
                ("data endpoint", hex("4d4c5348 0300 0200 01000000 01000000 00000000 01000000 00000000 00000000") + str, reply),
                ("refusal reason", hex("4d4c5348 0300 0300") + str, reply),
            ]
            for (what, bytes, decode) in cases {
                XCTAssertEqual(decodeError(bytes, with: decode), .invalidUTF8(what: what), "\(what) \(s)")
            }
        }
    }

    // MARK: peekVersion

    func testPeekVersion() {
        func peek(_ bytes: [UInt8], misalign: Int = 0) -> UInt16? {
            withExactBuffer(bytes, misalign: misalign) { HandshakeRequest.peekVersion($0) }
        }
        XCTAssertEqual(peek(hex("4d4c5348 0100 0100 04030201 02000000")), 1)
        XCTAssertEqual(peek(hex("4d4c5348 0300 0100 04030201 02000000")), 3)
        XCTAssertEqual(peek(hex("4d4c5348 0302 0900")), 0x0203, "little-endian")
        XCTAssertEqual(peek(hex("4d4c5348 ffff"), misalign: 1), 0xFFFF, "exactly 6 bytes, unaligned")
        XCTAssertEqual(peek(hex("4d4c5348 0100 0300 0400 62757379")), 1, "a refusal has the handshake magic too")
        XCTAssertNil(peek([]))
        XCTAssertNil(HandshakeRequest.peekVersion(UnsafeRawBufferPointer(start: nil, count: 0)))
        XCTAssertNil(peek(hex("4d4c5348")))
        XCTAssertNil(peek(hex("4d4c5348 02")), "5 bytes: no complete version")
        XCTAssertNil(peek(hex("4d4c5344 0100 0100")), "data magic")
        XCTAssertNil(peek(hex("4d4c5343 0300 0500")), "control magic")
        XCTAssertNil(peek(hex("6d4c5348 0100 0100 04030201 02000000")), "lower-case magic")
        // Every prefix of a valid request: nil below 6 bytes, 1 from 6 bytes on.
        let request = hex("4d4c5348 0100 0100 04030201 02000000")
        for length in 0...request.count {
            XCTAssertEqual(peek(Array(request.prefix(length))), length >= 6 ? 1 : nil, "length \(length)")
        }
    }

    func testPeekVersionLetsTheServerNameAVersionItCannotDecode() {
        // A future client's request may have another layout; the server still learns its version.
        let future = hex("4d4c5348 0400 0100 04030201 02000000 deadbeef")
        let version = withExactBuffer(future) { HandshakeRequest.peekVersion($0) }
        XCTAssertEqual(version, 4)
        XCTAssertEqual(decodeError(future, with: HandshakeRequest.decode), .versionMismatch(ours: 3, theirs: 4))
    }

    // MARK: Alignment

    func testDecodersWorkOnUnalignedBuffers() {
        for golden in goldens {
            for misalign in 1..<8 {
                if case .failure(let e) = decoding(golden.bytes, misalign: misalign, with: golden.decode) {
                    XCTFail("\(golden.name) at +\(misalign): \(e)")
                }
            }
        }
    }
}
