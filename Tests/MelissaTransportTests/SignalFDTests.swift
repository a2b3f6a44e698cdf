import XCTest
import Glibc
import MelissaTransport

final class SignalFDTests: XCTestCase {
    /// Uses raise() (thread-directed) rather than kill(getpid()) (process-directed): the
    /// signalfd blocks SIGUSR2 only in this thread, and libzmq's I/O threads or Open MPI's
    /// threads (started earlier in this test process) do not block it, so a process-directed
    /// SIGUSR2 could be delivered to one of them with its default action: terminating the
    /// whole test run.
    func testPendingSignalIsReadableAndReturned() throws {
        let signals = try SignalFD(signals: [SIGUSR2])
        XCTAssertGreaterThanOrEqual(signals.fileDescriptor, 0)
        XCTAssertNil(signals.next(), "nothing pending yet")

        var poller = ZMQPoller()
        poller.add(fileDescriptor: signals.fileDescriptor)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false])

        XCTAssertEqual(raise(SIGUSR2), 0)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: Int(patientMilliseconds)), [true])
        XCTAssertEqual(signals.next(), SIGUSR2)
        XCTAssertNil(signals.next(), "the signal was consumed")
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [false])
    }

    func testSignalFDNextIsNonBlockingAndDescriptorIsCloseOnExec() throws {
        let signals = try SignalFD(signals: [SIGUSR2])
        let flags = fcntl(signals.fileDescriptor, F_GETFL)
        XCTAssertNotEqual(flags & O_NONBLOCK, 0)
        let fdFlags = fcntl(signals.fileDescriptor, F_GETFD)
        XCTAssertNotEqual(fdFlags & FD_CLOEXEC, 0)
        XCTAssertNil(signals.next())
    }

    func testSignalIsBlockedInTheCallingThread() throws {
        _ = try SignalFD(signals: [SIGUSR2])
        var current = sigset_t()
        XCTAssertEqual(pthread_sigmask(SIG_BLOCK, nil, &current), 0)
        XCTAssertEqual(sigismember(&current, SIGUSR2), 1)
    }

    func testStandardSignalsCoalesce() throws {
        let signals = try SignalFD(signals: [SIGUSR2])
        XCTAssertEqual(raise(SIGUSR2), 0)
        XCTAssertEqual(raise(SIGUSR2), 0)
        XCTAssertEqual(signals.next(), SIGUSR2)
        XCTAssertNil(signals.next())
    }

    func testDeinitClosesTheDescriptor() throws {
        func target(of fd: Int32) -> String? {
            var buffer = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
            guard n > 0 else { return nil }
            return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var fd: Int32 = -1
        do {
            let signals = try SignalFD(signals: [SIGUSR2])
            fd = signals.fileDescriptor
            XCTAssertEqual(target(of: fd), "anon_inode:[signalfd]")
        }
        // Closed by deinit (another thread may have reused the number, but not for a signalfd).
        XCTAssertNotEqual(target(of: fd), "anon_inode:[signalfd]")
    }
}
