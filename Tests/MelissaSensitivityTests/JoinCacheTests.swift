import MelissaCheckpoint
import XCTest
@testable import MelissaSensitivity

final class JoinCacheTests: XCTestCase {
    private func add(_ cache: inout JoinCache, _ key: JoinKey, part: Int, parts: Int = 3, blockSize: Int = 4,
                     offset: Int = 0, _ values: [Double]) -> JoinCache.Outcome {
        values.withUnsafeBufferPointer {
            cache.add(key: key, part: part, parts: parts, blockSize: blockSize, localOffset: offset, piece: $0)
        }
    }

    private func isWaiting(_ outcome: JoinCache.Outcome) -> Bool {
        if case .waiting = outcome { return true }
        return false
    }

    func testCompletesOnlyWhenEveryPartHasItsWholeBlock() throws {
        var cache = JoinCache(limitBytes: 1 << 20)
        let key = JoinKey(owner: 7, slot: 0, step: 2)
        XCTAssertTrue(isWaiting(add(&cache, key, part: 1, [10, 11, 12, 13])))
        // Part 0 arrives in two pieces, out of order.
        XCTAssertTrue(isWaiting(add(&cache, key, part: 0, offset: 2, [2, 3])))
        XCTAssertTrue(isWaiting(add(&cache, key, part: 0, offset: 0, [0, 1])))
        guard case let .complete(entry) = add(&cache, key, part: 2, [20, 21, 22, 23]) else {
            return XCTFail("three complete parts must complete the entry")
        }
        XCTAssertEqual(Array(entry.row(0)), [0, 1, 2, 3])
        XCTAssertEqual(Array(entry.row(1)), [10, 11, 12, 13])
        XCTAssertEqual(Array(entry.row(2)), [20, 21, 22, 23])
        XCTAssertEqual(cache.count, 1)
        cache.release(key)
        XCTAssertEqual(cache.count, 0)
    }

    func testKeysDoNotMixAndReleasedMemoryIsReusedClean() {
        var cache = JoinCache(limitBytes: 1 << 20)
        let a = JoinKey(owner: 1, slot: 0, step: 0)
        let b = JoinKey(owner: 1, slot: 0, step: 1)
        _ = add(&cache, a, part: 0, parts: 2, blockSize: 2, [1, 2])
        _ = add(&cache, b, part: 1, parts: 2, blockSize: 2, [3, 4])
        guard case .complete = add(&cache, a, part: 1, parts: 2, blockSize: 2, [5, 6]) else {
            return XCTFail("a is complete")
        }
        let held = cache.bytes
        cache.release(a)
        // A new key reuses a's memory: no growth, and no part is complete yet.
        let c = JoinKey(owner: 2, slot: 0, step: 0)
        XCTAssertTrue(isWaiting(add(&cache, c, part: 0, parts: 2, blockSize: 2, [7, 8])))
        XCTAssertEqual(cache.bytes, held)
        XCTAssertEqual(cache.count, 2)
    }

    func testLimitRefusesNewEntriesButNotPartsOfExistingOnes() {
        // Room for exactly one entry of 2 × 4 doubles.
        var cache = JoinCache(limitBytes: 2 * 4 * 8)
        let first = JoinKey(owner: 0, slot: 0, step: 0)
        XCTAssertTrue(isWaiting(add(&cache, first, part: 0, parts: 2, [1, 2, 3, 4])))
        guard case .overflow = add(&cache, JoinKey(owner: 1, slot: 0, step: 0), part: 0, parts: 2, [1, 2, 3, 4]) else {
            return XCTFail("a second entry exceeds the limit")
        }
        guard case .complete = add(&cache, first, part: 1, parts: 2, [5, 6, 7, 8]) else {
            return XCTFail("the existing entry still completes")
        }
        XCTAssertLessThanOrEqual(cache.bytes, cache.limitBytes)
    }

    func testPiecesThatDoNotFitAreRefused() {
        var cache = JoinCache(limitBytes: 1 << 20)
        let key = JoinKey(owner: 0, slot: 0, step: 0)
        guard case .mismatch = add(&cache, key, part: 0, offset: 3, [1, 2]) else { return XCTFail("beyond the block") }
        XCTAssertEqual(cache.count, 0, "a refused first piece creates no entry")
        _ = add(&cache, key, part: 0, [1, 2, 3, 4])
        guard case .mismatch = add(&cache, key, part: 1, blockSize: 5, [1, 2, 3, 4, 5]) else {
            return XCTFail("another block size under the same key")
        }
        guard case .mismatch = add(&cache, key, part: 3, [1, 2, 3, 4]) else { return XCTFail("part out of range") }
    }

    func testDiscardDropsEveryEntryOfAnOwner() {
        var cache = JoinCache(limitBytes: 1 << 20)
        for step in 0..<3 { _ = add(&cache, JoinKey(owner: 5, slot: 0, step: UInt32(step)), part: 0, [1, 2, 3, 4]) }
        _ = add(&cache, JoinKey(owner: 6, slot: 0, step: 0), part: 0, [1, 2, 3, 4])
        XCTAssertEqual(cache.discard(owner: 5).count, 3)
        XCTAssertEqual(cache.count, 1)
    }

    func testEmptyBlocksCompleteOnArrival() {
        var cache = JoinCache(limitBytes: 1 << 20)
        let key = JoinKey(owner: 0, slot: 0, step: 0)
        XCTAssertTrue(isWaiting(add(&cache, key, part: 0, parts: 2, blockSize: 0, [])))
        guard case .complete = add(&cache, key, part: 1, parts: 2, blockSize: 0, []) else {
            return XCTFail("a rank with an empty block still completes the group's step")
        }
    }

    func testCheckpointRoundTripKeepsWaitingEntriesSoPartnersStillMeet() throws {
        var cache = JoinCache(limitBytes: 1 << 20)
        let key = JoinKey(owner: 3, slot: 1, step: 2)
        XCTAssertTrue(isWaiting(add(&cache, key, part: 0, [1, 2, 3, 4])))
        XCTAssertTrue(isWaiting(add(&cache, key, part: 2, offset: 0, [9, 9])))
        var w = CheckpointEncoder()
        cache.encode(into: &w)
        var restored = JoinCache(limitBytes: 1 << 20)
        var r = CheckpointDecoder(w.bytes, section: "JOIN")
        try restored.restore(from: &r, maxOwner: 10, maxSlot: 4, maxStep: 5)
        XCTAssertNoThrow(try r.finish())
        XCTAssertEqual(restored.count, 1)
        XCTAssertTrue(isWaiting(add(&restored, key, part: 2, offset: 2, [8, 8])))
        guard case let .complete(entry) = add(&restored, key, part: 1, [5, 6, 7, 8]) else {
            return XCTFail("the parts held before the checkpoint must complete the entry after it")
        }
        XCTAssertEqual(Array(entry.row(0)), [1, 2, 3, 4])
        XCTAssertEqual(Array(entry.row(2)), [9, 9, 8, 8])
        // A key outside the study, or more than the limit holds, is refused.
        var small = JoinCache(limitBytes: 8)
        var again = CheckpointDecoder(w.bytes, section: "JOIN")
        XCTAssertThrowsError(try small.restore(from: &again, maxOwner: 10, maxSlot: 4, maxStep: 5))
        var outside = CheckpointDecoder(w.bytes, section: "JOIN")
        XCTAssertThrowsError(try restored.restore(from: &outside, maxOwner: 2, maxSlot: 4, maxStep: 5)) { error in
            XCTAssertTrue("\(error)".contains("outside the study"), "\(error)")
        }
    }
}
