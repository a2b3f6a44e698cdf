import MelissaProtocol
import XCTest
@testable import MelissaLauncher
@testable import MelissaSchedulers

/// The launcher's bookkeeping rules: FIFO queue under job_limit, duplicates, retries.
final class JobBookTests: XCTestCase {
    private func members(_ ids: UInt32...) -> [JobMember] {
        ids.map { JobMember(simulationID: $0, script: "/s/\($0).sh") }
    }

    func testJobLimitQueuesInArrivalOrder() throws {
        var book = JobBook(jobLimit: 1)
        XCTAssertEqual(book.request(groupID: 5, members: members(0)), .accepted(retry: false))
        XCTAssertEqual(book.request(groupID: 2, members: members(1)), .accepted(retry: false))
        let first = try XCTUnwrap(book.nextToSubmit())
        XCTAssertEqual(first.groupID, 5)
        book.submitted(groupID: 5, as: JobIdentifier(rawValue: 1))
        XCTAssertFalse(book.canDispatch)
        XCTAssertNil(book.nextToSubmit())
        XCTAssertEqual(book.apply(JobUpdate(job: JobIdentifier(rawValue: 1), state: .running))?.state, .running)
        XCTAssertEqual(book.runningSimulations, 1)
        XCTAssertEqual(book.apply(JobUpdate(job: JobIdentifier(rawValue: 1), state: .terminated))?.state, .terminated)
        XCTAssertTrue(book.canDispatch)
        XCTAssertEqual(book.nextToSubmit()?.groupID, 2)
    }

    func testRunningAndWaitingTalliesFollowEveryStateChange() throws {
        var book = JobBook(jobLimit: 4)
        _ = book.request(groupID: 1, members: members(0, 1))
        _ = book.request(groupID: 2, members: members(2))
        XCTAssertEqual([book.waitingSimulations, book.runningSimulations], [3, 0])
        for (id, job) in [(UInt32(1), UInt64(10)), (2, 11)] {
            XCTAssertEqual(book.nextToSubmit()?.groupID, id)
            book.submitted(groupID: id, as: JobIdentifier(rawValue: job))
        }
        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 10), state: .running))
        XCTAssertEqual([book.waitingSimulations, book.runningSimulations], [1, 2])
        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 10), state: .failed, exitCode: 1, reason: "x"))
        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 11), state: .running))
        XCTAssertEqual([book.waitingSimulations, book.runningSimulations], [0, 1])
        // A retry of the failed group waits again; duplicates change nothing.
        XCTAssertEqual(book.request(groupID: 1, members: members(0, 1)), .accepted(retry: true))
        _ = book.request(groupID: 2, members: members(2))
        XCTAssertEqual([book.waitingSimulations, book.runningSimulations], [2, 1])
        // The tallies equal a recount over every group.
        let recount = book.groups.values.reduce(into: [0, 0]) { sums, group in
            if group.state == .waiting { sums[0] += group.members.count }
            if group.state == .running { sums[1] += group.members.count }
        }
        XCTAssertEqual(recount, [book.waitingSimulations, book.runningSimulations])
    }

    func testDuplicatesAreNotResubmittedButFailuresAreRetried() throws {
        var book = JobBook(jobLimit: 4)
        _ = book.request(groupID: 1, members: members(0, 1))
        guard case let .duplicate(queued) = book.request(groupID: 1, members: members(0, 1)) else {
            return XCTFail("a queued group requested again must be a duplicate")
        }
        XCTAssertEqual(queued.state, .waiting)
        XCTAssertEqual(book.queuedCount, 1)

        _ = book.nextToSubmit()
        book.submitted(groupID: 1, as: JobIdentifier(rawValue: 9))
        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 9), state: .running))
        guard case let .duplicate(running) = book.request(groupID: 1, members: members(0, 1)) else {
            return XCTFail("a running group requested again must be a duplicate")
        }
        XCTAssertEqual(running.state, .running)

        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 9), state: .failed, exitCode: 1, reason: "simulation 1 exited with code 1"))
        XCTAssertEqual(book.liveJobCount, 0)
        XCTAssertEqual(book.request(groupID: 1, members: members(0, 1)), .accepted(retry: true))
        XCTAssertEqual(book.groups[1]?.attempts, 2)
        XCTAssertEqual(book.groups[1]?.state, .waiting)
    }

    func testAGroupWhoseJobTerminatedRunsAgainWhenRequestedAgain() throws {
        // The server asks again only when a rank still misses data (a job that exited 0 early,
        // or a rank whose share never arrived): that is a new job, not a duplicate.
        var book = JobBook(jobLimit: 2)
        _ = book.request(groupID: 2, members: members(2))
        _ = book.nextToSubmit()
        book.submitted(groupID: 2, as: JobIdentifier(rawValue: 5))
        _ = book.apply(JobUpdate(job: JobIdentifier(rawValue: 5), state: .terminated))
        XCTAssertEqual(book.request(groupID: 2, members: members(2)), .accepted(retry: true))
        XCTAssertEqual(book.groups[2]?.attempts, 2)
        XCTAssertEqual(book.groups[2]?.state, .waiting)
        XCTAssertEqual(book.nextToSubmit()?.groupID, 2)
        // Its second job live: a request now would start a second job at once, so it is a duplicate.
        book.submitted(groupID: 2, as: JobIdentifier(rawValue: 6))
        guard case .duplicate = book.request(groupID: 2, members: members(2)) else {
            return XCTFail("a group with a live job must not get a second one")
        }
    }

    func testUpdatesForUnknownJobsAreIgnored() {
        var book = JobBook(jobLimit: 0)
        XCTAssertEqual(book.jobLimit, 1, "a limit below 1 would never run anything")
        XCTAssertNil(book.apply(JobUpdate(job: JobIdentifier(rawValue: 42), state: .terminated)))
    }
}
