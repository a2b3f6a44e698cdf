/// BatchReservoir: a reservoir whose evictions spare unseen samples. A put into a full buffer evicts a uniformly random
/// sample among those already trained on; only when none was trained on does it evict uniformly among all. Batches and
/// draining are the reservoir's.
///
/// Melissa's BatchReservoir source was not available; its documentation only shows that it takes `batch_size`. This
/// seen-first eviction is our choice: with data arriving faster than training consumes it, a plain reservoir throws away
/// samples nobody trained on, this one throws away repeats first.
enum BatchReservoirBuffer: ReservoirPolicy {
    static func evictionIndex(in core: inout BufferCore) -> Int {
        core.seenTotal > 0 ? core.seenPosition(core.rng.index(below: core.seenTotal)) : core.rng.index(below: core.count)
    }
}
