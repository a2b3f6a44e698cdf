import MelissaCheckpoint

/// How a rank's buffer picks what to train on; the names are Melissa's `BufferType`s, spelled as `dl_config.buffer` takes them.
public enum BufferPolicy: String, CaseIterable, Sendable {
    /// First in, first out: batches in arrival order, every sample trained on once.
    case fifo = "FIFO"
    /// First in, random out: uniformly random batches, every sample trained on once.
    case firo = "FIRO"
    /// Random batches drawn without removal; a put into a full buffer evicts a uniformly random sample.
    case reservoir = "Reservoir"
    /// A reservoir whose evictions take samples already trained on before any unseen one.
    case batchReservoir = "BatchReservoir"

    /// The rules that make this policy differ from the others.
    var rules: any BufferPolicyRules.Type {
        switch self {
        case .fifo: return FIFOBuffer.self
        case .firo: return FIROBuffer.self
        case .reservoir: return ReservoirBuffer.self
        case .batchReservoir: return BatchReservoirBuffer.self
        }
    }
}

/// One rank's buffer knobs: Melissa's `buffer`, `buffer_size`, `per_server_watermark`, `batch_size` and `pseudo_epochs`, plus the RNG seed.
public struct BufferSettings: Sendable, Equatable {
    /// Which policy.
    public var policy: BufferPolicy
    /// `buffer_size`: samples held at most (the rank's memory bound).
    public var capacity: Int
    /// `per_server_watermark`: samples held at once before the first batch (FIFO ignores it, as Melissa's FIFO takes none).
    public var watermark: Int
    /// `batch_size`: samples per batch.
    public var batchSize: Int
    /// `pseudo_epochs`: 1 trains while data streams; n > 1 waits for the end of reception, then trains n passes.
    public var pseudoEpochs: Int
    /// Seeds the buffer's `SplitMix64` (random batches, evictions, pass orders).
    public var seed: UInt64

    /// Settings from their parts.
    public init(policy: BufferPolicy, capacity: Int, watermark: Int, batchSize: Int, pseudoEpochs: Int = 1, seed: UInt64 = 0) {
        self.policy = policy
        self.capacity = capacity
        self.watermark = watermark
        self.batchSize = batchSize
        self.pseudoEpochs = pseudoEpochs
        self.seed = seed
    }

    /// Why a buffer with these settings could not work (one sentence), or nil when they can.
    public var problem: String? {
        if capacity < 1 { return "buffer_size is \(capacity); a buffer holds at least 1 sample" }
        if batchSize < 1 { return "batch_size is \(batchSize); a batch has at least 1 sample" }
        // FIFO/FIRO only serve full batches while data streams, and a reservoir draws distinct samples.
        if batchSize > capacity { return "batch_size (\(batchSize)) exceeds buffer_size (\(capacity)): no batch could be assembled" }
        if watermark < 0 || watermark > capacity {
            return "per_server_watermark is \(watermark); it must lie in 0...buffer_size (\(capacity)) or training never starts"
        }
        if pseudoEpochs < 1 { return "pseudo_epochs is \(pseudoEpochs); it must be at least 1" }
        return nil
    }
}

/// What became of a put.
public enum PutOutcome: Equatable, Sendable {
    /// Held.
    case stored
    /// Held, in place of this sample, which is gone (reservoirs when full).
    case storedEvicting(simulation: UInt32, timeStep: UInt32)
    /// Not held: the buffer is full (FIFO/FIRO back-pressure); put it again after a take.
    case full
}

/// What a take returns.
public enum TakeOutcome: Equatable, Sendable {
    /// The next batch, in training order (never empty).
    case batch([Sample])
    /// No batch now; more data (or the end of reception) will bring one.
    case wait
    /// Reception is over and this buffer has nothing left to serve: training on this rank is done.
    case exhausted
}

/// The training samples one server rank holds, and which of them go into the next batch: Melissa's deep-learning buffers, pure and checkpointable.
///
/// Not thread-safe by itself (a value type): the server owns it from one place and reaches it under its own lock or actor.
/// Reception over is final: once `take(receptionOver: true)` was called, no more samples may be put.
public struct SampleBuffer: Sendable {
    /// The settings it was built (or restored) with.
    public let settings: BufferSettings
    var core: BufferCore
    /// The watermark was reached once; it stays reached when batches empty the buffer again.
    var started: Bool
    var receptionEnded = false
    /// Puts that were held (`.stored` or `.storedEvicting`; `.full` refusals are not counted).
    public private(set) var samplesPut = 0
    /// Batches returned by `take`.
    public private(set) var batchesTaken = 0
    /// Samples in those batches (a sample served twice counts twice).
    public private(set) var samplesTaken = 0
    // Pseudo-epochs: the current pass's order (positions among held samples) and how far it went.
    var plan: [Int] = []
    var planCursor = 0
    var passesStarted = 0

    var rules: any BufferPolicyRules.Type { settings.policy.rules }

    /// An empty buffer; the settings must have no `problem` (the config layer reports them to the user first).
    public init(settings: BufferSettings) {
        if let problem = settings.problem { preconditionFailure("invalid buffer settings: \(problem)") }
        self.settings = settings
        core = BufferCore(capacity: settings.capacity, batchSize: settings.batchSize, seed: settings.seed,
                          tracksSeen: settings.policy == .reservoir || settings.policy == .batchReservoir)
        started = settings.watermark == 0
    }

    /// Samples held now (never more than `capacity`).
    public var count: Int { core.count }
    /// Payload bytes of the held samples (the sum of their `byteCount`).
    public var heldBytes: Int { core.heldBytes }
    /// The most samples it holds.
    public var capacity: Int { settings.capacity }
    /// Whether the watermark was reached (FIFO: always true, it has none); batches flow from then on.
    public var trainingStarted: Bool { started || !rules.usesWatermark }

    /// Offers one sample. FIFO/FIRO answer `.full` when at capacity (the caller keeps it and retries after a take);
    /// reservoirs always take it, evicting a held sample when full.
    public mutating func put(_ sample: Sample) -> PutOutcome {
        precondition(!receptionEnded, "a sample was put after take(receptionOver: true) declared reception over")
        let outcome = rules.put(sample, into: &core)
        if outcome != .full {
            samplesPut += 1
            if core.count >= settings.watermark { started = true }
        }
        return outcome
    }

    /// The next batch of up to `batchSize` samples in training order, `.wait`, or `.exhausted`.
    ///
    /// `receptionOver` tells that every sample this rank will get was put; once passed true it stays true.
    public mutating func take(receptionOver: Bool) -> TakeOutcome {
        if receptionOver { receptionEnded = true }
        if settings.pseudoEpochs > 1 {
            // Epoch-style training needs the whole data set: nothing before reception ends.
            guard receptionEnded else { return .wait }
            return deliver(nextPassBatch())
        }
        if !receptionEnded {
            guard trainingStarted, let batch = rules.streamingBatch(from: &core) else { return .wait }
            return deliver(batch)
        }
        return deliver(rules.finalBatch(from: &core))
    }

    /// How many times the held sample (simulation, timeStep) went into a batch; nil when no such sample is held.
    /// FIFO/FIRO samples leave when served, so theirs stay 0 except across pseudo-epoch passes.
    public func seenCount(simulation: UInt32, timeStep: UInt32) -> Int? {
        // A linear scan: this is for diagnostics and tests, and keying by id would break on a resent step.
        for slot in core.slots[core.head...] where slot.sample.simulation == simulation && slot.sample.timeStep == timeStep {
            return slot.seen
        }
        return nil
    }

    /// Batches a FIFO/FIRO buffer serves for `totalSamples` puts, whatever the interleaving (Melissa's `nb_expected_batches`);
    /// nil for reservoirs (their count depends on timing) and for pseudo-epochs when the samples cannot all be held.
    public static func expectedBatches(totalSamples: Int, settings: BufferSettings) -> Int? {
        guard settings.policy == .fifo || settings.policy == .firo, settings.batchSize > 0, totalSamples >= 0 else { return nil }
        let perPass = (totalSamples + settings.batchSize - 1) / settings.batchSize
        if settings.pseudoEpochs == 1 { return perPass }
        // Passes only start once reception is over, so every sample must fit at once.
        guard totalSamples <= settings.capacity else { return nil }
        return perPass * settings.pseudoEpochs
    }

    private mutating func deliver(_ batch: [Sample]?) -> TakeOutcome {
        guard let batch else { return .exhausted }
        batchesTaken += 1
        samplesTaken += batch.count
        return .batch(batch)
    }

    /// The next batch of the pseudo-epoch passes: each pass serves every held sample once, in a fresh random order.
    private mutating func nextPassBatch() -> [Sample]? {
        if planCursor == plan.count {
            guard passesStarted < settings.pseudoEpochs, core.count > 0 else { return nil }
            plan = Array(0..<core.count)
            core.rng.shuffle(&plan)
            planCursor = 0
            passesStarted += 1
        }
        let end = min(planCursor + settings.batchSize, plan.count)
        var batch: [Sample] = []
        batch.reserveCapacity(end - planCursor)
        for position in plan[planCursor..<end] {
            let slot = core.head + position
            core.markServed(slot)
            batch.append(core.slots[slot].sample)
        }
        planCursor = end
        if planCursor == plan.count && passesStarted == settings.pseudoEpochs {
            // Last pass done: FIFO/FIRO have consumed their samples; reservoirs keep theirs (with seen counts).
            if rules.consumesSamples { core.removeAll() }
            plan = []
            planCursor = 0
        }
        return batch
    }
}

// MARK: - Checkpoint

extension SampleBuffer {
    static let checkpointFormat: UInt32 = 1

    /// Writes every held sample with its seen count, the counters, the pass plan and the RNG state, so a restored buffer continues identically.
    public func encode(into encoder: inout CheckpointEncoder) {
        encoder.u32(Self.checkpointFormat)
        encoder.string(settings.policy.rawValue)
        encoder.u64(UInt64(settings.pseudoEpochs))
        encoder.u64(core.rng.state)
        encoder.bool(started)
        encoder.bool(receptionEnded)
        encoder.u64(UInt64(samplesPut))
        encoder.u64(UInt64(batchesTaken))
        encoder.u64(UInt64(samplesTaken))
        encoder.u64(UInt64(core.count))
        for slot in core.slots[core.head...] {
            encoder.u32(slot.sample.simulation)
            encoder.u32(slot.sample.timeStep)
            encoder.u64(UInt64(slot.seen))
            encoder.f64Array(slot.sample.parameters)
            encoder.f64Array(slot.sample.values)
        }
        encoder.u64(UInt64(passesStarted))
        encoder.u64(UInt64(planCursor))
        encoder.u64Array(plan.map { UInt64($0) })
    }

    /// Reads what `encode` wrote. Throws a `CheckpointError` naming the field on bad or cut bytes, and refuses a state
    /// these settings cannot continue (another policy or pseudo-epoch count, more samples than `capacity`).
    /// The RNG continues from the saved state; `settings.seed` is not used.
    public init(restoring decoder: inout CheckpointDecoder, settings: BufferSettings) throws(CheckpointError) {
        if let problem = settings.problem { throw decoder.invalid(field: "settings", problem) }
        let format = try decoder.u32(field: "buffer format")
        guard format == Self.checkpointFormat else {
            throw decoder.invalid(field: "buffer format", "version \(format); this server reads \(Self.checkpointFormat)")
        }
        let policy = try decoder.string(field: "policy")
        guard policy == settings.policy.rawValue else {
            throw decoder.invalid(field: "policy", "the checkpoint holds a \(policy) buffer; the study now asks for \(settings.policy.rawValue)")
        }
        let pseudoEpochs = try decoder.u64(field: "pseudo_epochs")
        guard pseudoEpochs == UInt64(settings.pseudoEpochs) else {
            throw decoder.invalid(field: "pseudo_epochs", "the checkpoint was written with \(pseudoEpochs); the study now asks for \(settings.pseudoEpochs)")
        }
        self.init(settings: settings)
        core.rng = SplitMix64(state: try decoder.u64(field: "rng state"))
        started = try decoder.bool(field: "started")
        receptionEnded = try decoder.bool(field: "reception over")
        samplesPut = try Self.int(&decoder, field: "samples put")
        batchesTaken = try Self.int(&decoder, field: "batches taken")
        samplesTaken = try Self.int(&decoder, field: "samples taken")
        let held = try Self.int(&decoder, field: "samples count")
        // Checked before reading any sample, so a lying count allocates nothing.
        guard held <= settings.capacity else {
            throw decoder.invalid(field: "samples count", "\(held) samples held; buffer_size is now \(settings.capacity)")
        }
        for _ in 0..<held {
            let simulation = try decoder.u32(field: "sample simulation")
            let timeStep = try decoder.u32(field: "sample time step")
            let seen = try Self.int(&decoder, field: "sample seen count")
            let parameters = try decoder.f64Array(field: "sample parameters")
            let values = try decoder.f64Array(field: "sample values")
            core.append(Sample(simulation: simulation, timeStep: timeStep, parameters: parameters, values: values))
            if seen > 0 {
                core.slots[core.slots.count - 1].seen = seen
                core.seenIndex?.set(core.slots.count - 1)
            }
        }
        passesStarted = try Self.int(&decoder, field: "passes started")
        planCursor = try Self.int(&decoder, field: "pass cursor")
        let rawPlan = try decoder.u64Array(field: "pass order")
        // No decoder.finish(): the buffer is one part of its section; the section's owner checks the end.
        guard passesStarted <= settings.pseudoEpochs, passesStarted == 0 || receptionEnded else {
            throw decoder.invalid(field: "passes started", "\(passesStarted) passes of \(settings.pseudoEpochs), reception over: \(receptionEnded)")
        }
        // Mid-pass, the order is a permutation of the held samples (no puts happen once reception is over).
        let isPermutation = rawPlan.count == held && Set(rawPlan).count == held && rawPlan.allSatisfy { $0 < UInt64(held) }
        guard (rawPlan.isEmpty || isPermutation) && planCursor <= rawPlan.count else {
            throw decoder.invalid(field: "pass order", "\(rawPlan.count) positions with cursor \(planCursor) over \(held) held samples")
        }
        plan = rawPlan.map { Int($0) }
    }

    private static func int(_ decoder: inout CheckpointDecoder, field: String) throws(CheckpointError) -> Int {
        let value = try decoder.u64(field: field)
        guard value <= UInt64(Int.max) else { throw decoder.invalid(field: field, "\(value) does not fit an Int") }
        return Int(value)
    }
}

// MARK: - Shared storage

/// A held sample and how many batches it went into.
struct Slot: Sendable {
    var sample: Sample
    var seen = 0
}

/// What distinguishes the four policies; `SampleBuffer` does the rest (watermark, pseudo-epochs, counters, checkpoints).
protocol BufferPolicyRules {
    /// Whether batches wait for the watermark (Melissa's FIFO has none).
    static var usesWatermark: Bool { get }
    /// Whether serving a sample removes it (FIFO/FIRO) or leaves it for later batches (reservoirs).
    static var consumesSamples: Bool { get }
    /// Holds `sample`, evicts for it, or refuses it.
    static func put(_ sample: Sample, into core: inout BufferCore) -> PutOutcome
    /// A batch while reception is on and the watermark was reached, or nil to wait.
    static func streamingBatch(from core: inout BufferCore) -> [Sample]?
    /// A batch once reception is over, or nil when nothing is left to serve.
    static func finalBatch(from core: inout BufferCore) -> [Sample]?
}

/// FIFO and FIRO: a served sample leaves the buffer, so a full buffer refuses puts
/// (back-pressure), and while data streams only full batches go (a deterministic batch count).
/// A policy says only which samples a batch removes.
protocol ConsumingPolicy: BufferPolicyRules {
    /// Removes `count` held samples, in the order they train.
    static func remove(_ count: Int, from core: inout BufferCore) -> [Sample]
}

extension ConsumingPolicy {
    static var consumesSamples: Bool { true }

    static func put(_ sample: Sample, into core: inout BufferCore) -> PutOutcome {
        guard core.count < core.capacity else { return .full }
        core.append(sample)
        return .stored
    }

    static func streamingBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count >= core.batchSize else { return nil }
        return remove(core.batchSize, from: &core)
    }

    /// What is left; the last batch may be smaller.
    static func finalBatch(from core: inout BufferCore) -> [Sample]? {
        guard core.count > 0 else { return nil }
        return remove(min(core.batchSize, core.count), from: &core)
    }
}

/// Reservoirs: served samples stay for later batches, and a put into a full buffer evicts one.
/// A policy says only which one.
protocol ReservoirPolicy: BufferPolicyRules {
    /// The slot a put into a full buffer replaces.
    static func evictionIndex(in core: inout BufferCore) -> Int
}

extension ReservoirPolicy {
    static var usesWatermark: Bool { true }
    static var consumesSamples: Bool { false }

    static func put(_ sample: Sample, into core: inout BufferCore) -> PutOutcome {
        guard core.count >= core.capacity else {
            core.append(sample)
            return .stored
        }
        return core.replace(at: evictionIndex(in: &core), with: sample)
    }

    static func streamingBatch(from core: inout BufferCore) -> [Sample]? { core.randomDistinctBatch() }

    static func finalBatch(from core: inout BufferCore) -> [Sample]? { core.drainBatch() }
}

/// The held samples and the RNG, with the storage moves the policies are made of.
struct BufferCore: Sendable {
    let capacity: Int
    let batchSize: Int
    /// Held samples are `slots[head...]`: FIFO advances `head` instead of shifting the array on every batch.
    var slots: [Slot] = []
    var head = 0
    var heldBytes = 0
    var rng: SplitMix64
    /// Reservoirs only: which slots were served at least once, for seen-first eviction and unseen-first draining.
    var seenIndex: SeenIndex?

    init(capacity: Int, batchSize: Int, seed: UInt64, tracksSeen: Bool) {
        self.capacity = capacity
        self.batchSize = batchSize
        rng = SplitMix64(seed: seed)
        seenIndex = tracksSeen ? SeenIndex(size: Self.initialIndexSize(capacity)) : nil
    }

    static func initialIndexSize(_ capacity: Int) -> Int { min(capacity, 1024) }

    var count: Int { slots.count - head }

    mutating func append(_ sample: Sample) {
        if let size = seenIndex?.size, slots.count >= size {
            // Doubling keeps appends amortized O(1); reservoirs never move slots, so positions stay valid.
            seenIndex = SeenIndex(size: min(capacity, 2 * slots.count), seen: slots.map { $0.seen > 0 })
        }
        heldBytes += sample.byteCount
        slots.append(Slot(sample: sample))
    }

    /// The `n` oldest samples, removed.
    mutating func popFront(_ n: Int) -> [Sample] {
        let batch = slots[head..<(head + n)].map(\.sample)
        for sample in batch { heldBytes -= sample.byteCount }
        head += n
        // Reclaim the served prefix once it outweighs what is held, so memory stays O(capacity).
        if head >= 1024 && head * 2 >= slots.count {
            slots.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// `n` uniformly random samples, removed, in the order drawn (FIRO keeps `head` at 0).
    mutating func removeRandom(_ n: Int) -> [Sample] {
        var batch: [Sample] = []
        batch.reserveCapacity(n)
        for _ in 0..<n {
            // Order among held samples does not matter to FIRO, so swap-remove is O(1).
            let i = head + rng.index(below: count)
            slots.swapAt(i, slots.count - 1)
            let slot = slots.removeLast()
            heldBytes -= slot.sample.byteCount
            batch.append(slot.sample)
        }
        return batch
    }

    /// Counts one more batch for the sample in `slot`.
    mutating func markServed(_ slot: Int) {
        if slots[slot].seen == 0 { seenIndex?.set(slot) }
        slots[slot].seen += 1
    }

    mutating func removeAll() {
        slots = []
        head = 0
        heldBytes = 0
        seenIndex = seenIndex.map { _ in SeenIndex(size: Self.initialIndexSize(capacity)) }
    }
}
