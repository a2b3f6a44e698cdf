/// Byte-level helpers over the raw config: UTF-8 validation and offset to line/column.
struct TextLocation: Sendable, Equatable {
    /// 1-based line number (lines end at `\n`).
    let line: Int
    /// 1-based column, counted in Unicode scalars from the start of the line.
    let column: Int

    /// The line and column of byte `offset` in `bytes`, which must be valid UTF-8 before `offset`.
    init(offset: Int, in bytes: [UInt8]) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var column = 1
        var index = 0
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        self.line = line
        self.column = column
    }
}

/// The offset of the first byte that is not part of a well-formed UTF-8 sequence, or nil.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var i = 0
    let n = bytes.count
    while i < n {
        let b0 = bytes[i]
        if b0 < 0x80 {
            i += 1
            continue
        }
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF   // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0            // no overlong forms
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F           // no UTF-16 surrogates
        case 0xF0: length = 4; low = 0x90            // no overlong forms
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F           // nothing above U+10FFFF
        default: return i
        }
        guard i + 1 < n, bytes[i + 1] >= low, bytes[i + 1] <= high else { return i }
        for k in 2..<length {
            guard i + k < n, bytes[i + k] & 0xC0 == 0x80 else { return i }
        }
        i += length
    }
    return nil
}
