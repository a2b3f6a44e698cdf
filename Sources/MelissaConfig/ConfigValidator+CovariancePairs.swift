import Foundation

extension ConfigValidator {
    /// Reads `sa_config.covariance_pairs`: an array of `[name, name]` arrays.
    ///
    /// Each name must be a field of the study (checked only when `fieldNames` is known), the two
    /// names of a pair must differ, and no pair may appear twice in either order. Problems are
    /// reported at `covariance_pairs[i]` (the pair) or `covariance_pairs[i][j]` (one name).
    static func readCovariancePairs(_ value: Any?, path: ConfigPath, fieldNames: [String]?,
                                    issues: IssueCollector) -> [FieldPair]? {
        guard let value else { return nil }
        guard case .array(let array) = JSONValue(value) else {
            var message = "expected an array of [field, field] pairs, got \(JSONValue(value).summary)"
            if case .null = JSONValue(value) { message += "; omit the key to use the default" }
            issues.add(path, message)
            return nil
        }
        var pairs: [FieldPair] = []
        var valid = true
        var firstIndex: [FieldPair: Int] = [:]
        for (index, element) in array.enumerated() {
            let pairPath = path.appending(index: index)
            guard let pair = readPair(element, path: pairPath, fieldNames: fieldNames, issues: issues) else {
                valid = false
                continue
            }
            if let first = firstIndex[pair.unordered] {
                issues.add(pairPath, "duplicate pair [\(quoted(pair.first)), \(quoted(pair.second))] "
                           + "(also at covariance_pairs[\(first)]; the order of the names does not matter)")
                valid = false
            } else {
                firstIndex[pair.unordered] = index
            }
            pairs.append(pair)
        }
        return valid ? pairs : nil
    }

    /// One `[name, name]` element: two known, different field names.
    private static func readPair(_ element: Any, path: ConfigPath, fieldNames: [String]?,
                                 issues: IssueCollector) -> FieldPair? {
        guard case .array(let names) = JSONValue(element), names.count == 2 else {
            issues.add(path, "expected a pair of field names like [\"u\", \"v\"], got \(JSONValue(element).summary)")
            return nil
        }
        var checked: [String] = []
        for (slot, name) in names.enumerated() {
            let namePath = path.appending(index: slot)
            guard let string = ObjectReader.checkString(name, at: namePath, expected: "a field name",
                                                        allowEmpty: false, optional: false, issues: issues) else {
                continue
            }
            if let fieldNames, !fieldNames.contains(string) {
                issues.add(namePath, unknownFieldMessage(string, fieldNames: fieldNames))
                continue
            }
            checked.append(string)
        }
        guard checked.count == 2 else { return nil }
        guard checked[0] != checked[1] else {
            issues.add(path, "a pair needs two different fields, got \(quoted(checked[0])) twice "
                       + "(a field's covariance with itself is its variance)")
            return nil
        }
        return FieldPair(checked[0], checked[1])
    }

    private static func unknownFieldMessage(_ name: String, fieldNames: [String]) -> String {
        var message = "unknown field \(quoted(name)); "
        if let suggestion = KeySuggestion.nearest(to: name, among: fieldNames) {
            message += "did you mean '\(suggestion)'? "
        }
        let listed = fieldNames.prefix(20).map { quoted($0) }.joined(separator: ", ")
        return message + "study_options.field_names: \(listed)\(fieldNames.count > 20 ? ", ..." : "")"
    }
}
