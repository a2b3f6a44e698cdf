import Foundation
@testable import MelissaDeepLearning
import XCTest

/// The trainer protocol's bytes (docs/DEEP_LEARNING.md, "Trainer protocol"): the Python side
/// (Sources/MelissaDLPython/melissa_dl/protocol.py) reads exactly these.
final class TrainerProtocolTests: XCTestCase {
    func text(_ frame: [UInt8]) -> String { String(decoding: frame, as: UTF8.self) }

    func testControlRepliesArePinned() {
        XCTAssertEqual(text(TrainerProtocol.reply("wait")), #"{"op":"wait"}"#)
        XCTAssertEqual(text(TrainerProtocol.reply("end", checkpoint: (3, "/s/checkpoints/model-3.safetensors"))),
                       #"{"checkpoint":{"path":"/s/checkpoints/model-3.safetensors","sequence":3},"op":"end"}"#)
    }

    func testBatchFramesArePinned() {
        // Two samples, 2 parameters, two fields of 2 and 1 cells.
        let samples = [Sample(simulation: 7, timeStep: 1, parameters: [1.0, 2.0], values: [0.5, -1.0, 4.0]),
                       Sample(simulation: 258, timeStep: 0, parameters: [3.0, 4.0], values: [0.25, 2.0, -8.0])]
        let frames = TrainerProtocol.batchFrames(samples, index: 5, nbParameters: 2, fieldSizes: [2, 1])
        XCTAssertEqual(frames.count, 6)
        XCTAssertEqual(text(frames[0]), #"{"batches":[2],"field_sizes":[2,1],"index":5,"nb_parameters":2,"op":"batch","size":2}"#)
        XCTAssertEqual(frames[1], [7, 0, 0, 0, 2, 1, 0, 0])
        XCTAssertEqual(frames[2], [1, 0, 0, 0, 0, 0, 0, 0])
        func f64(_ values: [Double]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
        XCTAssertEqual(frames[3], f64([1, 2, 3, 4]))
        // 1.0 is 0x3FF0000000000000: its little-endian bytes end in F0 3F.
        XCTAssertEqual(Array(frames[3].prefix(8)), [0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
        XCTAssertEqual(frames[4], f64([0.5, -1.0, 0.25, 2.0]))
        XCTAssertEqual(frames[5], f64([4.0, -8.0]))
    }

    func testSeveralBatchesGoAsOneReplyWithTheirSizes() {
        let samples = (0..<5).map { Sample(simulation: UInt32($0), timeStep: 0, parameters: [0], values: [Double($0)]) }
        let frames = TrainerProtocol.batchFrames(samples, index: 8, nbParameters: 1, fieldSizes: [1], batches: [2, 2, 1])
        XCTAssertEqual(text(frames[0]), #"{"batches":[2,2,1],"field_sizes":[1],"index":8,"nb_parameters":1,"op":"batch","size":5}"#)
        XCTAssertEqual(frames[4].count, 5 * 8)
    }

    func testRequestsDecode() throws {
        func decode(_ json: String) throws(TrainerProtocol.DecodeError) -> TrainerProtocol.Request {
            try TrainerProtocol.decodeRequest([Array(json.utf8)])
        }
        XCTAssertEqual(try decode(#"{"op":"hello","protocol":1,"pid":42}"#), .hello(protocolVersion: 1, pid: 42))
        XCTAssertEqual(try decode(#"{"op":"batch"}"#), .batch(count: 1, saved: nil))
        XCTAssertEqual(try decode(#"{"op":"batch","count":4}"#), .batch(count: 4, saved: nil))
        XCTAssertEqual(try decode(#"{"op":"batch","saved":{"sequence":2,"path":"/m.safetensors","batches":30}}"#),
                       .batch(count: 1, saved: .init(sequence: 2, path: "/m.safetensors", batches: 30)))
        XCTAssertEqual(try decode(#"{"op":"progress","batch":10,"samples":100,"train_loss":0.5,"valid_loss":null,"elapsed":1.5}"#),
                       .progress(.init(batch: 10, samples: 100, trainLoss: 0.5, validLoss: nil, elapsed: 1.5)))
        XCTAssertEqual(try decode(#"{"op":"done","batches":12,"samples":120,"dropped":3,"model_path":null}"#),
                       .done(.init(batches: 12, samples: 120, dropped: 3, modelPath: nil), saved: nil))
        XCTAssertEqual(try decode(#"{"op":"done","batches":1,"samples":8,"model_path":"/r/m","saved":{"sequence":4,"path":"/c","batches":1}}"#),
                       .done(.init(batches: 1, samples: 8, dropped: 0, modelPath: "/r/m"),
                             saved: .init(sequence: 4, path: "/c", batches: 1)))
        // A diverged loss: melissa_dl sends null (JSON has no NaN).
        guard case let .progress(diverged) = try decode(#"{"op":"progress","batch":1,"samples":8,"train_loss":null,"valid_loss":null,"elapsed":0}"#) else {
            return XCTFail("not a progress report")
        }
        XCTAssertTrue(diverged.trainLoss.isNaN)
        XCTAssertNil(diverged.validLoss)
    }

    func testHostileRequestsAreRefusedWithWhatWasWrong() {
        let cases: [([[UInt8]], String)] = [
            ([], "expected 1 frame, got 0"),
            ([Array("{}".utf8), []], "expected 1 frame, got 2"),
            ([Array("not json".utf8)], "not JSON"),
            ([Array("[1]".utf8)], "not a JSON object"),
            ([Array(#"{"op":7}"#.utf8)], "no string 'op'"),
            ([Array(#"{"op":"fly"}"#.utf8)], "unknown op 'fly'"),
            ([Array(#"{"op":"hello","protocol":"1","pid":1}"#.utf8)], "'protocol' is missing or not an integer"),
            ([Array(#"{"op":"hello","protocol":1.5,"pid":1}"#.utf8)], "'protocol' is missing or not an integer"),
            ([Array(#"{"op":"batch","saved":3}"#.utf8)], "'saved' is not an object"),
            ([Array(#"{"op":"batch","count":0}"#.utf8)], "'count' is 0, not in 1...64"),
            ([Array(#"{"op":"batch","count":65}"#.utf8)], "'count' is 65, not in 1...64"),
            ([[UInt8](repeating: 32, count: (1 << 20) + 1)], "limit 1 MiB"),
        ]
        for (frames, expected) in cases {
            XCTAssertThrowsError(try TrainerProtocol.decodeRequest(frames)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) does not say \(expected)")
            }
        }
    }
}
