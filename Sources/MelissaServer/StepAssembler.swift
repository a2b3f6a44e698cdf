import MelissaCheckpoint

/// Gathers the pieces of one (simulation, field, time step) until this rank's whole block of
/// it has arrived, for flavors that use a step at once (a training sample is a whole field at
/// one step; the statistics flavor applies pieces as they come and needs none of this).
///
/// Pieces come from `apply`, after admission and the exactly-once tracker, so each value
/// arrives once and a block completes exactly when `blockSize` values arrived. Memory is
/// bounded: a piece that would start a new step beyond `limitBytes` is refused (the flavor
/// records the loss; the tracker has it as received). Partial steps are part of the flavor's
/// checkpoint (`encode`/`restore`), since the tracker's checkpoint counts their pieces received.
public struct StepAssembler {
    /// One (simulation, field, time step).
    public struct Key: Hashable, Sendable, Comparable {
        public var simulation: UInt32
        public var field: UInt32
        public var step: UInt32
        public init(simulation: UInt32, field: UInt32, step: UInt32) {
            self.simulation = simulation
            self.field = field
            self.step = step
        }
        public static func < (a: Key, b: Key) -> Bool {
            (a.simulation, a.field, a.step) < (b.simulation, b.field, b.step)
        }
    }

    /// What `add` did with a piece.
    public enum Outcome: Equatable {
        /// Kept; the step's block is not complete yet.
        case pending
        /// The step's block is complete: its values, in block order (ownership passes to the caller).
        case complete(Key, [Double])
        /// Not kept: holding another step would exceed the limit.
        case refusedFull
        /// Not kept: the piece does not fit the step's block (another block size, or out of it).
        case refusedMismatch
    }

    struct Partial {
        var values: [Double]
        var filled: Int
    }

    /// Upper bound of the values held, in bytes.
    public let limitBytes: Int
    var partial: [Key: Partial] = [:]
    /// Bytes held by partial steps.
    public private(set) var heldBytes = 0

    /// An assembler holding at most `limitBytes` of partial steps.
    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Steps with some but not all of their block.
    public var pendingSteps: Int { partial.count }

    /// Adds `count` values landing at `localOffset` in a block of `blockSize` values.
    public mutating func add(_ key: Key, blockSize: Int, localOffset: Int,
                             values: UnsafeBufferPointer<Double>) -> Outcome {
        guard localOffset >= 0, localOffset <= blockSize, values.count <= blockSize - localOffset else {
            return .refusedMismatch
        }
        var entry: Partial
        if let known = partial[key] {
            guard known.values.count == blockSize else { return .refusedMismatch }
            entry = known
            partial[key] = nil
        } else {
            if values.count == blockSize {
                // A whole block in one piece: nothing to hold.
                return .complete(key, Array(values))
            }
            let bytes = blockSize * MemoryLayout<Double>.stride
            guard heldBytes + bytes <= limitBytes else { return .refusedFull }
            entry = Partial(values: Array(repeating: 0, count: blockSize), filled: 0)
            heldBytes += bytes
        }
        entry.values.withUnsafeMutableBufferPointer { target in
            for (i, v) in values.enumerated() { target[localOffset + i] = v }
        }
        entry.filled += values.count
        if entry.filled >= blockSize {
            heldBytes -= blockSize * MemoryLayout<Double>.stride
            return .complete(key, entry.values)
        }
        partial[key] = entry
        return .pending
    }

    /// Adds a data piece (its values are borrowed for the call only).
    public mutating func add(_ piece: DataPiece) -> Outcome {
        let key = Key(simulation: piece.header.simulationID, field: piece.header.field, step: piece.header.timeStep)
        return piece.withValues {
            add(key, blockSize: Int(piece.layout.blockSize), localOffset: piece.localOffset, values: $0)
        }
    }

    /// Drops every partial step of `simulation` (abandoned, or redrawn before it completed);
    /// returns the (field, step)s dropped, for `forgetReceived`.
    @discardableResult
    public mutating func drop(simulation: UInt32) -> [(field: Int, step: Int)] {
        let keys = partial.keys.filter { $0.simulation == simulation }.sorted()
        for key in keys {
            heldBytes -= (partial[key]?.values.count ?? 0) * MemoryLayout<Double>.stride
            partial[key] = nil
        }
        return keys.map { (Int($0.field), Int($0.step)) }
    }

    /// Writes the partial steps (for the flavor's checkpoint section).
    public func encode(into encoder: inout CheckpointEncoder) {
        encoder.u64(UInt64(partial.count))
        for key in partial.keys.sorted() {
            guard let entry = partial[key] else { continue }
            encoder.u32(key.simulation); encoder.u32(key.field); encoder.u32(key.step)
            encoder.u64(UInt64(entry.filled))
            encoder.f64Array(entry.values)
        }
    }

    /// Reads what `encode` wrote, replacing the current state; refuses a state beyond the limit.
    public mutating func restore(from decoder: inout CheckpointDecoder) throws {
        var restored: [Key: Partial] = [:]
        var bytes = 0
        let count = try decoder.u64(field: "partial steps")
        for _ in 0..<count {
            let key = Key(simulation: try decoder.u32(field: "simulation"), field: try decoder.u32(field: "field"),
                          step: try decoder.u32(field: "step"))
            let filled = try decoder.u64(field: "filled")
            let values = try decoder.f64Array(field: "values")
            guard filled < UInt64(values.count), restored[key] == nil else {
                throw ServerError.setup("step assembler: partial step \(key) holds \(filled) of \(values.count) values or is repeated")
            }
            bytes += values.count * MemoryLayout<Double>.stride
            restored[key] = Partial(values: values, filled: Int(filled))
        }
        guard bytes <= limitBytes else {
            throw ServerError.setup("step assembler: the checkpoint holds \(bytes) bytes of partial steps, more than the limit of \(limitBytes)")
        }
        partial = restored
        heldBytes = bytes
    }
}
