import Foundation
import MelissaCheckpoint
import MelissaServer

/// Checkpoints: the buffer, partial steps and counters in the server's own format (section
/// `DLRN`); the model and optimizer in a safetensors file the trainer writes when rank 0 asks
/// (`checkpoints/model-<n>.safetensors`, tensors and JSON metadata only: nothing is unpickled).
extension DeepLearningServer {
    /// Seconds rank 0 waits for its trainer to save the model before the checkpoint goes
    /// without a new model (the previous model file stays referenced).
    static let modelSaveWait = 120.0

    /// The model file of checkpoint `sequence` (every rank computes the same path).
    func modelPath(sequence: UInt64) -> String { "\(studyDirectory)/checkpoints/model-\(sequence).safetensors" }

    /// Rank 0 first has its trainer save the model (the trainer answers at its next request,
    /// between two training steps), then every rank writes its buffer. Rank 0's buffer is
    /// taken while its trainer waits, so its samples and the model agree exactly; other ranks'
    /// trainers keep training meanwhile (see docs/DEEP_LEARNING.md, "Checkpoints").
    func checkpointState() throws -> [CheckpointSection] {
        let sequence = checkpointNumber
        var model = restoredModel ?? ""
        // A trainer still starting (importing torch) has trained nothing: the checkpoint goes
        // without a model rather than hold the loop until it is up.
        if rank == 0, let trainer, trainer.isRunning, feed.locked({ $0.done == nil && $0.trainerConnected }) {
            let path = modelPath(sequence: sequence)
            try FileManager.default.createDirectory(atPath: "\(studyDirectory)/checkpoints", withIntermediateDirectories: true)
            let deadline = Date() + Self.modelSaveWait
            let saved = feed.locked { feed -> Bool in
                feed.checkpointToAnnounce = (Int(sequence), path)
                feed.holdForCheckpoint = true
                while feed.lastSaved?.sequence != Int(sequence) && feed.done == nil && Date() < deadline {
                    _ = feed.condition.wait(until: min(deadline, Date() + 0.5))
                }
                return feed.lastSaved?.sequence == Int(sequence)
            }
            if saved {
                model = path
                restoredModel = path
            } else {
                log.error("the trainer did not save the model for checkpoint \(sequence) within \(Int(Self.modelSaveWait)) s: the checkpoint keeps the previous model (\(model.isEmpty ? "none" : model))")
            }
        }
        var encoder = CheckpointEncoder()
        encoder.string(model)
        feed.locked { feed in
            feed.buffer.encode(into: &encoder)
            encoder.u64(UInt64(feed.batchesServed))
            encoder.u64(UInt64(feed.samplesServed))
            feed.holdForCheckpoint = false
            feed.checkpointToAnnounce = nil
        }
        assembler.encode(into: &encoder)
        encoder.u64(UInt64(pendingFields.count))
        for key in pendingFields.keys.sorted() {
            encoder.u32(key.simulation)
            encoder.u32(key.step)
            let fields = pendingFields[key] ?? [:]
            encoder.u64(UInt64(fields.count))
            for field in fields.keys.sorted() {
                encoder.u32(UInt32(field))
                encoder.f64Array(fields[field] ?? [])
            }
        }
        encoder.f64(backPressureSeconds)
        if rank == 0 {
            encoder.u64(UInt64(history.count))
            for report in history {
                encoder.u64(UInt64(report.batch))
                encoder.u64(UInt64(report.samples))
                encoder.f64(report.trainLoss)
                encoder.f64(report.validLoss ?? .nan)
                encoder.f64(report.elapsed)
            }
        }
        if rank == 0 { forgetModels(keeping: sequence, model: model) }
        return [CheckpointSection(tag: "DLRN", bytes: encoder.bytes)]
    }

    /// Rank 0: checkpoint `sequence` names `model`. The store keeps this checkpoint and the one
    /// before; a model file neither of them names is deleted. A checkpoint taken while the
    /// trainer starts names the model it restores from, so that file stays until a newer one
    /// replaces it in both (deleting by number alone removed it under a trainer still loading).
    func forgetModels(keeping sequence: UInt64, model: String) {
        if !model.isEmpty { modelsOfCheckpoints[sequence] = model }
        for old in modelsOfCheckpoints.keys where old + 1 < sequence { modelsOfCheckpoints[old] = nil }
        let kept = Set(modelsOfCheckpoints.values)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: "\(studyDirectory)/checkpoints") else { return }
        for file in files where file.hasPrefix("model-") && file.hasSuffix(".safetensors") {
            let path = "\(studyDirectory)/checkpoints/\(file)"
            if !kept.contains(path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// Restores the buffer and partial steps; the trainer loads the model named in the section.
    func restoreState(_ sections: [String: [UInt8]]) throws {
        guard let bytes = sections["DLRN"] else {
            throw ServerError.setup("the checkpoint has no DLRN section: it was not written by the deep-learning flavor")
        }
        var decoder = CheckpointDecoder(bytes, section: "DLRN")
        let model = try decoder.string(field: "model path")
        restoredModel = nil
        if !model.isEmpty {
            guard FileManager.default.fileExists(atPath: model) else {
                throw ServerError.setup("checkpoint DLRN names the model file \(model), which is missing")
            }
            restoredModel = model
            modelsOfCheckpoints = [checkpointNumber: model]
        }
        let buffer = try SampleBuffer(restoring: &decoder, settings: bufferSettings)
        let batches = try decoder.u64(field: "batches served")
        let samples = try decoder.u64(field: "samples served")
        try assembler.restore(from: &decoder)
        var pending: [SampleKey: [Int: [Double]]] = [:]
        let count = try decoder.u64(field: "pending steps")
        for _ in 0..<count {
            let key = SampleKey(simulation: try decoder.u32(field: "simulation"), step: try decoder.u32(field: "step"))
            let fieldCount = try decoder.u64(field: "fields")
            guard fieldCount < UInt64(config.studyOptions.fieldNames.count) else {
                throw ServerError.setup("checkpoint DLRN: a pending step holds \(fieldCount) of \(config.studyOptions.fieldNames.count) fields")
            }
            var fields: [Int: [Double]] = [:]
            for _ in 0..<fieldCount {
                let field = Int(try decoder.u32(field: "field"))
                guard field < config.studyOptions.fieldNames.count else {
                    throw ServerError.setup("checkpoint DLRN: field index \(field) out of range")
                }
                fields[field] = try decoder.f64Array(field: "values")
            }
            pending[key] = fields
        }
        pendingFields = pending
        backPressureSeconds = try decoder.f64(field: "back-pressure seconds")
        if rank == 0 {
            let reports = try decoder.u64(field: "loss reports")
            history = []
            for _ in 0..<reports {
                let batch = Int(try decoder.u64(field: "batch"))
                let samples = Int(try decoder.u64(field: "samples"))
                let train = try decoder.f64(field: "train loss")
                let valid = try decoder.f64(field: "valid loss")
                history.append(TrainerProtocol.TrainingProgress(batch: batch, samples: samples, trainLoss: train,
                                                                validLoss: valid.isNaN ? nil : valid,
                                                                elapsed: try decoder.f64(field: "elapsed")))
            }
        }
        try decoder.finish()
        feed.locked { feed in
            feed.buffer = buffer
            feed.batchesServed = Int(batches)
            feed.samplesServed = Int(samples)
        }
        log.event("restored \(buffer.count) buffered samples; the trainer resumes from \(restoredModel ?? "a fresh model")")
    }
}
