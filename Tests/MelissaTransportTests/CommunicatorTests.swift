import XCTest
import CMPI
import MelissaTransport

/// Communicator on MPI_COMM_WORLD of a singleton (no mpirun) process: rank 0 of 1.
/// Never finalizes MPI: other suites in this test binary use it afterwards.
final class CommunicatorTests: XCTestCase {
    private func world() throws -> Communicator {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized != 0 { throw XCTSkip("MPI was finalized earlier in this test process") }
        _ = try MPIRuntime.initializeIfNeeded()
        let world = Communicator.world
        let size = try world.size()
        if size != 1 { throw XCTSkip("these checks assume a singleton run, not mpirun -n \(size)") }
        return world
    }

    func testInitializeIsIdempotent() throws {
        _ = try world()
        XCTAssertFalse(try MPIRuntime.initializeIfNeeded(), "second call must not re-initialise")
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        XCTAssertEqual(flag, 1)
    }

    func testAThreadLevelAboveWhatMPIProvidesIsRefusedByName() throws {
        _ = try world()
        let provided = try MPIRuntime.threadLevel()
        for level in MPIThreadLevel.allCases {
            if level <= provided {
                XCTAssertFalse(try MPIRuntime.initializeIfNeeded(threadLevel: level), "\(level)")
            } else {
                XCTAssertThrowsError(try MPIRuntime.initializeIfNeeded(threadLevel: level)) { error in
                    XCTAssertEqual("\(error)", "MPI_Query_thread: asked for \(level), the MPI library provides \(provided)")
                }
            }
        }
        XCTAssertEqual(MPIThreadLevel.multiple.description, "MPI_THREAD_MULTIPLE")
        XCTAssertLessThan(MPIThreadLevel.single, MPIThreadLevel.funneled)
    }

    func testRankAndSize() throws {
        let world = try world()
        XCTAssertEqual(try world.rank(), 0)
        XCTAssertEqual(try world.size(), 1)
        // Wrapping the raw handle gives the same communicator.
        let wrapped = Communicator(world.handle)
        XCTAssertEqual(try wrapped.rank(), 0)
        XCTAssertEqual(try wrapped.size(), 1)
    }

    func testAllgather() throws {
        let world = try world()
        XCTAssertEqual(try world.allgather([1, 2, 3]), [[1, 2, 3]])
        XCTAssertEqual(try world.allgather([]), [[]])
        let big = pattern(100_000, seed: 9)
        XCTAssertEqual(try world.allgather(big), [big])
    }

    func testBroadcast() throws {
        let world = try world()
        XCTAssertEqual(try world.broadcast([4, 5, 6], root: 0), [4, 5, 6])
        XCTAssertEqual(try world.broadcast([], root: 0), [])
        let big = pattern(70_000, seed: 11)
        XCTAssertEqual(try world.broadcast(big, root: 0), big)
    }

    func testReductionsAreIdentityOnOneRank() throws {
        let world = try world()
        XCTAssertEqual(try world.allreduceSum(42), 42)
        XCTAssertEqual(try world.allreduceSum(-5), -5)
        XCTAssertEqual(try world.allreduceSum(Int64.max), Int64.max)
        XCTAssertEqual(try world.allreduceMax(-7), -7)
        XCTAssertEqual(try world.allreduceMax(Int64.min), Int64.min)
        XCTAssertEqual(try world.allreduceSum([1, -2, 3, Int64.max]), [1, -2, 3, Int64.max])
        XCTAssertEqual(try world.allreduceSum([Int64]()), [])
    }

    func testExclusiveScanIsZeroOnRankZero() throws {
        let world = try world()
        XCTAssertEqual(try world.exclusiveScanSum(17), 0)
        XCTAssertEqual(try world.exclusiveScanSum(0), 0)
    }

    func testGather() throws {
        let world = try world()
        let values: [Double] = [1.5, -2.25, .pi, 1e300]
        let gathered = try values.withUnsafeBufferPointer { buffer in
            try world.gather(buffer, root: 0)
        }
        XCTAssertEqual(gathered, values)
        let empty = try [Double]().withUnsafeBufferPointer { buffer in
            try world.gather(buffer, root: 0)
        }
        XCTAssertEqual(empty, [])
    }

    func testMPIErrorDescriptionNamesCallAndCode() throws {
        _ = try world()
        let error = MPIError("MPI_Something", MPI_ERR_COUNT)
        XCTAssertEqual(error.call, "MPI_Something")
        XCTAssertEqual(error.code, MPI_ERR_COUNT)
        XCTAssertTrue(error.description.hasPrefix("MPI_Something: "), error.description)
        XCTAssertTrue(error.description.hasSuffix("(code \(MPI_ERR_COUNT))"), error.description)
        XCTAssertGreaterThan(error.description.count, "MPI_Something:  (code \(MPI_ERR_COUNT))".count,
                             "MPI_Error_string text is included")
    }
}
