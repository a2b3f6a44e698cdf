import MelissaProtocol

/// The launcher's memory of the numbered requests it settled, per server session: a
/// request repeated after a reconnect (or a lost answer) gets the same answer again instead
/// of a second job. Pure bookkeeping, unit-tested.
///
/// Bounded: only the last `capacity` answers are kept, so a study of any length holds the
/// same memory. Which requests were settled is kept exactly (every number up to a floor,
/// and the few settled above it), so a repeat of an older request (the server resends after
/// one ping period, so in practice never) is still never run twice: it is settled as a
/// duplicate of itself. Only the request number decides; a new request for a group whose
/// earlier job ended is a new job (docs/PROTOCOL.md, section 7).
struct RequestLedger {
    /// Answers kept at most.
    let capacity: Int
    private var answers: [UInt64: [UInt64: ControlMessage]] = [:]
    /// (session, request) in the order recorded, for eviction.
    private var order: [(session: UInt64, request: UInt64)] = []
    private var evicted = 0
    /// Per session: every request number up to `floor` was settled, and those in `above`.
    private var settled: [UInt64: (floor: UInt64, above: Set<UInt64>)] = [:]

    /// An empty ledger keeping at most `capacity` answers.
    init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// The answer to `request` of `session` if it was settled before: the stored one, or for
    /// a request whose answer was forgotten (beyond `capacity`), a `duplicate` saying so.
    func answer(session: UInt64, request: UInt64) -> ControlMessage? {
        if let stored = answers[session]?[request] { return stored }
        guard wasSettled(session: session, request: request) else { return nil }
        return .requestDone(session: session, request: request, outcome: .duplicate,
                            detail: "request \(request) was settled earlier")
    }

    /// True when `request` of `session` was settled, whether or not its answer is still kept.
    func wasSettled(session: UInt64, request: UInt64) -> Bool {
        guard let known = settled[session] else { return false }
        return request <= known.floor || known.above.contains(request)
    }

    /// Records the answer to `request` of `session`, forgetting the oldest beyond `capacity`.
    mutating func record(session: UInt64, request: UInt64, answer: ControlMessage) {
        if answers[session]?[request] == nil { order.append((session, request)) }
        answers[session, default: [:]][request] = answer
        var known = settled[session] ?? (floor: 0, above: [])
        if request > known.floor {
            known.above.insert(request)
            while known.above.remove(known.floor + 1) != nil { known.floor += 1 }
        }
        settled[session] = known
        while order.count - evicted > capacity {
            let oldest = order[evicted]
            answers[oldest.session]?[oldest.request] = nil
            evicted += 1
        }
        // Compact the order list now and then instead of shifting it on every eviction.
        if evicted > capacity {
            order.removeFirst(evicted)
            evicted = 0
        }
    }

    /// Forgets every session but `session` (a restarted server starts a new one; the old
    /// one can never speak again).
    mutating func keepOnly(session: UInt64) {
        answers = answers.filter { $0.key == session }
        settled = settled.filter { $0.key == session }
        order = order[evicted...].filter { $0.session == session }
        evicted = 0
    }

    /// Requests remembered in all, for tests and memory checks.
    var count: Int { answers.values.reduce(0) { $0 + $1.count } }
}
