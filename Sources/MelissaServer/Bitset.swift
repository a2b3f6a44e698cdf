/// A fixed-size set of small integers (time steps, simulation ids, ranks) packed in words.
public struct Bitset: Sendable, Equatable {
    private var words: [UInt64]
    /// Number of representable members, 0..<capacity.
    public let capacity: Int
    /// Number of members set.
    public private(set) var count: Int = 0

    public init(capacity: Int) {
        self.capacity = capacity
        words = [UInt64](repeating: 0, count: (capacity + 63) / 64)
    }

    /// True when `i` is a member.
    public func contains(_ i: Int) -> Bool {
        guard i >= 0, i < capacity else { return false }
        return words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    /// Adds `i`; returns false if it was already there (a duplicate).
    @discardableResult
    public mutating func insert(_ i: Int) -> Bool {
        precondition(i >= 0 && i < capacity, "bitset index \(i) out of 0..<\(capacity)")
        let mask: UInt64 = 1 << UInt64(i & 63)
        if words[i >> 6] & mask != 0 { return false }
        words[i >> 6] |= mask
        count += 1
        return true
    }

    /// Removes `i` if present (indices outside 0..<capacity are never members).
    public mutating func remove(_ i: Int) {
        guard i >= 0, i < capacity else { return }
        let mask: UInt64 = 1 << UInt64(i & 63)
        if words[i >> 6] & mask == 0 { return }
        words[i >> 6] &= ~mask
        count -= 1
    }

    /// The packed words, bit i of word i / 64 for member i (for checkpoints).
    public var packedWords: [UInt64] { words }

    /// A set of `capacity` members from `packedWords`; nil when the word count does not match
    /// or a bit beyond `capacity` is set.
    public init?(capacity: Int, packedWords: [UInt64]) {
        guard capacity >= 0, packedWords.count == (capacity + 63) / 64 else { return nil }
        if capacity % 64 != 0, let last = packedWords.last, last >> UInt64(capacity % 64) != 0 { return nil }
        self.capacity = capacity
        words = packedWords
        count = packedWords.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// True when every member 0..<capacity is set.
    public var isFull: Bool { count == capacity }
}
