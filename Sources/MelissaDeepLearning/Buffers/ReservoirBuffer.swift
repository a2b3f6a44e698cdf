/// Reservoir: batches of `batchSize` distinct uniformly random held samples, left in place (a sample can train many times);
/// a put into a full buffer evicts a uniformly random held sample. Once reception is over it drains: batches take unseen
/// samples first until every held sample was trained on at least once, then it is exhausted.
enum ReservoirBuffer: ReservoirPolicy {
    static func evictionIndex(in core: inout BufferCore) -> Int { core.rng.index(below: core.count) }
}

extension BufferCore {
    /// Puts `sample` in `slot` (reservoirs never move samples, so slots are stable positions) and reports the evicted one.
    mutating func replace(at slot: Int, with sample: Sample) -> PutOutcome {
        let evicted = slots[slot]
        if evicted.seen > 0 { seenIndex?.clear(slot) }
        heldBytes += sample.byteCount - evicted.sample.byteCount
        slots[slot] = Slot(sample: sample)
        return .storedEvicting(simulation: evicted.sample.simulation, timeStep: evicted.sample.timeStep)
    }

    /// `batchSize` distinct uniformly random held samples (Floyd's sampling, O(batchSize)), in random order; nil if fewer are held.
    mutating func randomDistinctBatch() -> [Sample]? {
        let n = count, k = batchSize
        guard n >= k else { return nil }
        var chosen = Set<Int>(minimumCapacity: k)
        var order: [Int] = []
        order.reserveCapacity(k)
        for j in (n - k)..<n {
            let t = rng.index(below: j + 1)
            let pick = chosen.contains(t) ? j : t
            chosen.insert(pick)
            order.append(pick)
        }
        // Floyd's picks are a uniform set but not a uniform order; the set's own order is never used (it is per-process random).
        rng.shuffle(&order)
        return served(order)
    }

    /// One draining batch: unseen samples first (uniformly among them), topped up with distinct seen ones so batches stay
    /// full while enough samples are held; nil once every held sample was served, which ends training on this rank.
    mutating func drainBatch() -> [Sample]? {
        let unseen = count - seenTotal
        guard seenIndex != nil, unseen > 0 else { return nil }
        let size = min(batchSize, count)
        var order: [Int] = []
        order.reserveCapacity(size)
        for _ in 0..<min(size, unseen) {
            let slot = unseenPosition(rng.index(below: count - seenTotal))
            // Marking it seen now removes it from the unseen draws that follow.
            markServed(slot)
            order.append(slot)
        }
        var inBatch = Set(order)
        while order.count < size {
            let slot = seenPosition(rng.index(below: seenTotal))
            if inBatch.insert(slot).inserted {
                markServed(slot)
                order.append(slot)
            }
        }
        rng.shuffle(&order)
        return order.map { slots[$0].sample }
    }

    /// Held samples served at least once (reservoirs; 0 otherwise).
    var seenTotal: Int { seenIndex?.total ?? 0 }

    // Read through the optional in place: binding `seenIndex` to a local would keep a second reference to the tree,
    // and the next `markServed` would then copy the whole array.
    func seenPosition(_ k: Int) -> Int { seenIndex?.position(ofSeen: k) ?? k }
    func unseenPosition(_ k: Int) -> Int { seenIndex?.position(ofUnseen: k) ?? k }

    private mutating func served(_ order: [Int]) -> [Sample] {
        for slot in order { markServed(slot) }
        return order.map { slots[$0].sample }
    }
}

/// Which slots hold a sample served at least once: a Fenwick tree over slot positions, so the k-th seen or unseen slot is
/// found in O(log capacity). It is a function of the seen counts alone, so a restored buffer rebuilds the same one.
struct SeenIndex: Sendable {
    /// 1-based Fenwick sums of the 0/1 "seen" flags.
    private var tree: [Int]
    private let topStep: Int
    /// Slots flagged seen.
    private(set) var total = 0

    /// An index over `size` slots with the given flags (missing ones unseen), built in O(size).
    init(size: Int, seen flags: [Bool] = []) {
        tree = Array(repeating: 0, count: size + 1)
        var step = 1
        while step * 2 <= size { step *= 2 }
        topStep = size > 0 ? step : 0
        for (slot, flag) in flags.enumerated() where flag {
            tree[slot + 1] += 1
            total += 1
        }
        for i in stride(from: 1, through: size, by: 1) {
            let parent = i + (i & -i)
            if parent <= size { tree[parent] += tree[i] }
        }
    }

    /// Slots it covers (grown with the held count, so a huge `buffer_size` costs nothing until samples arrive).
    var size: Int { tree.count - 1 }

    mutating func set(_ slot: Int) { add(slot, 1) }
    mutating func clear(_ slot: Int) { add(slot, -1) }

    private mutating func add(_ slot: Int, _ delta: Int) {
        total += delta
        var i = slot + 1
        while i < tree.count {
            tree[i] += delta
            i += i & -i
        }
    }

    /// The position of the k-th (0-based) seen slot; k < total.
    func position(ofSeen k: Int) -> Int { descend(k) { _, ones in ones } }

    /// The position of the k-th (0-based) unseen slot; k < (held − total) keeps it among held slots, which come first.
    func position(ofUnseen k: Int) -> Int { descend(k) { length, ones in length - ones } }

    /// Standard Fenwick descent: the node at `position + step` covers `step` slots, `counted` says how many of them match.
    private func descend(_ k: Int, counted: (_ length: Int, _ ones: Int) -> Int) -> Int {
        var position = 0
        var remaining = k + 1
        var step = topStep
        while step > 0 {
            let next = position + step
            if next < tree.count {
                let matching = counted(step, tree[next])
                if matching < remaining {
                    position = next
                    remaining -= matching
                }
            }
            step >>= 1
        }
        return position
    }
}
