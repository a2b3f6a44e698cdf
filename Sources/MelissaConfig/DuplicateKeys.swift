import Foundation

/// Finds keys that appear more than once in the same object of well-formed JSON.
///
/// JSONSerialization silently keeps one of the values, so a copy-pasted `"job_limit"` would
/// win or lose without a word; this scan reports each repeated key with its path. Runs on
/// comment-stripped bytes that JSONSerialization already accepted, so the input is known to
/// be well formed and its depth bounded.
func findDuplicateKeys(_ bytes: [UInt8]) -> [ConfigIssue] {
    final class Frame {
        let isObject: Bool
        var index = 0
        var currentKey = ""
        var expectingKey = true
        var counts: [String: Int] = [:]
        var order: [String] = []
        init(isObject: Bool) { self.isObject = isObject }
    }

    var stack: [Frame] = []
    var issues: [ConfigIssue] = []

    func path(upTo depth: Int) -> ConfigPath {
        var path = ConfigPath.root
        for frame in stack.prefix(depth) {
            path = frame.isObject ? path.appending(frame.currentKey) : path.appending(index: frame.index)
        }
        return path
    }

    var i = 0
    let n = bytes.count
    while i < n {
        let b = bytes[i]
        switch b {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            stack.append(Frame(isObject: b == UInt8(ascii: "{")))
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            guard let frame = stack.last else { break }
            let parent = path(upTo: stack.count - 1)
            for key in frame.order {
                if let count = frame.counts[key], count > 1 {
                    issues.append(ConfigIssue(
                        keyPath: parent.appending(key).rendered,
                        message: "key appears \(count) times in the same object; keep only one"))
                }
            }
            stack.removeLast()
        case UInt8(ascii: ","):
            if let frame = stack.last {
                if frame.isObject { frame.expectingKey = true } else { frame.index += 1 }
            }
        case UInt8(ascii: ":"):
            stack.last?.expectingKey = false
        case UInt8(ascii: "\""):
            let start = i
            var hasEscape = false
            i += 1
            while i < n && bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") {
                    hasEscape = true
                    i += 1
                }
                i += 1
            }
            if let frame = stack.last, frame.isObject, frame.expectingKey {
                let end = min(i, n)
                let key: String
                if hasEscape {
                    let literal = Data(bytes[start..<min(end + 1, n)])
                    key = (try? JSONSerialization.jsonObject(with: literal, options: [.fragmentsAllowed])) as? String
                        ?? String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
                } else {
                    key = String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
                }
                frame.currentKey = key
                if let count = frame.counts[key] {
                    frame.counts[key] = count + 1
                } else {
                    frame.counts[key] = 1
                    frame.order.append(key)
                }
            }
        default:
            break
        }
        i += 1
    }
    return issues
}
