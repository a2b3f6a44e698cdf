/// What a server rank received and what it dropped, by reason. Summed over ranks at the end.
public struct ServerCounters: Sendable, Equatable {
    public var messages: Int64 = 0
    public var bytes: Int64 = 0
    public var accepted: Int64 = 0
    public var malformed: Int64 = 0
    public var unknownSimulation: Int64 = 0
    public var unknownField: Int64 = 0
    public var outOfRangeStep: Int64 = 0
    public var misrouted: Int64 = 0
    public var duplicates: Int64 = 0
    public var closedSimulation: Int64 = 0
    public var inconsistent: Int64 = 0

    public init() {}

    /// Counters as an array, in `names` order, for MPI reductions.
    public var values: [Int64] {
        [messages, bytes, accepted, malformed, unknownSimulation, unknownField, outOfRangeStep,
         misrouted, duplicates, closedSimulation, inconsistent]
    }

    /// Names matching `values`, as written to summary.json.
    public static let names = ["messages", "bytes", "accepted", "malformed", "unknown_simulation",
                               "unknown_field", "out_of_range_step", "misrouted", "duplicates",
                               "closed_simulation", "inconsistent"]

    /// Rebuilds counters from `values` order.
    public init(values v: [Int64]) {
        precondition(v.count == Self.names.count)
        (messages, bytes, accepted, malformed, unknownSimulation, unknownField, outOfRangeStep,
         misrouted, duplicates, closedSimulation, inconsistent) =
            (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10])
    }

    /// Messages dropped for any reason.
    public var dropped: Int64 {
        malformed + unknownSimulation + unknownField + outOfRangeStep + misrouted + duplicates
            + closedSimulation + inconsistent
    }
}
