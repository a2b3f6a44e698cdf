import MelissaCheckpoint

/// Which data waits together: an owner (a Sobol group, or a simulation for a covariance
/// pair), a slot (the field for a group, nbFields + the pair index for a pair: disjoint, so a
/// group and a simulation with the same number never share a key), and a time step.
struct JoinKey: Hashable {
    let owner: UInt32
    let slot: UInt32
    let step: UInt32
}

/// One (owner, slot, step) waiting for its parts: `parts` rows of `blockSize` values (this
/// rank's block), filled piece by piece. A part is complete once it delivered `blockSize`
/// values; the completion tracker already dropped duplicates, so counting values is exact.
final class JoinEntry {
    let parts: Int
    let blockSize: Int
    /// parts × blockSize values, part-major.
    let values: UnsafeMutableBufferPointer<Double>
    fileprivate var received: [Int]
    fileprivate var arrived: [Bool]
    fileprivate(set) var completeParts = 0

    init(parts: Int, blockSize: Int) {
        self.parts = parts
        self.blockSize = blockSize
        values = .allocate(capacity: max(1, parts * blockSize))
        received = Array(repeating: 0, count: parts)
        arrived = Array(repeating: false, count: parts)
    }

    deinit { values.deallocate() }

    var bytes: Int { max(1, parts * blockSize) * MemoryLayout<Double>.stride }
    var isComplete: Bool { completeParts == parts }

    /// Row `part` of the entry.
    func row(_ part: Int) -> UnsafeBufferPointer<Double> {
        UnsafeBufferPointer(rebasing: values[(part * blockSize)..<((part + 1) * blockSize)])
    }

    /// Copies a piece into row `part` at `localOffset`.
    func store(part: Int, localOffset: Int, piece: UnsafeBufferPointer<Double>) {
        if let source = piece.baseAddress, !piece.isEmpty {
            (values.baseAddress! + part * blockSize + localOffset).update(from: source, count: piece.count)
        }
        let wasComplete = arrived[part] && received[part] == blockSize
        arrived[part] = true
        received[part] += piece.count
        if !wasComplete, received[part] == blockSize { completeParts += 1 }
    }

    /// Ready for reuse under another key.
    func reset() {
        for p in 0..<parts { received[p] = 0; arrived[p] = false }
        completeParts = 0
    }
}

/// Data held back until its partners arrive: the p+2 members of a Sobol group at one step
/// (applied together, exactly once), or the two fields of a covariance pair. Bounded by
/// `limitBytes` so a straggling member cannot grow the server without limit; released
/// entries are recycled, so steady state allocates nothing per message.
struct JoinCache {
    /// What adding a piece did.
    enum Outcome {
        /// Stored; the entry still waits for other parts.
        case waiting
        /// Stored, and every part is complete: apply the entry, then `release` it.
        case complete(JoinEntry)
        /// Refused: a new entry would exceed the limit. The piece is not stored.
        case overflow
        /// Refused: the piece does not fit the entry (another block size, beyond the block).
        case mismatch
    }

    let limitBytes: Int
    /// Memory held: waiting entries plus released ones kept for reuse (never above the limit).
    private(set) var bytes = 0
    fileprivate var entries: [JoinKey: JoinEntry] = [:]
    /// Released entries by shape (parts, block size), reused before allocating.
    private var pool: [[Int]: [JoinEntry]] = [:]

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Entries waiting.
    var count: Int { entries.count }

    /// Stores `piece` as row `part` (of `parts`) of the entry for `key`.
    mutating func add(key: JoinKey, part: Int, parts: Int, blockSize: Int, localOffset: Int,
                      piece: UnsafeBufferPointer<Double>) -> Outcome {
        let entry: JoinEntry
        if let existing = entries[key] {
            entry = existing
        } else {
            guard part < parts, localOffset >= 0, localOffset + piece.count <= blockSize else { return .mismatch }
            guard let fresh = takeEntry(parts: parts, blockSize: blockSize) else { return .overflow }
            entry = fresh
            entries[key] = entry
        }
        guard entry.parts == parts, entry.blockSize == blockSize, part < parts,
              localOffset >= 0, localOffset + piece.count <= blockSize else { return .mismatch }
        entry.store(part: part, localOffset: localOffset, piece: piece)
        return entry.isComplete ? .complete(entry) : .waiting
    }

    /// Forgets `key` once its entry was applied, keeping the memory for reuse.
    mutating func release(_ key: JoinKey) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        entry.reset()
        pool[[entry.parts, entry.blockSize], default: []].append(entry)
    }

    /// Drops every entry of `owner` whose slot is in `slots` (its data can never complete,
    /// or came from a parameter draw that was replaced). Returns the keys dropped.
    @discardableResult
    mutating func discard(owner: UInt32, slots: Range<UInt32> = 0..<UInt32.max) -> [JoinKey] {
        let keys = entries.keys.filter { $0.owner == owner && slots.contains($0.slot) }
        for key in keys { release(key) }
        return keys
    }

    /// A reset entry of this shape: pooled if one is free, else new if the limit allows,
    /// after freeing pooled entries of other shapes. Nil when the limit is reached.
    fileprivate mutating func takeEntry(parts: Int, blockSize: Int) -> JoinEntry? {
        let shape = [parts, blockSize]
        if let reused = pool[shape]?.popLast() { return reused }
        let needed = max(1, parts * blockSize) * MemoryLayout<Double>.stride
        while bytes + needed > limitBytes, let other = pool.first(where: { !$0.value.isEmpty })?.key,
              let dropped = pool[other]?.popLast() {
            bytes -= dropped.bytes
        }
        guard bytes + needed <= limitBytes else { return nil }
        bytes += needed
        return JoinEntry(parts: parts, blockSize: blockSize)
    }
}

/// The cache in a checkpoint (`JOIN`): every waiting entry with the values it holds, so
/// pieces that arrived before a restart still meet their partners after it.
extension JoinCache {
    func encode(into w: inout CheckpointEncoder) {
        let keys = entries.keys.sorted { ($0.owner, $0.slot, $0.step) < ($1.owner, $1.slot, $1.step) }
        w.u64(UInt64(keys.count))
        for key in keys {
            guard let entry = entries[key] else { continue }
            w.u32(key.owner); w.u32(key.slot); w.u32(key.step)
            w.u64(UInt64(entry.parts)); w.u64(UInt64(entry.blockSize))
            w.u64Array(entry.received.map(UInt64.init))
            for a in entry.arrived { w.bool(a) }
            w.f64s(UnsafeBufferPointer(entry.values))
        }
    }

    /// Replaces the cache's content with a checkpoint's; keys must lie below the bounds given
    /// and the entries within the cache's limit.
    mutating func restore(from r: inout CheckpointDecoder, maxOwner: UInt32, maxSlot: UInt32,
                          maxStep: UInt32) throws(CheckpointError) {
        let count = try r.u64(field: "entries")
        for key in Array(entries.keys) { release(key) }
        for _ in 0..<count {
            let key = JoinKey(owner: try r.u32(field: "owner"), slot: try r.u32(field: "slot"), step: try r.u32(field: "step"))
            guard key.owner < maxOwner, key.slot < maxSlot, key.step < maxStep else {
                throw r.invalid(field: "entry key", "(\(key.owner), \(key.slot), \(key.step)) outside the study")
            }
            let parts = try r.u64(field: "parts"), blockSize = try r.u64(field: "block size")
            guard parts >= 1, parts <= 1 << 16, blockSize <= 1 << 40 else {
                throw r.invalid(field: "entry shape", "\(parts) parts of \(blockSize)")
            }
            let received = try r.u64Array(field: "received")
            guard received.count == Int(parts), received.allSatisfy({ $0 <= blockSize }) else {
                throw r.invalid(field: "received", "does not match \(parts) parts of \(blockSize)")
            }
            var arrived: [Bool] = []
            for _ in 0..<parts { arrived.append(try r.bool(field: "arrived")) }
            let values = try r.f64Array(field: "values")
            guard values.count == max(1, Int(parts * blockSize)) else {
                throw r.invalid(field: "values", "\(values.count), expected \(parts * blockSize)")
            }
            guard let entry = takeEntry(parts: Int(parts), blockSize: Int(blockSize)) else {
                throw r.invalid(field: "entries", "more than sa_config.cache_limit_mb holds")
            }
            for (i, v) in values.prefix(entry.values.count).enumerated() { entry.values[i] = v }
            entry.received = received.map { Int($0) }
            entry.arrived = arrived
            entry.completeParts = zip(arrived, entry.received).filter { $0 && $1 == Int(blockSize) }.count
            entries[key] = entry
        }
    }
}
