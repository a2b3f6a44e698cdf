/// FIRO (first in, random out): batches of uniformly random held samples, each removed when served, so every sample is in
/// exactly one batch; a full buffer refuses puts (back-pressure). Random draws mix simulations and time steps that a
/// FIFO would serve in arrival order, which is what makes streamed training less biased.
enum FIROBuffer: ConsumingPolicy {
    static let usesWatermark = true

    static func remove(_ count: Int, from core: inout BufferCore) -> [Sample] { core.removeRandom(count) }
}
