/// A syntax problem found while removing comments: byte offset and what went wrong.
struct JSONSyntaxProblem: Error, Sendable, Equatable {
    let offset: Int
    let message: String
}

/// Turns JSON-with-comments into plain JSON of the same length.
///
/// `//` line comments and `/* */` block comments outside strings become spaces (newlines are
/// kept), and a trailing comma before `}` or `]` becomes a space, so every byte offset and
/// line/column in the result is also valid in the input. Escapes inside strings are respected,
/// so `"http://x"` and `"a \" // b"` are untouched.
func stripJSONComments(_ input: [UInt8]) throws(JSONSyntaxProblem) -> [UInt8] {
    enum State {
        case normal, string, stringEscape, lineComment, blockComment
    }
    let slash = UInt8(ascii: "/"), star = UInt8(ascii: "*"), quote = UInt8(ascii: "\"")
    let backslash = UInt8(ascii: "\\"), newline = UInt8(ascii: "\n"), space = UInt8(ascii: " ")
    let comma = UInt8(ascii: ","), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r")

    var bytes = input
    var state = State.normal
    var blockStart = 0
    var lastSignificant: UInt8? = nil     // last non-blank byte outside comments and strings
    var pendingComma: Int? = nil          // a comma that may turn out to be a trailing one
    var commaFollows: UInt8? = nil        // the significant byte before that comma

    var i = 0
    let n = bytes.count
    while i < n {
        let b = bytes[i]
        switch state {
        case .normal:
            if b == space || b == tab || b == newline || b == cr {
                break
            }
            if b == slash, i + 1 < n, bytes[i + 1] == slash || bytes[i + 1] == star {
                state = bytes[i + 1] == slash ? .lineComment : .blockComment
                blockStart = i
                bytes[i] = space
                bytes[i + 1] = space
                i += 1
                break
            }
            if b == 0 {
                throw JSONSyntaxProblem(offset: i, message: "unexpected NUL byte")
            }
            if let commaIndex = pendingComma {
                let closes = b == UInt8(ascii: "}") || b == UInt8(ascii: "]")
                let opensOrSeparates = commaFollows == nil || commaFollows == UInt8(ascii: "{")
                    || commaFollows == UInt8(ascii: "[") || commaFollows == comma
                if closes && !opensOrSeparates {
                    bytes[commaIndex] = space
                }
                pendingComma = nil
            }
            if b == comma {
                pendingComma = i
                commaFollows = lastSignificant
            }
            if b == quote {
                state = .string
            }
            lastSignificant = b
        case .string:
            if b == backslash {
                state = .stringEscape
            } else if b == quote {
                state = .normal
            } else if b == 0 {
                throw JSONSyntaxProblem(offset: i, message: "unexpected NUL byte in a string (write \\u0000)")
            }
        case .stringEscape:
            if b == 0 {
                throw JSONSyntaxProblem(offset: i, message: "unexpected NUL byte in a string (write \\u0000)")
            }
            state = .string
        case .lineComment:
            if b == newline {
                state = .normal
            } else {
                bytes[i] = space
            }
        case .blockComment:
            if b == star, i + 1 < n, bytes[i + 1] == slash {
                bytes[i] = space
                bytes[i + 1] = space
                i += 1
                state = .normal
            } else if b != newline {
                bytes[i] = space
            }
        }
        i += 1
    }
    if state == .blockComment {
        throw JSONSyntaxProblem(offset: blockStart, message: "unterminated block comment (missing '*/')")
    }
    return bytes
}
