/// Suggestions for misspelled keys, by edit distance.
enum KeySuggestion {
    /// Levenshtein distance between `a` and `b` (case-sensitive, per Unicode scalar), or nil when it exceeds `limit`.
    static func distance(_ a: String, _ b: String, limit: Int) -> Int? {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if abs(x.count - y.count) > limit { return nil }
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...y.count {
                let substitution = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return nil }
            swap(&previous, &current)
        }
        return previous[y.count] <= limit ? previous[y.count] : nil
    }

    /// The closest candidate to `key` (case and `-`/`_` differences are free), if it is close enough.
    ///
    /// Close enough means a distance of at most 3, and at most a third of the candidate's length
    /// (rounded up) so that short keys are not matched to anything.
    static func nearest(to key: String, among candidates: [String]) -> String? {
        guard key.utf8.count <= 128 else { return nil }
        let normalizedKey = normalize(key)
        var best: (candidate: String, distance: Int)? = nil
        for candidate in candidates {
            let allowed = min(3, max(1, (candidate.unicodeScalars.count + 2) / 3))
            guard let d = distance(normalizedKey, normalize(candidate), limit: allowed) else { continue }
            if best == nil || d < best?.distance ?? Int.max
                || (d == best?.distance && candidate < best?.candidate ?? "") {
                best = (candidate, d)
            }
        }
        return best?.candidate
    }

    private static func normalize(_ key: String) -> String {
        String(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }
}
