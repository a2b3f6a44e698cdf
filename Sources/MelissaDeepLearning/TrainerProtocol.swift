import Foundation

/// The trainer protocol v1 between a server rank and its PyTorch trainer (docs/DEEP_LEARNING.md):
/// ZeroMQ REQ (trainer) to REP (server rank), frame 0 a JSON object with `op`, binary frames
/// little-endian. Pure encoding and decoding, no I/O, so tests pin the bytes.
public enum TrainerProtocol {
    /// The version in `hello` and `config`; a trainer speaking another is refused.
    public static let version = 1
    /// The most batches one request may ask for.
    public static let maximumBatchesPerRequest = 64

    /// A request from the trainer.
    public enum Request: Equatable, Sendable {
        /// First message: protocol version and the trainer's pid.
        case hello(protocolVersion: Int, pid: Int)
        /// Asks for the next batches (up to `count`, at least 1); `saved` reports a checkpoint
        /// written since the last request.
        case batch(count: Int, saved: SavedModel?)
        /// Rank 0's loss report, every `nb_batches_update` batches.
        case progress(TrainingProgress)
        /// Training ended on this trainer (with a checkpoint it saved on its last reply, if any).
        case done(TrainingDone, saved: SavedModel?)
    }

    /// A model checkpoint the trainer wrote when asked.
    public struct SavedModel: Equatable, Sendable {
        public var sequence: Int
        public var path: String
        public var batches: Int
        public init(sequence: Int, path: String, batches: Int) {
            self.sequence = sequence
            self.path = path
            self.batches = batches
        }
    }

    /// One loss report: batches and samples trained so far (all ranks), mean losses since the last.
    public struct TrainingProgress: Equatable, Sendable {
        public var batch: Int
        public var samples: Int
        public var trainLoss: Double
        public var validLoss: Double?
        public var elapsed: Double
        public init(batch: Int, samples: Int, trainLoss: Double, validLoss: Double?, elapsed: Double) {
            self.batch = batch
            self.samples = samples
            self.trainLoss = trainLoss
            self.validLoss = validLoss
            self.elapsed = elapsed
        }
    }

    /// A trainer's last word: what it trained, what it dropped at the end, where the model went.
    public struct TrainingDone: Equatable, Sendable {
        public var batches: Int
        public var samples: Int
        public var dropped: Int
        public var modelPath: String?
        public init(batches: Int, samples: Int, dropped: Int, modelPath: String?) {
            self.batches = batches
            self.samples = samples
            self.dropped = dropped
            self.modelPath = modelPath
        }
    }

    /// A request that cannot be understood, with what was wrong.
    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Decodes frame 0 of a request (a batch request has no other frames).
    public static func decodeRequest(_ frames: [[UInt8]]) throws(DecodeError) -> Request {
        guard frames.count == 1 else { throw DecodeError(description: "expected 1 frame, got \(frames.count)") }
        guard frames[0].count <= 1 << 20 else { throw DecodeError(description: "request of \(frames[0].count) bytes (limit 1 MiB)") }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(frames[0])) as? [String: Any] else {
                throw DecodeError(description: "frame 0 is not a JSON object")
            }
            object = parsed
        } catch let error as DecodeError {
            throw error
        } catch {
            throw DecodeError(description: "frame 0 is not JSON: \(error.localizedDescription)")
        }
        guard let op = object["op"] as? String else { throw DecodeError(description: "no string 'op'") }
        switch op {
        case "hello":
            return .hello(protocolVersion: try int(object, "protocol"), pid: try int(object, "pid"))
        case "batch":
            var count = 1
            if object["count"] != nil {
                count = try int(object, "count")
                guard (1...maximumBatchesPerRequest).contains(count) else {
                    throw DecodeError(description: "'count' is \(count), not in 1...\(maximumBatchesPerRequest)")
                }
            }
            return .batch(count: count, saved: try savedModel(object))
        case "progress":
            return .progress(TrainingProgress(batch: try int(object, "batch"), samples: try int(object, "samples"),
                                              trainLoss: try number(object, "train_loss"),
                                              validLoss: object["valid_loss"] is NSNull || object["valid_loss"] == nil
                                                  ? nil : try number(object, "valid_loss"),
                                              elapsed: try number(object, "elapsed")))
        case "done":
            let path = object["model_path"] as? String
            return .done(TrainingDone(batches: try int(object, "batches"), samples: try int(object, "samples"),
                                      dropped: (object["dropped"] as? NSNumber)?.intValue ?? 0, modelPath: path),
                         saved: try savedModel(object))
        default:
            throw DecodeError(description: "unknown op '\(op)'")
        }
    }

    /// The optional `saved` entry of a `batch` or `done` request.
    static func savedModel(_ object: [String: Any]) throws(DecodeError) -> SavedModel? {
        guard let saved = object["saved"], !(saved is NSNull) else { return nil }
        guard let savedObject = saved as? [String: Any] else { throw DecodeError(description: "'saved' is not an object") }
        return SavedModel(sequence: try int(savedObject, "sequence"), path: try string(savedObject, "path"),
                          batches: try int(savedObject, "batches"))
    }

    static func int(_ object: [String: Any], _ key: String) throws(DecodeError) -> Int {
        guard let number = object[key] as? NSNumber,
              let value = Int(exactly: number.doubleValue) else {
            throw DecodeError(description: "'\(key)' is missing or not an integer")
        }
        return value
    }

    static func number(_ object: [String: Any], _ key: String) throws(DecodeError) -> Double {
        // JSON has no NaN: a diverged loss arrives as null (melissa_dl) and is kept as NaN.
        if object[key] is NSNull { return .nan }
        guard let number = object[key] as? NSNumber else { throw DecodeError(description: "'\(key)' is missing or not a number") }
        return number.doubleValue
    }

    static func string(_ object: [String: Any], _ key: String) throws(DecodeError) -> String {
        guard let value = object[key] as? String else { throw DecodeError(description: "'\(key)' is missing or not a string") }
        return value
    }

    /// A JSON object as one frame, keys sorted (the golden tests pin the bytes).
    public static func jsonFrame(_ object: [String: Any]) -> [UInt8] {
        // Only strings, numbers, booleans, arrays and nulls are put in: serialisation cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// A reply carrying only `op` and, when the server wants a model checkpoint, `checkpoint`.
    public static func reply(_ op: String, checkpoint: (sequence: Int, path: String)? = nil) -> [UInt8] {
        var object: [String: Any] = ["op": op]
        if let checkpoint { object["checkpoint"] = ["sequence": checkpoint.sequence, "path": checkpoint.path] }
        return jsonFrame(object)
    }

    /// A batch reply: the JSON header, then simulation ids (u32), time steps (u32), parameters
    /// (f64, row-major, `nbParameters` per sample) and one frame per field (f64, row-major).
    /// `fieldSizes` cut each sample's values (its fields side by side) into those frames.
    /// Several batches go as one, `batches` giving their sizes in order (the trainer cuts the
    /// frames back into batches: one round trip for all of them); `index` is the first one's.
    public static func batchFrames(_ samples: [Sample], index: Int, nbParameters: Int, fieldSizes: [Int],
                                   batches: [Int]? = nil,
                                   checkpoint: (sequence: Int, path: String)? = nil) -> [[UInt8]] {
        var header: [String: Any] = ["op": "batch", "size": samples.count, "nb_parameters": nbParameters,
                                     "field_sizes": fieldSizes, "index": index,
                                     "batches": batches ?? [samples.count]]
        if let checkpoint { header["checkpoint"] = ["sequence": checkpoint.sequence, "path": checkpoint.path] }
        var frames = [jsonFrame(header)]
        frames.append(littleEndian(samples.map(\.simulation)))
        frames.append(littleEndian(samples.map(\.timeStep)))
        var parameters = [Double]()
        parameters.reserveCapacity(samples.count * nbParameters)
        for sample in samples { parameters += sample.parameters.prefix(nbParameters) }
        frames.append(littleEndian(parameters))
        var offset = 0
        for size in fieldSizes {
            var bytes = [UInt8](repeating: 0, count: samples.count * size * 8)
            bytes.withUnsafeMutableBytes { out in
                for (i, sample) in samples.enumerated() {
                    sample.values.withUnsafeBytes { raw in
                        // x86-64 and arm64 are little-endian: the doubles' bytes are the wire bytes.
                        let slice = UnsafeRawBufferPointer(rebasing: raw[(offset * 8)..<((offset + size) * 8)])
                        out.baseAddress.map { UnsafeMutableRawBufferPointer(start: $0 + i * size * 8, count: size * 8).copyMemory(from: slice) }
                    }
                }
            }
            frames.append(bytes)
            offset += size
        }
        return frames
    }

    static func littleEndian(_ values: [UInt32]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        return bytes
    }

    static func littleEndian(_ values: [Double]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }
}
