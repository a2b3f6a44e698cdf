import MelissaProtocol

/// The launcher's memory of every numbered request it settled, per server session: a
/// request repeated after a reconnect (or a lost answer) gets the same answer again instead
/// of a second job. Pure bookkeeping, unit-tested.
struct RequestLedger {
    private var answers: [UInt64: [UInt64: ControlMessage]] = [:]

    /// The stored answer to `request` of `session`, if it was settled before.
    func answer(session: UInt64, request: UInt64) -> ControlMessage? {
        answers[session]?[request]
    }

    /// Records the answer to `request` of `session`.
    mutating func record(session: UInt64, request: UInt64, answer: ControlMessage) {
        answers[session, default: [:]][request] = answer
    }

    /// Forgets every session but `session` (a restarted server starts a new one; the old
    /// one can never speak again).
    mutating func keepOnly(session: UInt64) {
        answers = answers.filter { $0.key == session }
    }

    /// Requests remembered in all, for tests and memory checks.
    var count: Int { answers.values.reduce(0) { $0 + $1.count } }
}
