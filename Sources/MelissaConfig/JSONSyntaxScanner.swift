/// Finds the first syntax error in (comment-stripped) JSON bytes, with its offset.
///
/// Used only when JSONSerialization rejects a document without saying where (for example
/// "Unexpected end of file"). Iterative, with a nesting cap, so hostile input cannot
/// exhaust the stack.
struct JSONSyntaxScanner {
    /// The comment-stripped bytes to scan.
    let bytes: [UInt8]
    /// The original bytes (same length), used to turn offsets into line and column.
    let original: [UInt8]
    /// Deeper nesting is reported as an error instead of being scanned.
    var maximumDepth = 10_000

    private enum Expect {
        case value, valueOrClose, key, keyOrClose, colon, commaOrClose, end
    }

    private struct Open {
        let isObject: Bool
        let offset: Int
    }

    /// The first problem, or nil when the bytes are one well-formed JSON value.
    func firstProblem() -> JSONSyntaxProblem? {
        var stack: [Open] = []
        var expect = Expect.value
        var i = 0
        let n = bytes.count

        func unclosedNote() -> String {
            guard let open = stack.last else { return "" }
            let location = TextLocation(offset: open.offset, in: original)
            let bracket = open.isObject ? "{" : "["
            return "; the '\(bracket)' at line \(location.line), column \(location.column) is never closed"
        }
        func describe(_ b: UInt8) -> String {
            if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
            return "byte 0x\(String(b, radix: 16, uppercase: true))"
        }
        func valueEnded() {
            expect = stack.isEmpty ? .end : .commaOrClose
        }

        while true {
            while i < n, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D {
                i += 1
            }
            guard i < n else {
                if expect == .end { return nil }
                if stack.isEmpty && expect == .value {
                    return JSONSyntaxProblem(offset: endOfContent, message: "no JSON value (the file is empty or only comments)")
                }
                return JSONSyntaxProblem(offset: endOfContent, message: "unexpected end of file" + unclosedNote())
            }
            let b = bytes[i]
            switch expect {
            case .end:
                return JSONSyntaxProblem(offset: i, message: "unexpected \(describe(b)) after the end of the top-level value")
            case .colon:
                guard b == UInt8(ascii: ":") else {
                    return JSONSyntaxProblem(offset: i, message: "expected ':' after an object key, got \(describe(b))")
                }
                i += 1
                expect = .value
            case .commaOrClose:
                let isObject = stack.last?.isObject ?? false
                if b == UInt8(ascii: ",") {
                    i += 1
                    expect = isObject ? .key : .value
                } else if b == UInt8(ascii: isObject ? "}" : "]") {
                    stack.removeLast()
                    i += 1
                    valueEnded()
                } else {
                    let closer = isObject ? "}" : "]"
                    return JSONSyntaxProblem(offset: i, message: "expected ',' or '\(closer)', got \(describe(b))")
                }
            case .key, .keyOrClose:
                if expect == .keyOrClose && b == UInt8(ascii: "}") {
                    stack.removeLast()
                    i += 1
                    valueEnded()
                } else if b == UInt8(ascii: "\"") {
                    switch scanString(from: i) {
                    case .success(let next):
                        i = next
                        expect = .colon
                    case .failure(let problem):
                        return problem
                    }
                } else {
                    return JSONSyntaxProblem(offset: i, message: "expected a string key in double quotes, got \(describe(b))")
                }
            case .value, .valueOrClose:
                if expect == .valueOrClose && b == UInt8(ascii: "]") {
                    stack.removeLast()
                    i += 1
                    valueEnded()
                    continue
                }
                switch b {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard stack.count < maximumDepth else {
                        return JSONSyntaxProblem(offset: i, message: "nesting deeper than \(maximumDepth) levels")
                    }
                    let isObject = b == UInt8(ascii: "{")
                    stack.append(Open(isObject: isObject, offset: i))
                    i += 1
                    expect = isObject ? .keyOrClose : .valueOrClose
                case UInt8(ascii: "\""):
                    switch scanString(from: i) {
                    case .success(let next):
                        i = next
                        valueEnded()
                    case .failure(let problem):
                        return problem
                    }
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    switch scanNumber(from: i) {
                    case .success(let next):
                        i = next
                        valueEnded()
                    case .failure(let problem):
                        return problem
                    }
                default:
                    var matched = false
                    for word in Self.literals {
                        if i + word.count <= n && bytes[i..<(i + word.count)].elementsEqual(word) {
                            i += word.count
                            matched = true
                            break
                        }
                    }
                    guard matched else {
                        return JSONSyntaxProblem(offset: i, message: "expected a value, got \(describe(b))")
                    }
                    valueEnded()
                }
            }
        }
    }

    /// The offset just after the last non-blank byte: where a truncated file is reported.
    var endOfContent: Int {
        var end = bytes.count
        while end > 0, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end - 1]) { end -= 1 }
        return end
    }

    /// Scans the string whose opening quote is at `start`; returns the offset after the closing quote.
    private func scanString(from start: Int) -> Result<Int, JSONSyntaxProblem> {
        var i = start + 1
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { return .success(i + 1) }
            if b < 0x20 {
                return .failure(JSONSyntaxProblem(offset: i, message: "control character in a string (escape it)"))
            }
            if b == UInt8(ascii: "\\") {
                guard i + 1 < n else { break }
                let e = bytes[i + 1]
                if Self.simpleEscapes.contains(e) {
                    i += 2
                    continue
                }
                guard e == UInt8(ascii: "u") else {
                    return .failure(JSONSyntaxProblem(offset: i, message: "invalid escape sequence in a string"))
                }
                for k in 2..<6 {
                    guard i + k < n, isHexDigit(bytes[i + k]) else {
                        return .failure(JSONSyntaxProblem(offset: i, message: "invalid \\u escape in a string"))
                    }
                }
                i += 6
                continue
            }
            i += 1
        }
        let location = TextLocation(offset: start, in: original)
        return .failure(JSONSyntaxProblem(
            offset: endOfContent,
            message: "unexpected end of file inside the string that starts at line \(location.line), column \(location.column)"))
    }

    /// Scans a number starting at `start`; returns the offset after it.
    private func scanNumber(from start: Int) -> Result<Int, JSONSyntaxProblem> {
        var i = start
        let n = bytes.count
        func isDigit(_ at: Int) -> Bool { at < n && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
        let bad = Result<Int, JSONSyntaxProblem>.failure(JSONSyntaxProblem(offset: start, message: "malformed number"))
        if i < n && bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return bad }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) {
                return .failure(JSONSyntaxProblem(offset: start, message: "number with a leading zero"))
            }
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < n && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return bad }
            while isDigit(i) { i += 1 }
        }
        if i < n && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { return bad }
            while isDigit(i) { i += 1 }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if let value = Double(text), !value.isFinite {
            return .failure(JSONSyntaxProblem(offset: start, message: "number \(text.prefix(40)) is too large to represent"))
        }
        return .success(i)
    }

    private static let literals: [[UInt8]] = [Array("true".utf8), Array("false".utf8), Array("null".utf8)]
    private static let simpleEscapes: Set<UInt8> = Set("\"\\/bfnrt".utf8)

    private func isHexDigit(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
            || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }
}
