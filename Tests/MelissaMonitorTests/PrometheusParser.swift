/// A strict reader for Prometheus text format 0.0.4, enough to check what the monitor writes.
struct PrometheusExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var help: [String: String] = [:]
    var type: [String: String] = [:]
    var samples: [Sample] = []

    /// The value of the one sample named `name` with exactly `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matches = samples.filter { $0.name == name && $0.labels == labels }
        return matches.count == 1 ? matches[0].value : nil
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Parses `text`, requiring every sample's family to have `# HELP` and `# TYPE` before it.
    init(parsing text: String) throws {
        guard text.hasSuffix("\n") else { throw ParseError(line: 0, message: "no final line feed") }
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = offset + 1
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "#", Self.isName(parts[2]) else {
                    throw ParseError(line: number, message: "bad comment: \(line)")
                }
                switch parts[1] {
                case "HELP": help[String(parts[2])] = parts.count > 3 ? String(parts[3]) : ""
                case "TYPE":
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw ParseError(line: number, message: "bad TYPE: \(line)")
                    }
                    type[String(parts[2])] = String(parts[3])
                default: throw ParseError(line: number, message: "unknown comment: \(line)")
                }
                continue
            }
            var rest = Substring(line)
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
            guard Self.isName(name) else { throw ParseError(line: number, message: "bad metric name: \(line)") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let labelName = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                    guard !labelName.isEmpty else { throw ParseError(line: number, message: "bad label name: \(line)") }
                    rest = rest.dropFirst(labelName.count)
                    guard rest.hasPrefix("=\"") else { throw ParseError(line: number, message: "expected =\": \(line)") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while true {
                        guard let c = rest.first else { throw ParseError(line: number, message: "open label value") }
                        rest = rest.dropFirst()
                        if c == "\"" { break }
                        if c == "\\" {
                            guard let escaped = rest.first else { throw ParseError(line: number, message: "open escape") }
                            rest = rest.dropFirst()
                            switch escaped {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw ParseError(line: number, message: "bad escape \\\(escaped)")
                            }
                        } else {
                            value.append(c)
                        }
                    }
                    guard labels.updateValue(value, forKey: String(labelName)) == nil else {
                        throw ParseError(line: number, message: "duplicate label: \(line)")
                    }
                    if rest.first == "," { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " " else { throw ParseError(line: number, message: "no space before value: \(line)") }
            let valueText = rest.dropFirst()
            let value: Double
            switch valueText {
            case "NaN": value = .nan
            case "+Inf": value = .infinity
            case "-Inf": value = -.infinity
            default:
                guard let parsed = Double(valueText), !valueText.contains(" ") else {
                    throw ParseError(line: number, message: "bad value: \(line)")
                }
                value = parsed
            }
            guard help[String(name)] != nil, type[String(name)] != nil else {
                throw ParseError(line: number, message: "sample before its HELP and TYPE: \(line)")
            }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
    }

    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" || first == ":" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }
}
