/// FIRO (first in, random out): batches of uniformly random held samples, each removed when served, so every sample is in
/// exactly one batch; a full buffer refuses puts (back-pressure). Random draws mix simulations and time steps that a
/// FIFO would serve in arrival order, which is what makes streamed training less biased.
enum FIROBuffer: BufferPolicyRules {
    static let usesWatermark = true
    static let consumesSamples = true

    static func put(_ sample: Sample, into core: inout BufferCore) -> PutOutcome {
        guard core.count < core.capacity else { return .full }
        core.append(sample)
        return .stored
    }

    /// Only full batches while data streams (so the batch count is deterministic: `SampleBuffer.expectedBatches`).
    static func streamingBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count >= core.batchSize else { return nil }
        return core.removeRandom(core.batchSize)
    }

    /// What is left, in random order; the last batch may be smaller.
    static func finalBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count > 0 else { return nil }
        return core.removeRandom(min(core.batchSize, core.count))
    }
}
