/// FIFO: batches in arrival order, every sample in exactly one batch; a full buffer refuses puts (back-pressure).
///
/// Melissa builds its FIFO from `buffer_size` alone, so no watermark gates it: the first full batch is served at once.
enum FIFOBuffer: BufferPolicyRules {
    static let usesWatermark = false
    static let consumesSamples = true

    static func put(_ sample: Sample, into core: inout BufferCore) -> PutOutcome {
        guard core.count < core.capacity else { return .full }
        core.append(sample)
        return .stored
    }

    /// Only full batches while data streams, so every batch but the last has `batchSize` samples.
    static func streamingBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count >= core.batchSize else { return nil }
        return core.popFront(core.batchSize)
    }

    /// What is left, oldest first; the last batch may be smaller.
    static func finalBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count > 0 else { return nil }
        return core.popFront(min(core.batchSize, core.count))
    }
}
