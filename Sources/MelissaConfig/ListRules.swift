/// Rules shared by list-valued keys: a maximum length and no repeated values.
enum ListRules {
    /// Reports `path` when `count` exceeds `maximum`; returns whether the count is fine.
    @discardableResult
    static func checkCount(_ count: Int, atMost maximum: Int, noun: String, path: ConfigPath,
                           issues: IssueCollector) -> Bool {
        guard count > maximum else { return true }
        issues.add(path, "has \(count) \(noun)s; at most \(maximum) allowed")
        return false
    }

    /// Reports every repeated value at its own index, naming the index where it first appeared.
    ///
    /// `key` is the list's key name, used in the message (`also at threshold_values[0]`).
    static func checkNoDuplicates<Value: Hashable>(_ values: [Value], key: String, path: ConfigPath,
                                                   render: (Value) -> String, issues: IssueCollector) {
        var firstIndex: [Value: Int] = [:]
        for (index, value) in values.enumerated() {
            if let first = firstIndex[value] {
                issues.add(path.appending(index: index), "duplicate value \(render(value)) (also at \(key)[\(first)])")
            } else {
                firstIndex[value] = index
            }
        }
    }
}
