import Foundation

/// A location inside the JSON document, rendered as `section.key[3]`.
struct ConfigPath: Sendable, Hashable {
    enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    var components: [Component] = []

    static let root = ConfigPath()

    func appending(_ key: String) -> ConfigPath {
        ConfigPath(components: components + [.key(key)])
    }

    func appending(index: Int) -> ConfigPath {
        ConfigPath(components: components + [.index(index)])
    }

    /// `a.b[2]`; keys that are not plain identifiers are written `["odd key"]` with JSON escapes.
    var rendered: String {
        var out = ""
        for component in components {
            switch component {
            case .key(let key):
                if Self.isPlainKey(key) {
                    if !out.isEmpty { out += "." }
                    out += key
                } else {
                    out += "[\(quoted(key))]"
                }
            case .index(let index):
                out += "[\(index)]"
            }
        }
        return out
    }

    /// The rendered path of the enclosing object, or a phrase for the top level.
    var sectionName: String {
        components.isEmpty ? "the top level" : rendered
    }

    private static func isPlainKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, key.utf8.count <= 64 else { return false }
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || s == "_"
        }
        guard isLetter(first) else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ($0 >= "0" && $0 <= "9") || $0 == "-" }
    }

    /// Orders rendered paths so that runs of digits compare as numbers (`x[2]` before `x[10]`).
    static func compareRendered(_ lhs: String, _ rhs: String) -> ComparisonResult {
        let a = Array(lhs.unicodeScalars), b = Array(rhs.unicodeScalars)
        var i = 0, j = 0
        func isDigit(_ s: Unicode.Scalar) -> Bool { s >= "0" && s <= "9" }
        while i < a.count && j < b.count {
            if isDigit(a[i]) && isDigit(b[j]) {
                let startA = i, startB = j
                while i < a.count && isDigit(a[i]) { i += 1 }
                while j < b.count && isDigit(b[j]) { j += 1 }
                // Compare digit runs by numeric value without overflow: strip leading zeros, then length, then text.
                let runA = a[startA..<i].drop { $0 == "0" }, runB = b[startB..<j].drop { $0 == "0" }
                if runA.count != runB.count { return runA.count < runB.count ? .orderedAscending : .orderedDescending }
                for (x, y) in zip(runA, runB) where x != y {
                    return x.value < y.value ? .orderedAscending : .orderedDescending
                }
                continue
            }
            if a[i] != b[j] { return a[i].value < b[j].value ? .orderedAscending : .orderedDescending }
            i += 1
            j += 1
        }
        if i < a.count { return .orderedDescending }
        if j < b.count { return .orderedAscending }
        return .orderedSame
    }
}

/// A user-supplied string as a short, single-line, JSON-escaped literal for error messages.
func quoted(_ text: String, limit: Int = 60) -> String {
    var out = "\""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            out += "..."
            break
        }
        count += 1
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || (scalar.value >= 0x80 && scalar.value < 0xA0)
                || scalar.value == 0x2028 || scalar.value == 0x2029
                || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                out += String(format: "\\u%04X", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
