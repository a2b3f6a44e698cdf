/// Two different fields whose per-cell covariance is computed (`sa_config.covariance_pairs`).
public struct FieldPair: Sendable, Hashable {
    /// The first field name, as written in the config.
    public var first: String
    /// The second field name, as written in the config.
    public var second: String

    /// Creates a pair; the parser checks that both names are fields of the study and differ.
    public init(_ first: String, _ second: String) {
        self.first = first
        self.second = second
    }

    /// The pair with its names sorted, so that `(u, v)` and `(v, u)` compare equal when looking for duplicates.
    var unordered: FieldPair {
        first <= second ? self : FieldPair(second, first)
    }
}
