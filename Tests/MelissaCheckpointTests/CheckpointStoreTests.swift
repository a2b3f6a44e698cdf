import Foundation
import XCTest
@testable import MelissaCheckpoint

/// Files on disk: the write protocol keeps the previous checkpoint, and load falls back.
final class CheckpointStoreTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func header(_ sequence: UInt64) -> CheckpointHeader {
        CheckpointHeader(fingerprint: 42, rank: 0, commSize: 1, sequence: sequence, unixTime: 0)
    }

    func load(_ store: CheckpointStore) throws -> LoadedCheckpoint? {
        try store.load(expectingFingerprint: 42, rank: 0, commSize: 1)
    }

    func testNothingWrittenLoadsNil() throws {
        XCTAssertNil(try load(CheckpointStore(directory: directory, rank: 0)))
    }

    func testWritesKeepThePreviousAndLoadTheNewest() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(1), sections: [CheckpointSection(tag: "AAAA", bytes: [1])])
        try store.write(header: header(2), sections: [CheckpointSection(tag: "AAAA", bytes: [2])])
        let loaded = try XCTUnwrap(try load(store))
        XCTAssertEqual(loaded.header.sequence, 2)
        XCTAssertEqual(loaded.path, store.currentPath)
        XCTAssertTrue(loaded.refused.isEmpty)
        let previous = try CheckpointFile.decode(try CheckpointStore.read(store.previousPath), source: "p")
        XCTAssertEqual(previous.0.sequence, 1)
        // Files are the owner's alone.
        let mode = try FileManager.default.attributesOfItem(atPath: store.currentPath)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    /// The fault hook fires at each crash point, in order; a process killed at either point
    /// would restart from checkpoint 1 (what `load` finds there, asked from inside the hook).
    func testAWriteInterruptedAtEitherFaultPointLoadsThePreviousCheckpoint() throws {
        let plain = CheckpointStore(directory: directory, rank: 0)
        try plain.write(header: header(1), sections: [CheckpointSection(tag: "AAAA", bytes: [1])])
        let seen = LockedStages()
        let dir = directory
        let store = CheckpointStore(directory: directory, rank: 0) { stage in
            let loaded = try? CheckpointStore(directory: dir, rank: 0).load(expectingFingerprint: 42, rank: 0, commSize: 1)
            seen.append(stage, loaded?.header.sequence)
        }
        try store.write(header: header(2), sections: [CheckpointSection(tag: "AAAA", bytes: [2]),
                                                      CheckpointSection(tag: "BBBB", bytes: [3])])
        XCTAssertEqual(seen.stages, [.halfWritten, .betweenRenames])
        XCTAssertEqual(seen.sequences, [1, 1], "a crash at either point restarts from the previous checkpoint")
        XCTAssertEqual(try XCTUnwrap(try load(store)).header.sequence, 2)
    }

    func testMakeCurrentBringsThePreviousCheckpointBack() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(3), sections: [CheckpointSection(tag: "AAAA", bytes: [3])])
        try store.write(header: header(4), sections: [CheckpointSection(tag: "AAAA", bytes: [4])])
        try store.makeCurrent(previous: store.previousPath)
        XCTAssertEqual(try XCTUnwrap(try load(store)).header.sequence, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.previousPath), "checkpoint 4 is gone")
        // The next write rotates 3 into previous: a rank that dies writing 5 still has 3.
        try store.write(header: header(5), sections: [])
        let previous = try CheckpointFile.decode(try CheckpointStore.read(store.previousPath), source: "p")
        XCTAssertEqual(previous.0.sequence, 3)
        XCTAssertThrowsError(try store.makeCurrent(previous: store.currentPath), "only previous can become current")
    }

    func testCorruptCurrentFallsBackToPreviousAndSaysWhy() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(1), sections: [CheckpointSection(tag: "AAAA", bytes: [1])])
        try store.write(header: header(2), sections: [CheckpointSection(tag: "AAAA", bytes: [2])])
        var bytes = try CheckpointStore.read(store.currentPath)
        bytes.removeLast(5)
        try Data(bytes).write(to: URL(fileURLWithPath: store.currentPath))
        let loaded = try XCTUnwrap(try load(store))
        XCTAssertEqual(loaded.header.sequence, 1)
        XCTAssertEqual(loaded.refused.map(\.path), [store.currentPath])
        XCTAssertTrue(loaded.refused[0].reason.description.contains("truncated"), loaded.refused[0].reason.description)
    }

    func testBothCorruptIsAnErrorListingBoth() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(1), sections: [])
        try store.write(header: header(2), sections: [])
        for path in [store.currentPath, store.previousPath] {
            var bytes = try CheckpointStore.read(path)
            bytes[20] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        XCTAssertThrowsError(try load(store)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("none is usable") && text.contains("rank-0.ckpt") && text.contains("rank-0.prev.ckpt"), text)
            XCTAssertTrue(text.contains("checksum mismatch in header"), text)
        }
    }

    func testAnotherStudysCheckpointIsRefused() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(1), sections: [])
        XCTAssertThrowsError(try store.load(expectingFingerprint: 7, rank: 0, commSize: 1)) { error in
            XCTAssertTrue("\(error)".contains("belongs to another study"), "\(error)")
        }
    }

    func testALeftoverTemporaryFileIsIgnoredAndReplaced() throws {
        let store = CheckpointStore(directory: directory, rank: 0)
        try store.write(header: header(1), sections: [CheckpointSection(tag: "AAAA", bytes: [1])])
        // A crash in the middle of the next write leaves a partial .tmp behind.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: store.temporaryPath))
        XCTAssertEqual(try load(store)?.header.sequence, 1)
        try store.write(header: header(2), sections: [])
        XCTAssertEqual(try load(store)?.header.sequence, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.temporaryPath))
    }

    func testUnwritableDirectoryIsAnIOErrorNamingThePath() {
        let store = CheckpointStore(directory: "/proc/melissa-no-such-dir", rank: 0)
        XCTAssertThrowsError(try store.write(header: header(1), sections: [])) { error in
            XCTAssertTrue("\(error)".contains("/proc/melissa-no-such-dir"), "\(error)")
        }
    }
}

/// Stages and sequences seen by a fault hook (which must be Sendable).
private final class LockedStages: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(CheckpointStore.WriteStage, UInt64?)] = []
    func append(_ stage: CheckpointStore.WriteStage, _ sequence: UInt64?) { lock.withLock { entries.append((stage, sequence)) } }
    var stages: [CheckpointStore.WriteStage] { lock.withLock { entries.map(\.0) } }
    var sequences: [UInt64?] { lock.withLock { entries.map(\.1) } }
}
