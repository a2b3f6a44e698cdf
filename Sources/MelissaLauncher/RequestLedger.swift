import MelissaProtocol

/// The launcher's memory of the numbered requests it settled, per server session: a
/// request repeated after a reconnect (or a lost answer) gets the same answer again instead
/// of a second job. Pure bookkeeping, unit-tested.
///
/// Bounded: only the last `capacity` answers are kept, so a study of any length holds the
/// same memory. A repeat of an older request (the server resends after one ping period, so
/// in practice never) is still never run twice: the job book sees its group already exists
/// and settles it as a duplicate.
struct RequestLedger {
    /// Answers kept at most.
    let capacity: Int
    private var answers: [UInt64: [UInt64: ControlMessage]] = [:]
    /// (session, request) in the order recorded, for eviction.
    private var order: [(session: UInt64, request: UInt64)] = []
    private var evicted = 0

    /// An empty ledger keeping at most `capacity` answers.
    init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// The stored answer to `request` of `session`, if it was settled before.
    func answer(session: UInt64, request: UInt64) -> ControlMessage? {
        answers[session]?[request]
    }

    /// Records the answer to `request` of `session`, forgetting the oldest beyond `capacity`.
    mutating func record(session: UInt64, request: UInt64, answer: ControlMessage) {
        if answers[session]?[request] == nil { order.append((session, request)) }
        answers[session, default: [:]][request] = answer
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
        order = order[evicted...].filter { $0.session == session }
        evicted = 0
    }

    /// Requests remembered in all, for tests and memory checks.
    var count: Int { answers.values.reduce(0) { $0 + $1.count } }
}
