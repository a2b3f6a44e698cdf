import Foundation

/// Collects issues while a config is checked; keeps at most `limit` so hostile input stays cheap.
final class IssueCollector {
    private(set) var issues: [ConfigIssue] = []
    private(set) var dropped = 0
    let limit: Int

    init(limit: Int = 1000) {
        self.limit = limit
    }

    var isEmpty: Bool { issues.isEmpty && dropped == 0 }

    /// Records an issue; once `limit` issues are kept, only counts it (the message is not even built).
    func add(_ path: ConfigPath, _ message: @autoclosure () -> String) {
        if issues.count < limit {
            issues.append(ConfigIssue(keyPath: path.rendered, message: message()))
        } else {
            dropped += 1
        }
    }

    func add(_ issue: ConfigIssue) {
        if issues.count < limit {
            issues.append(issue)
        } else {
            dropped += 1
        }
    }

    /// The issues plus, if some were dropped, a top-level note saying how many.
    var all: [ConfigIssue] {
        guard dropped > 0 else { return issues }
        return issues + [ConfigIssue(keyPath: "", message: "\(dropped) more issues not listed (only the first \(limit) are)")]
    }
}

/// Typed reads of one JSON object's keys, reporting every problem with its key path.
///
/// Each read returns nil when the key is absent or its value is invalid; an invalid value,
/// and a missing required key, are recorded in the collector. Callers build the config only
/// when the collector stays empty, so a nil from an invalid value is never mistaken for a default.
struct ObjectReader {
    let object: [String: Any]
    let path: ConfigPath
    let issues: IssueCollector

    /// Reads `object` at `path`, reporting keys that are not in `allowedKeys`.
    init(object: [String: Any], path: ConfigPath, allowedKeys: [String], issues: IssueCollector) {
        self.object = object
        self.path = path
        self.issues = issues
        for key in object.keys.sorted() where !allowedKeys.contains(key) {
            issues.add(path.appending(key), Self.unknownKeyMessage(key, at: path, allowedKeys: allowedKeys))
        }
    }

    private static func unknownKeyMessage(_ key: String, at path: ConfigPath, allowedKeys: [String]) -> String {
        if let suggestion = KeySuggestion.nearest(to: key, among: allowedKeys) {
            return "unknown key; did you mean '\(suggestion)'?"
        }
        let homes = ConfigSchema.sectionsContaining(key)
        if !homes.isEmpty {
            let list = homes.map { $0.isEmpty ? "the top level" : $0 }.joined(separator: " or ")
            return "unknown key here; '\(key)' belongs in \(list)"
        }
        return "unknown key; valid keys in \(path.sectionName): \(allowedKeys.joined(separator: ", "))"
    }

    private func missing(_ key: String, expected: String) {
        issues.add(path.appending(key), "missing required key (expected \(expected))")
    }

    private func wrongType(_ keyPath: ConfigPath, expected: String, got value: JSONValue, optional: Bool) {
        var message = "expected \(expected), got \(value.summary)"
        if case .null = value, optional { message += "; omit the key to use the default" }
        issues.add(keyPath, message)
    }

    /// The raw value of `key`, reporting it as missing when `required`.
    private func raw(_ key: String, required: Bool, expected: String) -> Any? {
        guard let value = object[key] else {
            if required { missing(key, expected: expected) }
            return nil
        }
        return value
    }

    /// A string value; rejects NUL characters and, unless `allowEmpty`, the empty string.
    func string(_ key: String, required: Bool, allowEmpty: Bool = false) -> String? {
        let expected = allowEmpty ? "a string" : "a non-empty string"
        guard let value = raw(key, required: required, expected: expected) else { return nil }
        return Self.checkString(value, at: path.appending(key), expected: expected, allowEmpty: allowEmpty,
                                optional: !required, issues: issues)
    }

    /// `value` as a string (see `string(_:required:allowEmpty:)`), reporting a bad value at `keyPath`.
    static func checkString(_ value: Any, at keyPath: ConfigPath, expected: String, allowEmpty: Bool,
                                    optional: Bool, issues: IssueCollector) -> String? {
        let json = JSONValue(value)
        guard case .string(let string) = json else {
            var message = "expected \(expected), got \(json.summary)"
            if case .null = json, optional { message += "; omit the key to use the default" }
            issues.add(keyPath, message)
            return nil
        }
        if !allowEmpty && string.isEmpty {
            issues.add(keyPath, "must not be empty")
            return nil
        }
        if string.utf8.contains(0) {
            issues.add(keyPath, "must not contain a NUL character (\\u0000)")
            return nil
        }
        return string
    }

    /// An array of strings; each bad element is reported at `key[i]`.
    func stringArray(_ key: String, required: Bool, allowEmptyElements: Bool = true) -> [String]? {
        guard let value = raw(key, required: required, expected: "an array of strings") else { return nil }
        let keyPath = path.appending(key)
        guard case .array(let array) = JSONValue(value) else {
            wrongType(keyPath, expected: "an array of strings", got: JSONValue(value), optional: !required)
            return nil
        }
        var result: [String] = []
        var valid = true
        for (index, element) in array.enumerated() {
            if let string = Self.checkString(element, at: keyPath.appending(index: index),
                                             expected: allowEmptyElements ? "a string" : "a non-empty string",
                                             allowEmpty: allowEmptyElements, optional: false, issues: issues) {
                result.append(string)
            } else {
                valid = false
            }
        }
        return valid ? result : nil
    }

    /// An integer in `range`; fractional numbers, booleans and other kinds are type errors.
    func int(_ key: String, required: Bool, range: ClosedRange<Int>) -> Int? {
        let expected = "an integer \(Self.describe(range))"
        guard let value = raw(key, required: required, expected: expected) else { return nil }
        return Self.checkInt(value, at: path.appending(key), range: range, optional: !required, issues: issues)
    }

    /// An array of integers, each in `range`; each bad element is reported at `key[i]`.
    func intArray(_ key: String, required: Bool, range: ClosedRange<Int>) -> [Int]? {
        let expected = "an array of integers \(Self.describe(range))"
        guard let value = raw(key, required: required, expected: expected) else { return nil }
        let keyPath = path.appending(key)
        guard case .array(let array) = JSONValue(value) else {
            wrongType(keyPath, expected: "an array of integers", got: JSONValue(value), optional: !required)
            return nil
        }
        var result: [Int] = []
        var valid = true
        for (index, element) in array.enumerated() {
            if let integer = Self.checkInt(element, at: keyPath.appending(index: index), range: range,
                                           optional: false, issues: issues) {
                result.append(integer)
            } else {
                valid = false
            }
        }
        return valid ? result : nil
    }

    private static func checkInt(_ value: Any, at keyPath: ConfigPath, range: ClosedRange<Int>, optional: Bool,
                                 issues: IssueCollector) -> Int? {
        let json = JSONValue(value)
        guard case .number(let number) = json else {
            var message = "expected an integer, got \(json.summary)"
            if case .null = json, optional { message += "; omit the key to use the default" }
            issues.add(keyPath, message)
            return nil
        }
        switch JSONValue.classifyInteger(number) {
        case .fractional:
            issues.add(keyPath, "expected an integer, got a number with a fractional part (\(JSONValue.render(number)))")
            return nil
        case .outOfRange:
            issues.add(keyPath, "must be an integer \(Self.describe(range)), got \(number.stringValue.prefix(40))")
            return nil
        case .integer(let integer):
            guard range.contains(integer) else {
                issues.add(keyPath, "must be \(Self.describe(range)), got \(integer)")
                return nil
            }
            return integer
        }
    }

    /// A finite number greater than `exclusiveMinimum` and at most `maximum`.
    func number(_ key: String, required: Bool, greaterThan exclusiveMinimum: Double, atMost maximum: Double) -> Double? {
        let expected = "a number greater than \(Self.format(exclusiveMinimum))"
        guard let value = raw(key, required: required, expected: expected) else { return nil }
        let keyPath = path.appending(key)
        let json = JSONValue(value)
        guard case .number(let number) = json else {
            wrongType(keyPath, expected: "a number", got: json, optional: !required)
            return nil
        }
        let double = number.doubleValue
        guard double.isFinite, double > exclusiveMinimum, double <= maximum else {
            issues.add(keyPath, "must be greater than \(Self.format(exclusiveMinimum)) and at most "
                       + "\(Self.format(maximum)), got \(JSONValue.render(number))")
            return nil
        }
        return double
    }

    /// An array of finite numbers; each bad element is reported at `key[i]`.
    func numberArray(_ key: String, required: Bool) -> [Double]? {
        guard let value = raw(key, required: required, expected: "an array of numbers") else { return nil }
        let keyPath = path.appending(key)
        guard case .array(let array) = JSONValue(value) else {
            wrongType(keyPath, expected: "an array of numbers", got: JSONValue(value), optional: !required)
            return nil
        }
        var result: [Double] = []
        var valid = true
        for (index, element) in array.enumerated() {
            let json = JSONValue(element)
            guard case .number(let number) = json else {
                issues.add(keyPath.appending(index: index), "expected a number, got \(json.summary)")
                valid = false
                continue
            }
            let double = number.doubleValue
            guard double.isFinite else {
                issues.add(keyPath.appending(index: index), "must be a finite number, got \(number.stringValue.prefix(40))")
                valid = false
                continue
            }
            result.append(double)
        }
        return valid ? result : nil
    }

    /// A boolean (`true`/`false`; numbers are not accepted).
    func bool(_ key: String, required: Bool) -> Bool? {
        guard let value = raw(key, required: required, expected: "a boolean") else { return nil }
        let json = JSONValue(value)
        guard case .bool(let bool) = json else {
            wrongType(path.appending(key), expected: "a boolean (true or false)", got: json, optional: !required)
            return nil
        }
        return bool
    }

    /// A nested object.
    func object(_ key: String, required: Bool) -> [String: Any]? {
        guard let value = raw(key, required: required, expected: "an object") else { return nil }
        let json = JSONValue(value)
        guard case .object(let object) = json else {
            wrongType(path.appending(key), expected: "an object", got: json, optional: !required)
            return nil
        }
        return object
    }

    /// A string naming one case of `E`; the error suggests the nearest value and lists the valid ones.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, required: Bool, as type: E.Type) -> E?
    where E.RawValue == String {
        let valid = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        guard let value = raw(key, required: required, expected: "one of \(valid)") else { return nil }
        let json = JSONValue(value)
        guard case .string(let string) = json else {
            wrongType(path.appending(key), expected: "a string, one of \(valid)", got: json, optional: !required)
            return nil
        }
        guard let choice = E(rawValue: string) else {
            var message = "unknown value \(quoted(string)); "
            if let suggestion = KeySuggestion.nearest(to: string, among: E.allCases.map(\.rawValue)) {
                message += "did you mean '\(suggestion)'? "
            }
            issues.add(path.appending(key), message + "valid values: \(valid)")
            return nil
        }
        return choice
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (Int.min, Int.max): return "(any value)"
        case (let low, Int.max): return "at least \(low)"
        case (Int.min, let high): return "at most \(high)"
        case (let low, let high): return "between \(low) and \(high)"
        }
    }

    static func format(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}
