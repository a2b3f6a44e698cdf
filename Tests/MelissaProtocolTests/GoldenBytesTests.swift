import XCTest
@testable import MelissaProtocol

/// Every message type of every channel against bytes written by hand from docs/PROTOCOL.md.
/// The expectations never come from an encoder: a change to any layout fails here.
final class GoldenBytesTests: XCTestCase {

    // MARK: Handshake (magic "MLSH" = 4d 4c 53 48)

    func testHandshakeRequest() {
        let message = HandshakeRequest(simulationID: 0x0102_0304, clientCommSize: 2)
        let golden = hex("""
            4d4c5348 0300 0100          // magic MLSH, version 3, kind 1
            04030201                    // simulation id 0x01020304
            02000000                    // client comm size 2
            """)
        XCTAssertEqual(golden.count, 16)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: HandshakeRequest.decode), .success(message))
    }

    func testNextSimulationRequest() {
        let message = NextSimulationRequest(jobSimulationID: 7, previousSimulationID: 0x0102_0304)
        let golden = hex("""
            4d4c5348 0300 0400          // magic MLSH, version 3, kind 4
            07000000                    // the job's simulation id 7 (MELISSA_SIMU_ID)
            04030201                    // previous simulation 0x01020304
            """)
        XCTAssertEqual(golden.count, 16)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: NextSimulationRequest.decode), .success(message))
        let first = hex("4d4c5348 0300 0400 07000000 ffffffff")  // first call: no previous simulation
        XCTAssertEqual(NextSimulationRequest(jobSimulationID: 7).encode(), first)
    }

    func testNextSimulationReply() {
        let message = NextSimulationReply(simulationID: 9, parameters: [1.5, -2])
        let golden = hex("""
            4d4c5348 0300 0500          // magic MLSH, version 3, kind 5
            09000000                    // simulation 9
            02000000                    // 2 parameters
            000000000000f83f            // 1.5
            00000000000000c0            // -2.0
            """)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: NextSimulationReply.decode), .success(.next(message)))
        let finished = hex("4d4c5348 0300 0500 ffffffff 00000000")  // nothing left for the job
        XCTAssertEqual(NextSimulationReply.finished.encode(), finished)
        XCTAssertEqual(decoding(finished, with: NextSimulationReply.decode), .success(.next(.finished)))
    }

    func testHandshakeReply() {
        let message = HandshakeReply(nbTimeSteps: 100, verbosity: 2, dataMechanism: .plain, routing: .stepRoundRobin,
                                     fieldNames: ["T", "p\u{E9}"], dataEndpoints: ["tcp://h:1", "tcp://g:2"])
        let golden = hex("""
            4d4c5348 0300 0200          // magic MLSH, version 3, kind 2
            02000000                    // server comm size M = 2
            64000000                    // nbTimeSteps 100
            02000000                    // verbosity 2
            02000000                    // data mechanism 2 = PLAIN
            01000000                    // routing 1 = whole steps, round robin by step
            02000000                    // field count 2
            0100 54                     // "T"
            0300 70c3a9                 // "pé" (3 UTF-8 bytes)
            0900 7463703a2f2f683a31     // "tcp://h:1" (server rank 0)
            0900 7463703a2f2f673a32     // "tcp://g:2" (server rank 1)
            """)
        XCTAssertEqual(message.serverCommSize, 2)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: HandshakeReply.decode), .success(.accepted(message)))
    }

    func testHandshakeReplyWithoutFields() {
        let message = HandshakeReply(nbTimeSteps: 0xFFFF_FFFF, verbosity: 0, fieldNames: [],
                                     dataEndpoints: [""])
        let golden = hex("""
            4d4c5348 0300 0200
            01000000 ffffffff 00000000
            01000000                    // data mechanism 1 = CURVE (the default)
            00000000                    // routing 0 = cell blocks (the default)
            00000000
            0000                        // empty endpoint string
            """)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: HandshakeReply.decode), .success(.accepted(message)))
        // Any other mechanism is refused by name.
        var unknown = golden
        unknown[20] = 3
        guard case .failure(let error) = decoding(unknown, with: HandshakeReply.decode) else { return XCTFail("mechanism 3 accepted") }
        XCTAssertTrue("\(error)".contains("data mechanism"), "\(error)")
        // And any routing but 0, 1, 2.
        var badRouting = golden
        badRouting[24] = 3
        guard case .failure(let routingError) = decoding(badRouting, with: HandshakeReply.decode) else {
            return XCTFail("routing 3 accepted")
        }
        XCTAssertTrue("\(routingError)".contains("data routing"), "\(routingError)")
    }

    func testHandshakeRefusal() {
        let message = HandshakeRefusal(reason: "busy")
        let golden = hex("""
            4d4c5348 0300 0300          // magic MLSH, version 3, kind 3
            0400 62757379               // "busy"
            """)
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: HandshakeReply.decode), .success(.refused(message)))
    }

    // MARK: Data (magic "MLSD" = 4d 4c 53 44)

    func testDataMessage() {
        let header = DataHeader(simulationID: 5, timeStep: 3, field: 1, clientRank: 2,
                                globalSize: 10, offset: 4, count: 2)
        let golden = hex("""
            4d4c5344 0100 0100          // magic MLSD, version 1, kind 1
            05000000                    // simulation id 5
            03000000                    // time step 3
            01000000                    // field index 1
            02000000                    // client rank 2
            0a00000000000000            // global size 10
            0400000000000000            // offset 4
            0200000000000000            // count 2
            000000000000f03f            // 1.0
            00000000000004c0            // -2.5
            """)
        XCTAssertEqual(golden.count, DataHeader.size + 16)
        XCTAssertEqual(header.encode(values: [1.0, -2.5]), golden)
        XCTAssertEqual(decoding(golden, with: DataHeader.decode), .success(header))
    }

    func testDataMessageWideFieldsAndSpecialValues() {
        let header = DataHeader(simulationID: 0xDEAD_BEEF, timeStep: 65_536, field: 1023,
                                clientRank: 0x7FFF_FFFF, globalSize: 0x0102_0304_0506_0708,
                                offset: 0x0102_0304_0506_0705, count: 3)
        let nan = Double(bitPattern: 0x7FF8_0000_0000_0001)
        let golden = hex("""
            4d4c5344 0100 0100
            efbeadde                    // simulation id 0xDEADBEEF
            00000100                    // time step 65536
            ff030000                    // field index 1023
            ffffff7f                    // client rank 0x7FFFFFFF
            0807060504030201            // global size 0x0102030405060708
            0507060504030201            // offset 0x0102030405060705
            0300000000000000            // count 3 (slice ends exactly at the global size)
            0000000000000080            // -0.0
            000000000000f07f            // +infinity
            010000000000f87f            // NaN with payload 1 (bit pattern kept)
            """)
        XCTAssertEqual(header.encode(values: [-0.0, .infinity, nan]), golden)
        XCTAssertEqual(decoding(golden, with: DataHeader.decode), .success(header))
    }

    func testDataMessageEmptySlice() {
        let header = DataHeader(simulationID: 0, timeStep: 0, field: 0, clientRank: 0,
                                globalSize: 0, offset: 0, count: 0)
        let golden = hex("4d4c5344 0100 0100" + String(repeating: "00", count: 40))
        XCTAssertEqual(golden.count, 48)
        XCTAssertEqual(header.encode(values: []), golden)
        XCTAssertEqual(decoding(golden, with: DataHeader.decode), .success(header))
    }

    func testDataHeaderWriteTouchesExactly48Bytes() {
        let header = DataHeader(simulationID: 5, timeStep: 3, field: 1, clientRank: 2,
                                globalSize: 10, offset: 4, count: 2)
        let golden = hex("""
            4d4c5344 0100 0100 05000000 03000000 01000000 02000000
            0a00000000000000 0400000000000000 0200000000000000
            """)
        var buffer = [UInt8](repeating: 0xAA, count: 64)
        buffer.withUnsafeMutableBytes { header.write(to: $0.baseAddress!) }
        XCTAssertEqual(Array(buffer[0..<48]), golden)
        XCTAssertEqual(Array(buffer[48...]), [UInt8](repeating: 0xAA, count: 16))
    }

    // MARK: Control (magic "MLSC" = 4d 4c 53 43)

    private func assertControl(_ message: ControlMessage, _ golden: [UInt8],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(message.encode(), golden, "encode", file: file, line: line)
        XCTAssertEqual(decoding(golden, with: ControlMessage.decode), .success(message), "decode",
                       file: file, line: line)
        XCTAssertEqual(decoding(golden, misalign: 3, with: ControlMessage.decode), .success(message),
                       "decode from an unaligned buffer", file: file, line: line)
    }

    func testControlHello() {
        assertControl(.hello(serverCommSize: 3, connectionEndpoint: "tcp://s:9", session: 0x0102_0304_0506_0708), hex("""
            4d4c5343 0300 0100          // magic MLSC, control version 3, kind 1
            03000000                    // server comm size 3
            0900 7463703a2f2f733a39     // "tcp://s:9"
            0807060504030201            // session 0x0102030405060708
            """))
    }

    func testControlWelcome() {
        assertControl(.welcome(session: 0x0102_0304_0506_0708), hex("4d4c5343 0300 0200 0807060504030201"))
    }

    func testControlJobRequest() {
        assertControl(.jobRequest(session: 0x0102_0304_0506_0708, request: 5, groupID: 16,
                                  members: [JobMember(simulationID: 1, script: "/a.sh"),
                                            JobMember(simulationID: 256, script: "/b")]), hex("""
            4d4c5343 0300 0300
            0807060504030201            // session
            0500000000000000            // request 5
            10000000                    // group id 16
            02000000                    // member count 2
            01000000 0500 2f612e7368    // simulation 1, "/a.sh"
            00010000 0200 2f62          // simulation 256, "/b"
            """))
    }

    func testControlJobState() {
        assertControl(.jobState(groupID: 16, state: .failed, exitCode: -9, reason: "oom"), hex("""
            4d4c5343 0300 0400
            10000000                    // group id 16
            03                          // state 3 = failed
            f7ffffff                    // exit code -9
            0300 6f6f6d                 // "oom"
            """))
        let states: [(JobState, String)] = [(.waiting, "00"), (.running, "01"), (.terminated, "02"), (.failed, "03")]
        XCTAssertEqual(states.count, JobState.allCases.count)
        for (state, code) in states {
            assertControl(.jobState(groupID: 0x0A0B_0C0D, state: state, exitCode: 0, reason: ""),
                          hex("4d4c5343 0300 0400 0d0c0b0a \(code) 00000000 0000"))
        }
    }

    func testControlPing() {
        assertControl(.ping, hex("4d4c5343 0300 0500"))
        assertControl(.pong, hex("4d4c5343 0300 0b00"))
    }

    func testControlProgress() {
        assertControl(.progress(finished: 1, failed: 2, total: 300, bytesReceived: 0x0000_0001_0000_0002), hex("""
            4d4c5343 0300 0600
            01000000                    // finished 1
            02000000                    // failed 2
            2c010000                    // total 300
            0200000001000000            // bytes received 0x100000002
            """))
    }

    func testControlStop() {
        assertControl(.stop(reason: "SIGINT"), hex("4d4c5343 0300 0700 0600 534947494e54"))
    }

    func testControlStudyEnd() {
        assertControl(.studyEnd(exitCode: 1, finished: 7, failed: 2, summary: "ok"), hex("""
            4d4c5343 0300 0800
            01000000                    // exit code 1
            07000000                    // finished 7
            02000000                    // failed 2
            0200 6f6b                   // "ok"
            """))
    }

    func testControlTraining() {
        assertControl(.training(batch: 300, samples: 9600, trainLoss: 0.5, validLoss: 0.25), hex("""
            4d4c5343 0300 0c00          // kind 12
            2c01000000000000            // batch 300
            8025000000000000            // samples 9600
            000000000000e03f            // training loss 0.5
            01                          // a validation loss follows
            000000000000d03f            // validation loss 0.25
            """))
        assertControl(.training(batch: 1, samples: 2, trainLoss: 4, validLoss: nil), hex("""
            4d4c5343 0300 0c00
            0100000000000000 0200000000000000
            0000000000001040            // training loss 4
            00 0000000000000000         // no validation loss
            """))
        XCTAssertEqual(decoding(hex("4d4c5343 0300 0c00 0100000000000000 0200000000000000 0000000000001040 02 0000000000000000"),
                                with: ControlMessage.decode),
                       .failure(.invalidValue(what: "validation loss flag", detail: "2")))
    }

    func testControlKindCodes() {
        let kinds: [(ControlMessage, UInt16)] = [
            (.hello(serverCommSize: 1, connectionEndpoint: "", session: 1), 1), (.welcome(session: 1), 2),
            (.jobRequest(session: 1, request: 1, groupID: 0, members: [JobMember(simulationID: 0, script: "")]), 3),
            (.jobState(groupID: 0, state: .running, exitCode: 0, reason: ""), 4), (.ping, 5),
            (.progress(finished: 0, failed: 0, total: 0, bytesReceived: 0), 6), (.stop(reason: ""), 7),
            (.studyEnd(exitCode: 0, finished: 0, failed: 0, summary: ""), 8), (.cancelJob(session: 1, request: 1, groupID: 0, reason: ""), 9),
            (.requestDone(session: 1, request: 1, outcome: .accepted, detail: ""), 10), (.pong, 11),
            (.training(batch: 0, samples: 0, trainLoss: 0, validLoss: nil), 12),
        ]
        for (message, kind) in kinds {
            XCTAssertEqual(message.kind, kind)
            XCTAssertEqual(Array(message.encode()[6..<8]), le(kind))
        }
    }

    // MARK: Internal (magic "MLSI" = 4d 4c 53 49)

    func testInternalSimulationComplete() {
        let message = InternalMessage.simulationComplete(rank: 3, simulationID: 9)
        let golden = hex("4d4c5349 0300 0100 03000000 09000000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
    }

    func testInternalSimulationAbandoned() {
        let message = InternalMessage.simulationAbandoned(simulationID: 256)
        let golden = hex("4d4c5349 0300 0200 00010000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
    }

    func testInternalStop() {
        let golden = hex("4d4c5349 0300 0300")
        XCTAssertEqual(InternalMessage.stop.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(.stop))
    }

    func testInternalConverged() {
        let message = InternalMessage.converged(rank: 2, converged: true)
        let golden = hex("4d4c5349 0300 0400 02000000 01")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
        let notYet = hex("4d4c5349 0300 0400 02000000 00")
        XCTAssertEqual(decoding(notYet, with: InternalMessage.decode), .success(.converged(rank: 2, converged: false)))
        // Any flag byte other than 0 or 1 is malformed, not "true".
        guard case .failure(.invalidValue) = decoding(hex("4d4c5349 0300 0400 02000000 02"), with: InternalMessage.decode) else {
            return XCTFail("flag 2 must be refused")
        }
    }

    func testInternalSimulationStalled() {
        let message = InternalMessage.simulationStalled(rank: 1, simulationID: 0x0102)
        let golden = hex("4d4c5349 0300 0500 01000000 02010000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
    }

    func testInternalGroupRedrawn() {
        let message = InternalMessage.groupRedrawn(groupID: 7, draw: 2, simulations: [28, 0x0102])
        let golden = hex("4d4c5349 0300 0600 07000000 02000000 02000000 1c000000 02010000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
    }

    func testInternalCheckpoint() {
        let message = InternalMessage.checkpoint(sequence: 0x0102030405, thenStop: true)
        let golden = hex("4d4c5349 0300 0700 05040302 01000000 01")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
        guard case .failure(.invalidValue) = decoding(hex("4d4c5349 0300 0700 05040302 01000000 02"), with: InternalMessage.decode) else {
            return XCTFail("stop flag 2 must be refused")
        }
    }

    func testInternalHoldingsQuery() {
        let message = InternalMessage.holdingsQuery(round: 5, simulations: [2, 0x0102])
        let golden = hex("4d4c5349 0300 0800 05000000 02000000 02000000 02010000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
        let empty = hex("4d4c5349 0300 0800 05000000 00000000")
        XCTAssertEqual(decoding(empty, with: InternalMessage.decode), .success(.holdingsQuery(round: 5, simulations: [])))
        // A count beyond the limit is refused before anything is allocated.
        guard case .failure(.oversized) = decoding(hex("4d4c5349 0300 0800 05000000 01000100"), with: InternalMessage.decode) else {
            return XCTFail("65 537 simulations must be refused")
        }
        // A count longer than the body is truncated, not read past the end.
        guard case .failure(.truncated) = decoding(hex("4d4c5349 0300 0800 05000000 02000000 02000000"), with: InternalMessage.decode) else {
            return XCTFail("a short list must be refused")
        }
    }

    func testInternalHoldingsReport() {
        let message = InternalMessage.holdingsReport(rank: 1, round: 5, holdings: [
            SimulationHolding(simulationID: 2, missingBlocks: 0), SimulationHolding(simulationID: 9, missingBlocks: 0x0304),
        ])
        let golden = hex("4d4c5349 0300 0900 01000000 05000000 02000000 02000000 00000000 09000000 04030000")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
        guard case .failure(.oversized) = decoding(hex("4d4c5349 0300 0900 01000000 05000000 01000100"), with: InternalMessage.decode) else {
            return XCTFail("65 537 entries must be refused")
        }
        guard case .failure(.trailingBytes) = decoding(golden + [0], with: InternalMessage.decode) else {
            return XCTFail("a byte after the last entry must be refused")
        }
    }

    func testInternalCheckpointWritten() {
        let message = InternalMessage.checkpointWritten(rank: 3, sequence: 0x0102030405, written: true)
        let golden = hex("4d4c5349 0300 0a00 03000000 05040302 01000000 01")
        XCTAssertEqual(message.encode(), golden)
        XCTAssertEqual(decoding(golden, with: InternalMessage.decode), .success(message))
        XCTAssertEqual(decoding(hex("4d4c5349 0300 0a00 03000000 05040302 01000000 00"), with: InternalMessage.decode),
                       .success(.checkpointWritten(rank: 3, sequence: 0x0102030405, written: false)))
        guard case .failure(.invalidValue) = decoding(hex("4d4c5349 0300 0a00 03000000 05040302 01000000 02"), with: InternalMessage.decode) else {
            return XCTFail("flag 2 must be refused")
        }
    }

    func testInternalVersionIsThreeAndVersionTwoIsRefused() {
        XCTAssertEqual(internalProtocolVersion, 3)
        XCTAssertEqual(protocolVersion, 1, "the data channel keeps its version")
        // A version 2 groupRedrawn (no simulation list) must not be read as a version 3 one.
        guard case .failure(.versionMismatch(ours: 3, theirs: 2)) = decoding(hex("4d4c5349 0200 0600 07000000 02000000"),
                                                                              with: InternalMessage.decode) else {
            return XCTFail("a version 2 internal message must be refused with both versions named")
        }
    }

    func testControlCancelJob() {
        assertControl(.cancelJob(session: 0x0102_0304_0506_0708, request: 9, groupID: 3, reason: "idle"),
                      hex("4d4c5343 0300 0900 0807060504030201 0900000000000000 03000000 0400 69646c65"))
    }

    func testControlRequestDone() {
        assertControl(.requestDone(session: 0x0102_0304_0506_0708, request: 5, outcome: .duplicate, detail: "running"),
                      hex("4d4c5343 0300 0a00 0807060504030201 0500000000000000 01 0700 72756e6e696e67"))
        let outcomes: [(RequestOutcome, String)] = [(.accepted, "00"), (.duplicate, "01"), (.ignored, "02")]
        for (outcome, code) in outcomes {
            assertControl(.requestDone(session: 1, request: 2, outcome: outcome, detail: ""),
                          hex("4d4c5343 0300 0a00 0100000000000000 0200000000000000 \(code) 0000"))
        }
        guard case .failure(.invalidValue) = decoding(hex("4d4c5343 0300 0a00 0100000000000000 0200000000000000 03 0000"),
                                                      with: ControlMessage.decode) else {
            return XCTFail("outcome 3 must be refused")
        }
    }

    func testControlVersionIsThreeAndEarlierVersionsAreRefused() {
        XCTAssertEqual(controlProtocolVersion, 3)
        for theirs: UInt16 in [1, 2] {
            guard case .failure(.versionMismatch(ours: 3, theirs: theirs)) = decoding(hex("4d4c5343") + le(theirs) + hex("0500"),
                                                                                        with: ControlMessage.decode) else {
                return XCTFail("a version \(theirs) control message must be refused with both versions named")
            }
        }
    }

    // MARK: Strings

    func testStringsAreLengthPrefixedUTF8() {
        // "a\0b" keeps its NUL; U+1F600 is 4 bytes; the length counts bytes, not characters.
        assertControl(.stop(reason: "a\u{0}b\u{1F600}"), hex("4d4c5343 0300 0700 0700 610062 f09f9880"))
        // A string of exactly Limits.maxString bytes is the longest allowed.
        let longest = String(repeating: "z", count: Limits.maxString)
        assertControl(.stop(reason: longest), hex("4d4c5343 0300 0700 0010") + [UInt8](repeating: 0x7A, count: 4096))
    }

    func testRefusalNamingBothVersions() {
        let text = ProtocolError.versionMismatch(ours: 2, theirs: 1).description
        XCTAssertEqual(text, "protocol version mismatch: peer speaks version 1, this side speaks version 2")
        let refusal = HandshakeRefusal(reason: text)
        let golden = hex("4d4c5348 0300 0300") + le(UInt16(text.utf8.count)) + Array(text.utf8)
        XCTAssertEqual(refusal.encode(), golden)
        XCTAssertEqual(decoding(golden, with: HandshakeReply.decode), .success(.refused(refusal)))
    }
}
