import XCTest
@testable import MelissaProtocol

/// Random and mutated buffers through every decoder: each one throws or returns, never
/// crashes, and whatever a decoder accepts re-encodes to exactly the same bytes.
final class FuzzTests: XCTestCase {

    private static let magics: [[UInt8]] = [hex("4d4c5348"), hex("4d4c5344"), hex("4d4c5343"), hex("4d4c5349")]

    /// A buffer shaped like one of: pure noise; valid magic + its channel's version + small kind + noise;
    /// a golden message with a few bytes changed, cut, or extended.
    private func randomBuffer(_ rng: inout SplitMix64) -> [UInt8] {
        func noise(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1:
            return noise(Int.random(in: 0...96, using: &rng))
        case 2, 3, 4:
            // The channel's own version, so decoders get past the header and go deep.
            let channel = [Magic.handshake, .data, .control, .internalRank].randomElement(using: &rng)!
            var bytes = channel.bytes
            bytes += Bool.random(using: &rng) ? le(channel.version) : noise(2)
            bytes += le(UInt16.random(in: 0...9, using: &rng))
            // Mostly small integers, so counts and lengths stay plausible and decoders go deep.
            for _ in 0..<Int.random(in: 0...24, using: &rng) {
                bytes.append(Bool.random(using: &rng) ? UInt8.random(in: 0...3, using: &rng)
                                                      : UInt8.random(in: 0...255, using: &rng))
            }
            return bytes
        default:
            var bytes = goldens.randomElement(using: &rng)!.bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty:
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1 where !bytes.isEmpty:
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 2:
                    bytes.removeLast(Int.random(in: 0...min(4, bytes.count), using: &rng))
                default:
                    bytes += noise(Int.random(in: 1...4, using: &rng))
                }
            }
            return bytes
        }
    }

    /// Decodes `bytes` with every decoder; checks that any accepted message is canonical.
    private func exercise(_ bytes: [UInt8], misalign: Int) -> Int {
        var accepted = 0
        if case .success(let m) = decoding(bytes, misalign: misalign, with: HandshakeRequest.decode) {
            accepted += 1
            XCTAssertEqual(m.encode(), bytes, "HandshakeRequest re-encode")
        }
        if case .success(let outcome) = decoding(bytes, misalign: misalign, with: HandshakeReply.decode) {
            accepted += 1
            switch outcome {
            case .accepted(let reply): XCTAssertEqual(reply.encode(), bytes, "HandshakeReply re-encode")
            case .refused(let refusal): XCTAssertEqual(refusal.encode(), bytes, "HandshakeRefusal re-encode")
            }
        }
        if case .success(let h) = decoding(bytes, misalign: misalign, with: DataHeader.decode) {
            accepted += 1
            XCTAssertEqual(UInt64(bytes.count), 48 + h.count * 8)
            XCTAssertLessThanOrEqual(h.offset + h.count, h.globalSize)
            var header = [UInt8](repeating: 0, count: 48)
            header.withUnsafeMutableBytes { h.write(to: $0.baseAddress!) }
            XCTAssertEqual(header, Array(bytes.prefix(48)), "DataHeader re-encode")
        }
        if case .success(let m) = decoding(bytes, misalign: misalign, with: ControlMessage.decode) {
            accepted += 1
            XCTAssertEqual(m.encode(), bytes, "ControlMessage re-encode")
        }
        if case .success(let m) = decoding(bytes, misalign: misalign, with: InternalMessage.decode) {
            accepted += 1
            XCTAssertEqual(m.encode(), bytes, "InternalMessage re-encode")
        }
        let peeked = withExactBuffer(bytes, misalign: misalign) { HandshakeRequest.peekVersion($0) }
        if bytes.count >= 6, bytes.prefix(4).elementsEqual(Self.magics[0]) {
            XCTAssertEqual(peeked, UInt16(bytes[4]) | UInt16(bytes[5]) << 8)
        } else {
            XCTAssertNil(peeked)
        }
        XCTAssertLessThanOrEqual(accepted, 1, "two channels accepted the same bytes")
        return accepted
    }

    func testRandomBuffersNeverCrash() {
        var rng = SplitMix64(seed: 0x4D45_4C49_5353_4131)
        var accepted = 0
        let iterations = 5000
        for i in 0..<iterations {
            accepted += exercise(randomBuffer(&rng), misalign: i % 8)
        }
        // The mutated goldens must keep some inputs valid, or the fuzz only scratches the header.
        XCTAssertGreaterThan(accepted, iterations / 50, "too few accepted inputs: \(accepted)")
    }

    func testErrorsCarryDescriptions() {
        // Every error a decoder throws on the fuzz corpus prints a non-empty description.
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let bytes = randomBuffer(&rng)
            for decoder in allDecoders {
                if case .failure(let e) = decoding(bytes, with: decoder.run) {
                    XCTAssertFalse(e.description.isEmpty, decoder.name)
                }
            }
        }
    }

    func testRandomMessagesRoundTrip() {
        var rng = SplitMix64(seed: 42)
        func text() -> String {
            let alphabet: [String] = ["a", "Z", "/", ":", " ", "\u{0}", "\u{E9}", "\u{20AC}", "\u{1F600}"]
            return (0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
        }
        func u32() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &rng) }
        for _ in 0..<500 {
            let control: [ControlMessage] = [
                .hello(serverCommSize: u32(), connectionEndpoint: text(), session: rng.next()), .welcome(session: rng.next()),
                .jobRequest(session: rng.next(), request: rng.next(), groupID: u32(), members: (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                    JobMember(simulationID: u32(), script: text())
                }),
                .jobState(groupID: u32(), state: JobState.allCases.randomElement(using: &rng)!,
                          exitCode: Int32(bitPattern: u32()), reason: text()),
                .ping,
                .progress(finished: u32(), failed: u32(), total: u32(), bytesReceived: rng.next()),
                .stop(reason: text()),
                .studyEnd(exitCode: Int32(bitPattern: u32()), finished: u32(), failed: u32(), summary: text()),
                .cancelJob(session: rng.next(), request: rng.next(), groupID: u32(), reason: text()),
                .requestDone(session: rng.next(), request: rng.next(),
                             outcome: [RequestOutcome.accepted, .duplicate, .ignored].randomElement(using: &rng)!,
                             detail: text()),
                .pong,
            ]
            for m in control {
                XCTAssertEqual(decoding(m.encode(), with: ControlMessage.decode), .success(m))
            }
            let internalMessages: [InternalMessage] = [.simulationComplete(rank: u32(), simulationID: u32()),
                                                       .simulationAbandoned(simulationID: u32()), .stop,
                                                       .simulationStalled(rank: u32(), simulationID: u32()),
                                                       .groupRedrawn(groupID: u32(), draw: u32(), simulations: (0..<Int(u32() % 4)).map { _ in u32() }),
                                                       .checkpoint(sequence: UInt64(u32()) << 32 | UInt64(u32()),
                                                                   thenStop: u32() & 1 == 1)]
            for m in internalMessages {
                XCTAssertEqual(decoding(m.encode(), with: InternalMessage.decode), .success(m))
            }
            let request = HandshakeRequest(simulationID: u32(), clientCommSize: u32())
            XCTAssertEqual(decoding(request.encode(), with: HandshakeRequest.decode), .success(request))
            let reply = HandshakeReply(nbTimeSteps: u32(), verbosity: u32(),
                                       fieldNames: (0..<Int.random(in: 0...4, using: &rng)).map { _ in text() },
                                       dataEndpoints: (0..<Int.random(in: 1...4, using: &rng)).map { _ in text() })
            XCTAssertEqual(decoding(reply.encode(), with: HandshakeReply.decode), .success(.accepted(reply)))
            let refusal = HandshakeRefusal(reason: text())
            XCTAssertEqual(decoding(refusal.encode(), with: HandshakeReply.decode), .success(.refused(refusal)))

            let global = UInt64.random(in: 0...1000, using: &rng)
            let offset = UInt64.random(in: 0...global, using: &rng)
            let count = UInt64.random(in: 0...min(global - offset, 20), using: &rng)
            let header = DataHeader(simulationID: u32(), timeStep: u32(), field: u32(), clientRank: u32(),
                                    globalSize: global, offset: offset, count: count)
            let values = (0..<count).map { _ in Double(bitPattern: rng.next()) }
            let bytes = header.encode(values: values)
            XCTAssertEqual(decoding(bytes, with: DataHeader.decode), .success(header))
            // The values follow the header as little-endian IEEE 754 bit patterns.
            for (i, v) in values.enumerated() {
                let start = 48 + 8 * i
                let bits = bytes[start..<(start + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                XCTAssertEqual(bits, v.bitPattern)
            }
        }
    }
}
