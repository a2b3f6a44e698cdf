/// FIFO: batches in arrival order, every sample in exactly one batch; a full buffer refuses puts (back-pressure).
///
/// Melissa builds its FIFO from `buffer_size` alone, so no watermark gates it: the first full batch is served at once.
enum FIFOBuffer: ConsumingPolicy {
    static let usesWatermark = false

    static func remove(_ count: Int, from core: inout BufferCore) -> [Sample] { core.popFront(count) }
}
