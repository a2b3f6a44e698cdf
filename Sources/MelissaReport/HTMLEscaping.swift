// Everything user-provided (field and parameter names, notes, paths) goes through here.

/// Escaping of text for HTML/XML text content and attribute values.
public enum HTMLEscaping {
    /// Escapes `&`, `<`, `>`, `"` and `'`, and replaces characters XML forbids with U+FFFD.
    ///
    /// The report is meant to be well-formed XHTML as well as HTML (tests parse it as XML),
    /// so control characters other than tab, newline and carriage return cannot be passed
    /// through: a field name with a stray NUL would otherwise make the whole file unreadable
    /// to XML tools.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if isAllowedInXML(scalar) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "\u{FFFD}"
                }
            }
        }
        return out
    }

    /// XML 1.0 `Char` production, minus the whitespace handled by the caller.
    private static func isAllowedInXML(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x20 { return false }
        if v == 0xFFFE || v == 0xFFFF { return false }
        return true
    }
}
